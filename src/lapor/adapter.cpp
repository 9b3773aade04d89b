// What both adapters share: the status-code rules and the hygiene applied to
// anything the API sends back before it reaches a log, the database or an SMS.
#include <laporsms/lapor/adapter.hpp>

#include <algorithm>

namespace laporsms::lapor {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
  case Outcome::delivered:
    return "delivered";
  case Outcome::temporary:
    return "temporary";
  case Outcome::auth_error:
    return "auth_error";
  case Outcome::rejected:
    return "rejected";
  }
  return "unknown";
}

namespace detail {

std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char min_second = 0x80;
  unsigned char max_second = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min_second = lead == 0xE0 ? 0xA0 : 0x80;
    max_second = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min_second = lead == 0xF0 ? 0x90 : 0x80;
    max_second = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < min_second || byte(i + 1) > max_second) {
    return 0;
  }
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) {
      return 0;
    }
  }
  return length;
}

Outcome outcome_for_status(unsigned status) {
  if (status == 401 || status == 403) {
    return Outcome::auth_error;
  }
  if (status == 408 || status == 429) {
    return Outcome::temporary;
  }
  if (status >= 200 && status < 300) {
    return Outcome::delivered;
  }
  if (status >= 400 && status < 500) {
    return Outcome::rejected;
  }
  // 5xx, and what we never asked for: 1xx, a redirect (not followed; the URL
  // needs fixing, not the report), nonsense codes.
  return Outcome::temporary;
}

Outcome outcome_for_error(const HttpError& /*error*/) {
  return Outcome::temporary;
}

std::string sanitize(std::string_view text, std::string_view secret, std::size_t max_bytes) {
  std::string redacted;
  if (secret.empty()) {
    redacted = text;
  } else {
    std::size_t from = 0;
    for (auto at = text.find(secret); at != std::string_view::npos; at = text.find(secret, from)) {
      redacted.append(text.substr(from, at - from)).append("***");
      from = at + secret.size();
    }
    redacted.append(text.substr(from));
  }

  std::string out;
  out.reserve(std::min(redacted.size(), max_bytes));
  for (std::size_t i = 0; i < redacted.size();) {
    const std::size_t length = utf8_sequence_length(redacted, i);
    if (length == 0) {
      if (out.size() + 1 > max_bytes) {
        break;
      }
      out.push_back('?');
      ++i;
      continue;
    }
    if (out.size() + length > max_bytes) {
      break;
    }
    const auto c = static_cast<unsigned char>(redacted[i]);
    if (length == 1 && (c < 0x20 || c == 0x7f)) {
      out.push_back(' ');
    } else {
      out.append(redacted, i, length);
    }
    i += length;
  }
  return out;
}

std::string media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  const auto first = type.find_first_not_of(" \t");
  if (first == std::string_view::npos) {
    return {};
  }
  type = type.substr(first, type.find_last_not_of(" \t") - first + 1);
  std::string out(type);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool valid_tracking_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

} // namespace detail

} // namespace laporsms::lapor

// What both adapters share: the status-code rules and the hygiene applied to
// anything the API sends back before it reaches a log, the database or an SMS.
#include <laporsms/lapor/adapter.hpp>
#include <laporsms/sms/charset.hpp>

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
  const auto step = sms::next_code_point(text, i);
  return step.valid ? step.length : 0;
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

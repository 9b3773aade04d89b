#include <laporsms/sms/msisdn.hpp>

#include <cstddef>

namespace laporsms::sms {

namespace {

bool is_blank(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}
bool is_separator(char c) {
  return is_blank(c) || c == '-';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && is_blank(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

// `raw` without blanks and dashes.
std::string compact(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (const char c : raw) {
    if (!is_separator(c)) {
      out.push_back(c);
    }
  }
  return out;
}

bool short_or_alphanumeric(std::string_view compacted) {
  std::string_view digits = compacted;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
  }
  for (const char c : digits) {
    if (!is_digit(c)) {
      return true;
    }
  }
  return digits.size() <= 6;
}

} // namespace

std::string normalize_msisdn(std::string_view raw) {
  std::string number = compact(raw);
  if (short_or_alphanumeric(number)) {
    return std::string(trim(raw));
  }
  if (number.front() == '+') {
    number.erase(0, 1);
    return number;
  }
  if (number.starts_with("00")) {
    // An international call prefix we cannot read reliably (Indonesia uses
    // 001, 007, ...): keep it rather than guess.
    return std::string(trim(raw));
  }
  if (number.front() == '0') {
    number.replace(0, 1, "62");
  }
  return number;
}

bool is_short_or_alphanumeric(std::string_view raw) {
  return short_or_alphanumeric(compact(raw));
}

namespace {
// Types of number no international form can be made of.
bool kept_as_it_came(std::uint8_t type_of_number) {
  return type_of_number == ton::network_specific || type_of_number == ton::subscriber ||
         type_of_number == ton::alphanumeric || type_of_number == ton::abbreviated;
}
} // namespace

std::string normalize_msisdn(std::string_view raw, std::uint8_t type_of_number) {
  if (type_of_number != ton::international && type_of_number != ton::national) {
    return kept_as_it_came(type_of_number) ? std::string(trim(raw)) : normalize_msisdn(raw);
  }
  std::string number = compact(raw);
  if (short_or_alphanumeric(number)) {
    return std::string(trim(raw));
  }
  if (number.front() == '+') {
    number.erase(0, 1);
  }
  if (type_of_number == ton::international && number.front() == '0') {
    return normalize_msisdn(raw); // no country code starts with 0: the SMSC misspoke
  }
  if (type_of_number == ton::national) {
    if (number.front() == '0') {
      number.erase(0, 1); // the trunk prefix
    }
    number.insert(0, "62");
  }
  return number;
}

bool is_short_or_alphanumeric(std::string_view raw, std::uint8_t type_of_number) {
  return kept_as_it_came(type_of_number) || is_short_or_alphanumeric(raw);
}

std::string mask_msisdn(std::string_view msisdn) {
  // Count code points so that an alphanumeric sender is never cut inside a
  // UTF-8 sequence.
  std::size_t count = 0;
  for (const char c : msisdn) {
    count += (static_cast<unsigned char>(c) & 0xC0) == 0x80 ? 0 : 1;
  }
  if (count <= 4) {
    return std::string(msisdn);
  }
  const std::size_t keep_front = count > 7 ? 4 : 1;
  const std::size_t keep_back = count > 7 ? 3 : 1;
  std::string out;
  out.reserve(msisdn.size());
  std::size_t index = 0; // of the code point the current byte belongs to
  bool seen_start = false;
  for (std::size_t i = 0; i < msisdn.size(); ++i) {
    const bool starts = (static_cast<unsigned char>(msisdn[i]) & 0xC0) != 0x80;
    if (starts) {
      index += seen_start ? 1 : 0;
      seen_start = true;
    }
    if (index < keep_front || index >= count - keep_back) {
      out.push_back(msisdn[i]);
    } else if (starts) {
      out.push_back('*');
    }
  }
  return out;
}

} // namespace laporsms::sms

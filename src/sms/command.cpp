#include <laporsms/sms/command.hpp>

namespace laporsms::sms {

namespace {

constexpr std::size_t k_no_match = std::string_view::npos;

unsigned char byte_at(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}

// Length in bytes of the blank that starts at `i`, or 0. Blanks are ASCII
// white space, the Unicode White_Space characters phones produce (no-break,
// ideographic and typographic spaces, line/paragraph separators, NEL) and
// the zero-width U+200B and U+FEFF (a byte order mark some phones prepend).
std::size_t blank_length_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) {
    return 0;
  }
  const unsigned char c = byte_at(s, i);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) {
    return 1;
  }
  if (c < 0xC2) {
    return 0;
  }
  if (c == 0xC2) {
    if (i + 1 < s.size() && (byte_at(s, i + 1) == 0x85 || byte_at(s, i + 1) == 0xA0)) {
      return 2; // U+0085, U+00A0
    }
    return 0;
  }
  if (i + 2 >= s.size()) {
    return 0;
  }
  const unsigned char c1 = byte_at(s, i + 1);
  const unsigned char c2 = byte_at(s, i + 2);
  switch (c) {
  case 0xE1:
    return c1 == 0x9A && c2 == 0x80 ? 3 : 0; // U+1680
  case 0xE2:
    if (c1 == 0x80) {
      // U+2000-U+200B, U+2028, U+2029, U+202F
      return (c2 >= 0x80 && c2 <= 0x8B) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF ? 3 : 0;
    }
    return c1 == 0x81 && c2 == 0x9F ? 3 : 0; // U+205F
  case 0xE3:
    return c1 == 0x80 && c2 == 0x80 ? 3 : 0; // U+3000
  case 0xEF:
    return c1 == 0xBB && c2 == 0xBF ? 3 : 0; // U+FEFF
  default:
    return 0;
  }
}

// Length of the blank that ends just before `end`, or 0.
std::size_t blank_length_before(std::string_view s, std::size_t end) {
  for (std::size_t len = 1; len <= 3 && len <= end; ++len) {
    if (blank_length_at(s, end - len) == len) {
      return len;
    }
  }
  return 0;
}

std::size_t colon_length_at(std::string_view s, std::size_t i) {
  if (i < s.size() && s[i] == ':') {
    return 1;
  }
  if (i + 2 < s.size() && byte_at(s, i) == 0xEF && byte_at(s, i + 1) == 0xBC &&
      byte_at(s, i + 2) == 0x9A) {
    return 3; // U+FF1A FULLWIDTH COLON
  }
  return 0;
}

std::size_t skip_blanks(std::string_view s, std::size_t i) {
  while (const std::size_t len = blank_length_at(s, i)) {
    i += len;
  }
  return i;
}

// Blanks, then at most one colon, then blanks: what may separate a keyword
// from what follows it.
std::size_t skip_separator(std::string_view s, std::size_t i) {
  i = skip_blanks(s, i);
  i += colon_length_at(s, i);
  return skip_blanks(s, i);
}

char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool is_continuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

enum class InnerBlanks { allowed, forbidden };

// Where `word` ends when it stands at `pos` of `s` as a whole word, else
// k_no_match. Letters compare without ASCII case; blanks inside `word` are
// ignored and, when allowed, `s` may have blanks between its characters.
std::size_t match_word(std::string_view s, std::size_t pos, std::string_view word,
                       InnerBlanks inner_blanks) {
  std::size_t i = pos;
  bool matched_any = false;
  std::size_t k = 0;
  while (k < word.size()) {
    if (const std::size_t blank = blank_length_at(word, k)) {
      k += blank;
      continue;
    }
    const char wc = word[k];
    if (matched_any && inner_blanks == InnerBlanks::allowed &&
        !is_continuation(static_cast<unsigned char>(wc))) {
      i = skip_blanks(s, i);
    }
    if (i >= s.size() || ascii_upper(s[i]) != ascii_upper(wc)) {
      return k_no_match;
    }
    ++i;
    ++k;
    matched_any = true;
  }
  if (!matched_any) {
    return k_no_match;
  }
  if (i < s.size() && blank_length_at(s, i) == 0 && colon_length_at(s, i) == 0) {
    return k_no_match; // "LAPORYAIKU" is not the keyword
  }
  return i;
}

// Whether `s` has at least `n` code points; stops counting there, as a
// report is usually far longer than the minimum.
bool has_code_points(std::string_view s, std::size_t n) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size() && count < n; ++i) {
    count += is_continuation(static_cast<unsigned char>(s[i])) ? 0 : 1;
  }
  return count >= n;
}

} // namespace

Command parse_command(std::string_view utf8, const Keywords& keywords,
                      std::size_t min_report_chars) {
  const std::size_t start = skip_blanks(utf8, 0);

  CommandKind kind = CommandKind::unknown;
  std::size_t keyword_end = 0;
  auto consider = [&](const std::vector<std::string>& list, CommandKind list_kind) {
    for (const auto& keyword : list) {
      const std::size_t end = match_word(utf8, start, keyword, InnerBlanks::allowed);
      if (end != k_no_match && (kind == CommandKind::unknown || end > keyword_end)) {
        kind = list_kind;
        keyword_end = end;
      }
    }
  };
  consider(keywords.report, CommandKind::report);
  consider(keywords.status, CommandKind::status);
  consider(keywords.help, CommandKind::help);

  Command command;
  std::size_t pos = skip_separator(utf8, keyword_end);
  switch (kind) {
  case CommandKind::report: {
    for (;;) {
      if (!command.rahasia) {
        if (const auto end = match_word(utf8, pos, "RAHASIA", InnerBlanks::forbidden);
            end != k_no_match) {
          command.rahasia = true;
          pos = skip_separator(utf8, end);
          continue;
        }
      }
      if (!command.anonim) {
        if (const auto end = match_word(utf8, pos, "ANONIM", InnerBlanks::forbidden);
            end != k_no_match) {
          command.anonim = true;
          pos = skip_separator(utf8, end);
          continue;
        }
      }
      break;
    }
    std::size_t end = utf8.size();
    while (end > pos) {
      const std::size_t blank = blank_length_before(utf8, end);
      if (blank == 0 || end - blank < pos) {
        break;
      }
      end -= blank;
    }
    command.text.assign(utf8.substr(pos, end - pos));
    const bool too_short = command.text.empty() || !has_code_points(command.text, min_report_chars);
    command.kind = too_short ? CommandKind::empty_report : CommandKind::report;
    break;
  }
  case CommandKind::status: {
    std::size_t end = pos;
    while (end < utf8.size() && blank_length_at(utf8, end) == 0) {
      ++end;
    }
    command.argument.assign(utf8.substr(pos, end - pos));
    command.kind = command.argument.empty() ? CommandKind::help : CommandKind::status;
    break;
  }
  case CommandKind::help:
    command.kind = CommandKind::help;
    break;
  case CommandKind::empty_report:
  case CommandKind::unknown:
    break;
  }
  return command;
}

} // namespace laporsms::sms

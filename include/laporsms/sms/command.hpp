// What a citizen's SMS asks for (interfaces.md §3): a report, a status
// check, help, or nothing we know.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::sms {

// The [keywords] section of the configuration. Matching ignores ASCII letter
// case and blanks inside the keyword; an empty entry never matches.
struct Keywords {
  std::vector<std::string> report{"LAPORYAI"};
  std::vector<std::string> status{"CEK", "STATUS"};
  std::vector<std::string> help{"INFO", "BANTUAN", "HELP"};

  bool operator==(const Keywords&) const = default;
};

enum class CommandKind { report, status, help, empty_report, unknown };

struct Command {
  CommandKind kind = CommandKind::unknown;
  std::string text;     // report text (also for empty_report), trimmed, inside kept as written
  bool rahasia = false; // RAHASIA after the report keyword
  bool anonim = false;  // ANONIM after the report keyword
  std::string argument; // status: the ref or tracking id, as typed
  bool operator==(const Command&) const = default;
};

// Parses `utf8`. Leading blanks are skipped (blanks: ASCII white space,
// Unicode White_Space such as U+00A0 and U+3000, and U+200B/U+FEFF). A
// keyword matches in any ASCII letter case, with blanks between its letters
// ("LAPOR YAI"), as a whole word: it must be followed by a blank, a colon
// (":" or U+FF1A) or the end; one colon after it is skipped. When several
// keywords match, the longest match wins. Then:
//   report keyword: RAHASIA and/or ANONIM (any order, any case, each once)
//     set their flags and are removed; the rest, trimmed of blanks, is
//     `text`; an empty text or fewer than `min_report_chars` code points
//     gives empty_report;
//   status keyword: the first blank-delimited word after it is `argument`,
//     kept as typed; without one the command is help;
//   help keyword: help;
//   anything else: unknown.
Command parse_command(std::string_view utf8, const Keywords& keywords,
                      std::size_t min_report_chars);

} // namespace laporsms::sms

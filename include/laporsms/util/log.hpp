// Logging: one line per event on stderr. When stderr is the journal
// (JOURNAL_STREAM matches it) each line starts with an sd-daemon priority
// prefix such as "<6>"; otherwise with a timestamp and the level name.
//
// An event is a short human message followed by key=value fields (logfmt):
//   log::info("intake: report filed", {{"link", link}, {"ref", ref}});
//   -> intake: report filed link=telkomsel ref=MTR4K7Q
// so that a person reads the message and a machine (journalctl | grep,
// Loki's logfmt, awk) picks the fields. Phone numbers go in masked.
#pragma once

#include <fmt/format.h>

#include <initializer_list>
#include <string>
#include <string_view>

namespace laporsms::log {

enum class Level { debug = 7, info = 6, warning = 4, error = 3 };

// Sets the lowest level written; "debug", "info", "warning", "error".
void set_level(Level level);
Level level_from_string(std::string_view name);
bool enabled(Level level);

// Writes one line (thread-safe; a single write(2) per line) whose text is
// escaped already: what format_event makes.
void write_escaped(Level level, std::string_view text);

// `text` with every control character (below 0x20, and DEL) written as \n,
// \r, \t or \xNN, and a backslash as \\: what an SMSC, a citizen or an
// operator supplies can never forge a second log or journal line.
std::string escape_control(std::string_view text);

// One key=value field of an event; the value is formatted with fmt's "{}".
// Keys are lower_snake_case words.
struct Field {
  template <typename T>
  Field(std::string_view field_key, const T& field_value)
      : key(field_key), value(fmt::format("{}", field_value)) {}
  std::string_view key;
  std::string value;
};
using Fields = std::initializer_list<Field>;

// `message` (control characters escaped) then " key=value" for each field.
// A value that is empty or holds a space, '=', '"', a backslash or a control
// character is quoted: "…" with \", \\, \n, \r, \t and \xNN inside.
std::string format_event(std::string_view message, Fields fields);

// " key=value" for each field: what format_event appends to its message.
std::string format_fields(Fields fields);

// `value` as it appears after "key=": bare or quoted, as above.
std::string format_value(std::string_view value);

inline void debug(std::string_view message, Fields fields = {}) {
  if (enabled(Level::debug)) {
    write_escaped(Level::debug, format_event(message, fields));
  }
}
inline void info(std::string_view message, Fields fields = {}) {
  if (enabled(Level::info)) {
    write_escaped(Level::info, format_event(message, fields));
  }
}
inline void warn(std::string_view message, Fields fields = {}) {
  if (enabled(Level::warning)) {
    write_escaped(Level::warning, format_event(message, fields));
  }
}
inline void error(std::string_view message, Fields fields = {}) {
  if (enabled(Level::error)) {
    write_escaped(Level::error, format_event(message, fields));
  }
}

} // namespace laporsms::log

// Logging: one line per event on stderr. When stderr is the journal
// (JOURNAL_STREAM matches it) each line starts with an sd-daemon priority
// prefix such as "<6>"; otherwise with a timestamp and the level name.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace laporsms::log {

enum class Level { debug = 7, info = 6, warning = 4, error = 3 };

// Sets the lowest level written; "debug", "info", "warning", "error".
void set_level(Level level);
Level level_from_string(std::string_view name);
bool enabled(Level level);

// Writes one line (thread-safe; a single write(2) per line).
void write(Level level, std::string_view message);

// `text` with every control character (below 0x20, and DEL) written as \n,
// \r, \t or \xNN, and a backslash as \\: what an SMSC, a citizen or an
// operator supplies can never forge a second log or journal line.
std::string escape_control(std::string_view text);

template <typename... Args> void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::debug)) {
    write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args> void info(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::info)) {
    write(Level::info, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args> void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::warning)) {
    write(Level::warning, fmt::format(f, std::forward<Args>(args)...));
  }
}
template <typename... Args> void error(fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(Level::error)) {
    write(Level::error, fmt::format(f, std::forward<Args>(args)...));
  }
}

} // namespace laporsms::log

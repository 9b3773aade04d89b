#include <laporsms/util/log.hpp>

#include <fmt/chrono.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace laporsms::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};

// True when stderr is the journal stream systemd handed us (sd_journal_stream_fd
// semantics: JOURNAL_STREAM is "device:inode" of the stream).
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) {
    return false;
  }
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) {
    return false;
  }
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) {
    return false;
  }
  return dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

const bool g_journal = stderr_is_journal();

std::string_view level_name(Level level) {
  switch (level) {
  case Level::debug:
    return "debug";
  case Level::info:
    return "info";
  case Level::warning:
    return "warning";
  case Level::error:
    return "error";
  }
  return "info";
}

} // namespace

void set_level(Level level) {
  g_level.store(static_cast<int>(level));
}

Level level_from_string(std::string_view name) {
  if (name == "debug") {
    return Level::debug;
  }
  if (name == "warning") {
    return Level::warning;
  }
  if (name == "error") {
    return Level::error;
  }
  return Level::info;
}

bool enabled(Level level) {
  return static_cast<int>(level) <= g_level.load();
}

std::string escape_control(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7F) {
      out += fmt::format("\\x{:02X}", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

bool needs_quotes(std::string_view value) {
  if (value.empty()) {
    return true;
  }
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '=' || c == '"' || c == '\\' || byte < 0x20 || byte == 0x7F) {
      return true;
    }
  }
  return false;
}

} // namespace

std::string format_value(std::string_view value) {
  if (!needs_quotes(value)) {
    return std::string(value);
  }
  std::string out = "\"";
  for (const char c : escape_control(value)) {
    if (c == '"') {
      out += "\\\"";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string format_event(std::string_view message, Fields fields) {
  return escape_control(message) + format_fields(fields);
}

std::string format_fields(Fields fields) {
  std::string out;
  for (const auto& field : fields) {
    out.push_back(' ');
    out.append(field.key);
    out.push_back('=');
    out += format_value(field.value);
  }
  return out;
}

void write_escaped(Level level, std::string_view message) {
  std::string line;
  if (g_journal) {
    line = fmt::format("<{}>{}\n", static_cast<int>(level), message);
  } else {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    gmtime_r(&ts.tv_sec, &tm);
    line = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z {} {}\n", tm, ts.tv_nsec / 1000000,
                       level_name(level), message);
  }
  // One write(2) per line keeps lines from different threads whole.
  const char* p = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) {
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

} // namespace laporsms::log

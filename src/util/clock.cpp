#include <laporsms/util/clock.hpp>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

namespace laporsms::util {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_rfc3339(std::int64_t unix_ms, int utc_offset_minutes) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000) + utc_offset_minutes * 60;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (utc_offset_minutes == 0) {
    out += 'Z';
  } else {
    const int abs_offset = std::abs(utc_offset_minutes);
    out += fmt::format("{}{:02}:{:02}", utc_offset_minutes < 0 ? '-' : '+', abs_offset / 60,
                       abs_offset % 60);
  }
  return out;
}

std::string format_rfc3339_utc(std::int64_t unix_ms) {
  return format_rfc3339(unix_ms, 0);
}

int local_utc_offset_minutes(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return static_cast<int>(tm.tm_gmtoff / 60);
}

} // namespace laporsms::util

// Wall-clock time as stored in the database (Unix milliseconds) and as shown
// to people (RFC 3339).
#pragma once

#include <cstdint>
#include <string>

namespace laporsms::util {

// Milliseconds since the Unix epoch, from the real-time clock.
std::int64_t now_ms();

// RFC 3339 in UTC with a "Z" suffix, e.g. "2026-11-29T06:05:00Z".
std::string format_rfc3339_utc(std::int64_t unix_ms);

// RFC 3339 with the given fixed UTC offset in minutes, e.g. "+07:00" for 420.
std::string format_rfc3339(std::int64_t unix_ms, int utc_offset_minutes);

// The machine's local UTC offset in minutes at `unix_ms`.
int local_utc_offset_minutes(std::int64_t unix_ms);

} // namespace laporsms::util

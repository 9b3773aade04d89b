// Durations as people write them in the configuration: "500ms", "30s",
// "10m", "2h", "1d", or combined from largest to smallest unit ("1h30m").
#pragma once

#include <tl/expected.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace laporsms::app {

// The longest duration accepted (3650 days): anything longer is a typo, and
// the cap keeps `now() + d` far from overflowing any clock's representation.
inline constexpr std::chrono::milliseconds k_max_duration = std::chrono::hours(24 * 3650);

// Parses `text`: one or more <whole number><unit> groups with units d, h, m,
// s, ms, each at most once and from largest to smallest, no blanks, no sign.
// Fails with a message fit for an operator that quotes `text`.
tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text);

// The inverse of parse_duration: the shortest combination of units, e.g.
// 5'400'000 ms -> "1h30m", 1'500 ms -> "1s500ms", 0 -> "0s"; negative values
// get a leading "-".
std::string format_duration(std::chrono::milliseconds duration);

} // namespace laporsms::app

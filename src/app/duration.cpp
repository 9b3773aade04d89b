#include <laporsms/app/duration.hpp>

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <optional>

namespace laporsms::app {

namespace {

struct Unit {
  std::string_view name;
  std::int64_t ms;
};

// Largest first: parse_duration requires this order, format_duration uses it.
constexpr std::array<Unit, 5> k_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

std::optional<std::size_t> unit_index(std::string_view name) {
  for (std::size_t i = 0; i < k_units.size(); ++i) {
    if (k_units[i].name == name) {
      return i;
    }
  }
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

} // namespace

tl::expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  constexpr std::string_view k_hint =
      "write it like \"500ms\", \"30s\", \"10m\", \"2h\" or \"1h30m\"";
  auto fail = [&](std::string_view why) {
    return tl::make_unexpected(fmt::format("\"{}\" is not a duration: {}", text, why));
  };
  if (text.empty()) {
    return tl::make_unexpected(fmt::format("the duration is empty; {}", k_hint));
  }
  const std::int64_t max_ms = k_max_duration.count();
  std::int64_t total = 0;
  std::size_t next_allowed_unit = 0; // index into k_units: units must descend
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!is_digit(text[pos])) {
      return fail(fmt::format("expected a number at \"{}\"; {}", text.substr(pos), k_hint));
    }
    std::int64_t number = 0;
    while (pos < text.size() && is_digit(text[pos])) {
      number = number * 10 + (text[pos] - '0');
      if (number > max_ms) {
        return fail(
            fmt::format("it is longer than the maximum of {}", format_duration(k_max_duration)));
      }
      ++pos;
    }
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      return fail("use whole numbers, e.g. \"1h30m\" instead of \"1.5h\"");
    }
    const std::size_t unit_start = pos;
    while (pos < text.size() && is_lower(text[pos])) {
      ++pos;
    }
    const std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) {
      if (pos == text.size()) {
        return fail(fmt::format("the number {} needs a unit (ms, s, m, h or d), e.g. \"{}s\"",
                                number, number));
      }
      if (text[pos] >= 'A' && text[pos] <= 'Z') {
        return fail("write the unit in lower case, e.g. \"30s\" or \"2h\"");
      }
      return fail(fmt::format("unexpected \"{}\"; {}", text.substr(pos), k_hint));
    }
    const auto index = unit_index(unit);
    if (!index) {
      return fail(fmt::format("unknown unit \"{}\" (use ms, s, m, h or d)", unit));
    }
    if (*index < next_allowed_unit) {
      return fail("give each unit once, from the largest to the smallest, e.g. \"1h30m\"");
    }
    next_allowed_unit = *index + 1;
    const std::int64_t per_unit = k_units[*index].ms;
    if (number > (max_ms - total) / per_unit) {
      return fail(
          fmt::format("it is longer than the maximum of {}", format_duration(k_max_duration)));
    }
    total += number * per_unit;
  }
  return std::chrono::milliseconds(total);
}

std::string format_duration(std::chrono::milliseconds duration) {
  const std::int64_t count = duration.count();
  if (count == 0) {
    return "0s";
  }
  std::string out;
  // Work on the magnitude as unsigned so that the most negative value is safe.
  std::uint64_t rest = static_cast<std::uint64_t>(count);
  if (count < 0) {
    out += '-';
    rest = ~rest + 1;
  }
  for (const auto& unit : k_units) {
    const auto per_unit = static_cast<std::uint64_t>(unit.ms);
    if (rest >= per_unit) {
      fmt::format_to(std::back_inserter(out), "{}{}", rest / per_unit, unit.name);
      rest %= per_unit;
    }
  }
  return out;
}

} // namespace laporsms::app

#include <laporsms/util/clock.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

using namespace laporsms::util;

namespace {

// 2026-11-29T06:05:00Z, the example instant of interfaces.md.
constexpr std::int64_t k_example_ms = 1795932300LL * 1000;

} // namespace

TEST_SUITE("util::clock") {
  TEST_CASE("offset 0 is written in UTC with a Z") {
    CHECK(format_rfc3339(k_example_ms, 0) == "2026-11-29T06:05:00Z");
    CHECK(format_rfc3339_utc(k_example_ms) == "2026-11-29T06:05:00Z");
    CHECK(format_rfc3339(0, 0) == "1970-01-01T00:00:00Z");
  }

  TEST_CASE("offset +420 is Western Indonesian time") {
    CHECK(format_rfc3339(k_example_ms, 420) == "2026-11-29T13:05:00+07:00");
  }

  TEST_CASE("offset -330 writes a negative offset with minutes") {
    CHECK(format_rfc3339(k_example_ms, -330) == "2026-11-29T00:35:00-05:30");
  }

  TEST_CASE("other offsets keep hours and minutes apart") {
    CHECK(format_rfc3339(k_example_ms, 480) == "2026-11-29T14:05:00+08:00");
    CHECK(format_rfc3339(k_example_ms, 545) == "2026-11-29T15:10:00+09:05");
    CHECK(format_rfc3339(k_example_ms, -45) == "2026-11-29T05:20:00-00:45");
    CHECK(format_rfc3339(k_example_ms, 840) == "2026-11-29T20:05:00+14:00");
    CHECK(format_rfc3339(k_example_ms, -720) == "2026-11-28T18:05:00-12:00");
  }

  TEST_CASE("milliseconds are dropped, not rounded") {
    CHECK(format_rfc3339_utc(k_example_ms + 999) == "2026-11-29T06:05:00Z");
    CHECK(format_rfc3339(k_example_ms + 1000, 420) == "2026-11-29T13:05:01+07:00");
  }

  TEST_CASE("an offset moves the date across a year boundary") {
    const std::int64_t new_years_eve = 1798747200LL * 1000; // 2026-12-31T20:00:00Z
    CHECK(format_rfc3339(new_years_eve, 420) == "2027-01-01T03:00:00+07:00");
    CHECK(format_rfc3339(new_years_eve, -330) == "2026-12-31T14:30:00-05:30");
  }

  TEST_CASE("a leap day is written as it is") {
    const std::int64_t leap = 1835481599LL * 1000; // 2028-02-29T23:59:59Z
    CHECK(format_rfc3339_utc(leap) == "2028-02-29T23:59:59Z");
    CHECK(format_rfc3339(leap, 420) == "2028-03-01T06:59:59+07:00");
  }

  TEST_CASE("now_ms follows the system clock") {
    const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const auto now = now_ms();
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    CHECK(now >= before);
    CHECK(now <= after);
  }

  TEST_CASE("the local offset agrees with the C library's local time") {
    const std::time_t secs = k_example_ms / 1000;
    std::tm local{};
    localtime_r(&secs, &local);
    char expected[32] = {};
    REQUIRE(std::strftime(expected, sizeof expected, "%Y-%m-%dT%H:%M:%S", &local) > 0);
    const auto offset = local_utc_offset_minutes(k_example_ms);
    CHECK(offset >= -12 * 60);
    CHECK(offset <= 14 * 60);
    const auto text = format_rfc3339(k_example_ms, offset);
    CHECK(text.substr(0, 19) == expected);
  }
}

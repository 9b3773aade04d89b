#include <laporsms/app/duration.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <limits>
#include <string>

using laporsms::app::format_duration;
using laporsms::app::k_max_duration;
using laporsms::app::parse_duration;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

std::string error_of(std::string_view text) {
  const auto parsed = parse_duration(text);
  REQUIRE_FALSE(parsed.has_value());
  return parsed.error();
}

} // namespace

TEST_SUITE("app::duration") {
  TEST_CASE("single units") {
    CHECK(parse_duration("500ms").value() == 500ms);
    CHECK(parse_duration("30s").value() == 30s);
    CHECK(parse_duration("10m").value() == 10min);
    CHECK(parse_duration("2h").value() == 2h);
    CHECK(parse_duration("1d").value() == 24h);
    CHECK(parse_duration("0s").value() == 0ms);
    CHECK(parse_duration("72h").value() == 72h);
  }

  TEST_CASE("combined units from largest to smallest") {
    CHECK(parse_duration("1h30m").value() == 90min);
    CHECK(parse_duration("1d2h3m4s5ms").value() == 24h + 2h + 3min + 4s + 5ms);
    CHECK(parse_duration("1m500ms").value() == 60'500ms);
    CHECK(parse_duration("90m").value() == 90min);
    CHECK(parse_duration("007s").value() == 7s);
  }

  TEST_CASE("a number without a unit names the fix") {
    CHECK(error_of("30") ==
          "\"30\" is not a duration: the number 30 needs a unit (ms, s, m, h or d), e.g. \"30s\"");
  }

  TEST_CASE("empty text") {
    CHECK(error_of("") ==
          "the duration is empty; write it like \"500ms\", \"30s\", \"10m\", \"2h\" or \"1h30m\"");
  }

  TEST_CASE("units are lower case") {
    CHECK(error_of("30S") ==
          "\"30S\" is not a duration: write the unit in lower case, e.g. \"30s\" or \"2h\"");
  }

  TEST_CASE("fractions are refused with a hint") {
    CHECK(error_of("1.5h") ==
          "\"1.5h\" is not a duration: use whole numbers, e.g. \"1h30m\" instead of \"1.5h\"");
    CHECK(error_of("1,5h").find("whole numbers") != std::string::npos);
  }

  TEST_CASE("unknown units") {
    CHECK(error_of("2w") == "\"2w\" is not a duration: unknown unit \"w\" (use ms, s, m, h or d)");
    CHECK(error_of("5sec") ==
          "\"5sec\" is not a duration: unknown unit \"sec\" (use ms, s, m, h or d)");
    CHECK(error_of("5min").find("unknown unit \"min\"") != std::string::npos);
  }

  TEST_CASE("units out of order or repeated") {
    const std::string expected_tail =
        "give each unit once, from the largest to the smallest, e.g. \"1h30m\"";
    CHECK(error_of("30m1h") == "\"30m1h\" is not a duration: " + expected_tail);
    CHECK(error_of("1h1h") == "\"1h1h\" is not a duration: " + expected_tail);
    CHECK(error_of("5ms1s") == "\"5ms1s\" is not a duration: " + expected_tail);
  }

  TEST_CASE("signs, blanks and stray characters") {
    CHECK(error_of("-5s").find("expected a number at \"-5s\"") != std::string::npos);
    CHECK(error_of("+5s").find("expected a number") != std::string::npos);
    CHECK(error_of(" 5s").find("expected a number") != std::string::npos);
    CHECK(error_of("5 s").find("unexpected \" s\"") != std::string::npos);
    CHECK(error_of("5s ").find("expected a number at \" \"") != std::string::npos);
    CHECK(error_of("ms").find("expected a number") != std::string::npos);
    CHECK(error_of("1h30").find("the number 30 needs a unit") != std::string::npos);
  }

  TEST_CASE("the maximum is accepted and anything longer refused") {
    CHECK(parse_duration("3650d").value() == k_max_duration);
    CHECK(error_of("3651d") ==
          "\"3651d\" is not a duration: it is longer than the maximum of 3650d");
    CHECK(error_of("3650d1ms").find("longer than the maximum") != std::string::npos);
    CHECK(error_of("99999999999999999999999999ms").find("longer than the maximum") !=
          std::string::npos);
    CHECK(error_of("87600h1s").find("longer than the maximum") != std::string::npos);
  }

  TEST_CASE("formatting uses the fewest units") {
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(500ms) == "500ms");
    CHECK(format_duration(1500ms) == "1s500ms");
    CHECK(format_duration(30s) == "30s");
    CHECK(format_duration(90min) == "1h30m");
    CHECK(format_duration(1h) == "1h");
    CHECK(format_duration(72h) == "3d");
    CHECK(format_duration(24h + 1ms) == "1d1ms");
    CHECK(format_duration(-90s) == "-1m30s");
  }

  TEST_CASE("formatting the extremes does not overflow") {
    CHECK(format_duration(milliseconds(std::numeric_limits<milliseconds::rep>::min())).front() ==
          '-');
    CHECK(format_duration(milliseconds(std::numeric_limits<milliseconds::rep>::max())).back() ==
          's');
  }

  TEST_CASE("format and parse round-trip") {
    const milliseconds values[] = {1ms, 999ms, 1s, 61s, 59min, 25h, 72h + 1ms, k_max_duration};
    for (const milliseconds value : values) {
      CAPTURE(value.count());
      CHECK(parse_duration(format_duration(value)).value() == value);
    }
  }
}

#include <laporsms/util/backoff.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <random>

using laporsms::util::backoff_delay;
using std::chrono::milliseconds;

namespace {

// The upper bound the header promises: min(max, min * 2^(attempt-1)), with
// attempt 0 read as 1.
std::int64_t expected_cap(std::int64_t min, std::int64_t max, unsigned attempt) {
  std::int64_t cap = min;
  for (unsigned i = 1; i < attempt && cap < max; ++i) {
    cap *= 2;
  }
  return cap < max ? cap : max;
}

} // namespace

TEST_SUITE("util::backoff_delay") {
  TEST_CASE("stays within min and the doubled cap for attempts 1 to 64") {
    std::mt19937_64 rng(1);
    const milliseconds min{100};
    const milliseconds max{60000};
    for (unsigned attempt = 1; attempt <= 64; ++attempt) {
      CAPTURE(attempt);
      const auto cap = expected_cap(min.count(), max.count(), attempt);
      for (int draw = 0; draw < 200; ++draw) {
        const auto delay = backoff_delay(min, max, attempt, rng);
        REQUIRE(delay >= min);
        REQUIRE(delay.count() <= cap);
      }
    }
  }

  TEST_CASE("the first attempt waits exactly min, and attempt 0 counts as the first") {
    std::mt19937_64 rng(2);
    for (int draw = 0; draw < 50; ++draw) {
      CHECK(backoff_delay(milliseconds{250}, milliseconds{10000}, 1, rng) == milliseconds{250});
      CHECK(backoff_delay(milliseconds{250}, milliseconds{10000}, 0, rng) == milliseconds{250});
    }
  }

  TEST_CASE("the cap grows with the attempt until it reaches max") {
    std::mt19937_64 rng(3);
    const milliseconds min{100};
    const milliseconds max{3000};
    // The largest of many draws comes close to the cap of its attempt.
    for (unsigned attempt = 2; attempt <= 8; ++attempt) {
      CAPTURE(attempt);
      const auto cap = expected_cap(min.count(), max.count(), attempt);
      std::int64_t largest = 0;
      for (int draw = 0; draw < 2000; ++draw) {
        largest = std::max<std::int64_t>(largest, backoff_delay(min, max, attempt, rng).count());
      }
      CHECK(largest > cap - (cap - min.count()) / 10);
      CHECK(largest <= cap);
    }
  }

  TEST_CASE("huge attempt numbers stay within max") {
    std::mt19937_64 rng(4);
    const milliseconds min{1000};
    const milliseconds max{3600 * 1000};
    for (const unsigned attempt :
         {31U, 32U, 33U, 63U, 64U, 65U, 1000U, 1U << 31, std::numeric_limits<unsigned>::max()}) {
      CAPTURE(attempt);
      std::int64_t largest = 0;
      for (int draw = 0; draw < 500; ++draw) {
        const auto delay = backoff_delay(min, max, attempt, rng);
        REQUIRE(delay >= min);
        REQUIRE(delay <= max);
        largest = std::max<std::int64_t>(largest, delay.count());
      }
      // The draw spreads over the whole range, not pinned to one end.
      CHECK(largest > max.count() / 2);
    }
  }

  TEST_CASE("a cap of 2^30 times min is reachable when max allows it") {
    std::mt19937_64 rng(5);
    const milliseconds min{1};
    const milliseconds max{std::int64_t{1} << 40};
    std::int64_t largest = 0;
    for (int draw = 0; draw < 200; ++draw) {
      const auto delay = backoff_delay(min, max, 100, rng);
      REQUIRE(delay >= min);
      REQUIRE(delay.count() <= (std::int64_t{1} << 30));
      largest = std::max<std::int64_t>(largest, delay.count());
    }
    CHECK(largest > (std::int64_t{1} << 29));
  }

  TEST_CASE("min equal to max always gives that value") {
    std::mt19937_64 rng(6);
    for (const unsigned attempt : {0U, 1U, 2U, 10U, 100U, std::numeric_limits<unsigned>::max()}) {
      CAPTURE(attempt);
      for (int draw = 0; draw < 50; ++draw) {
        CHECK(backoff_delay(milliseconds{5000}, milliseconds{5000}, attempt, rng) ==
              milliseconds{5000});
      }
    }
  }

  TEST_CASE("max below min is read as max equal to min") {
    std::mt19937_64 rng(7);
    for (const unsigned attempt : {1U, 2U, 5U, 40U, std::numeric_limits<unsigned>::max()}) {
      CAPTURE(attempt);
      for (int draw = 0; draw < 50; ++draw) {
        CHECK(backoff_delay(milliseconds{2000}, milliseconds{500}, attempt, rng) ==
              milliseconds{2000});
      }
    }
  }

  TEST_CASE("the same seed gives the same delays") {
    std::mt19937_64 a(42);
    std::mt19937_64 b(42);
    for (unsigned attempt = 1; attempt < 20; ++attempt) {
      CHECK(backoff_delay(milliseconds{10}, milliseconds{100000}, attempt, a) ==
            backoff_delay(milliseconds{10}, milliseconds{100000}, attempt, b));
    }
  }

  // A fixed bug, kept as a regression test: src/util/backoff.cpp doubles `grown` while it is below
  // `max`; when min * 2^k passes INT64_MAX before reaching max (max near milliseconds::max()), the
  // signed multiplication overflows (undefined behaviour) and the wrapped value is clamped back to
  // min, so every delay is min instead of a draw up to max.
  TEST_CASE("very long durations saturate instead of overflowing") {
    std::mt19937_64 rng(8);
    const milliseconds min{std::int64_t{1} << 40};
    const milliseconds max = milliseconds::max();
    std::int64_t largest = 0;
    for (int draw = 0; draw < 100; ++draw) {
      const auto delay = backoff_delay(min, max, 30, rng);
      REQUIRE(delay >= min);
      largest = std::max<std::int64_t>(largest, delay.count());
    }
    // The cap is min * 2^29 = 2^69 > max, so the draws span [2^40, max].
    CHECK(largest > (std::int64_t{1} << 50));
  }
}

#include <laporsms/util/accept_failures.hpp>
#include <laporsms/util/log.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "stderr_capture.hpp"

using laporsms::util::AcceptFailures;
using std::chrono::milliseconds;
using test_util::StderrCapture;

namespace {

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_SUITE("util::AcceptFailures") {
  TEST_CASE("waits double from 50 ms to 1 s over a run of failures and starts again after one "
            "accept") {
    laporsms::log::set_level(laporsms::log::Level::info);
    StderrCapture capture;
    AcceptFailures failures("control");
    std::vector<milliseconds> waits;
    for (int i = 0; i < 8; ++i) {
      waits.push_back(failures.failed("Too many open files", "closing idle clients, retrying"));
    }
    CHECK(waits == std::vector<milliseconds>{milliseconds(50), milliseconds(100), milliseconds(200),
                                             milliseconds(400), milliseconds(800),
                                             milliseconds(1000), milliseconds(1000),
                                             milliseconds(1000)});
    CHECK(failures.failing());
    failures.succeeded();
    CHECK_FALSE(failures.failing());
    CHECK(failures.failed("Too many open files", "retrying") == milliseconds(50));
    failures.succeeded();
    failures.succeeded(); // no failure since: nothing to say

    const auto logged = capture.text();
    CAPTURE(logged);
    // One line per run of failures and one per recovery, not one per failure.
    CHECK(count_of(logged, "control: accept failed; closing idle clients, retrying "
                           "retry_max_ms=1000 error=\"Too many open files\"") == 1);
    CHECK(count_of(logged, "control: accept failed") == 2);
    CHECK(count_of(logged, "control: accepting clients again") == 2);
    CHECK(count_of(logged, "\n") == 4);
  }
}

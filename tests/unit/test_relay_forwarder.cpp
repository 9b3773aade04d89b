#include <laporsms/lapor/adapter.hpp>
#include <laporsms/relay/forwarder.hpp>
#include <laporsms/store/records.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>

using namespace laporsms;
using lapor::Outcome;
using relay::decide_outcome;
using relay::ForwarderOptions;
using store::UpstreamOutcomeKind;

namespace {

constexpr std::int64_t k_created = 1795932300LL * 1000; // 2026-11-29T06:05:00Z

ForwarderOptions options() {
  ForwarderOptions o;
  o.retry_min = std::chrono::milliseconds{5000};
  o.retry_max = std::chrono::milliseconds{3600 * 1000};
  o.give_up_after = std::chrono::milliseconds{72LL * 3600 * 1000};
  return o;
}

store::UpstreamJob job_with(int attempts) {
  store::UpstreamJob job;
  job.report_id = 7;
  job.ref = "MTR4K7Q";
  job.msisdn = "628123456789";
  job.link = "telkomsel";
  job.text = "jalan berlubang";
  job.created_at = k_created;
  job.received_at = k_created;
  job.attempts = attempts;
  return job;
}

lapor::SubmitResult result_of(Outcome outcome, std::string error = {}) {
  lapor::SubmitResult r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

} // namespace

TEST_SUITE("relay::decide_outcome") {
  TEST_CASE("delivered keeps the tracking and transaction ids") {
    std::mt19937_64 rng(1);
    auto result = result_of(Outcome::delivered);
    result.tracking_id = "1916449";
    result.transaction_id = "TRX-88";
    const auto now = k_created + 2000;
    const auto outcome = decide_outcome(result, job_with(1), options(), k_created + 1500, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::delivered);
    CHECK(outcome.tracking_id == "1916449");
    CHECK(outcome.transaction_id == "TRX-88");
    CHECK(outcome.started_at == k_created + 1500);
    CHECK(outcome.finished_at == now);
    CHECK(outcome.error.empty());
  }

  TEST_CASE("delivered counts even after give_up_after") {
    std::mt19937_64 rng(2);
    auto result = result_of(Outcome::delivered);
    result.tracking_id = "1";
    const auto now = k_created + options().give_up_after.count() + 60000;
    const auto outcome = decide_outcome(result, job_with(40), options(), now - 100, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::delivered);
  }

  TEST_CASE("rejected is final and keeps the reason") {
    std::mt19937_64 rng(3);
    const auto now = k_created + 1000;
    const auto outcome = decide_outcome(result_of(Outcome::rejected, "HTTP 422: isi kosong"),
                                        job_with(1), options(), now - 200, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::rejected);
    CHECK(outcome.error == "HTTP 422: isi kosong");
    CHECK(outcome.next_attempt_at == 0);
  }

  TEST_CASE("auth_error retries at now plus retry_max") {
    std::mt19937_64 rng(4);
    const auto now = k_created + 10000;
    for (const int attempts : {1, 2, 10}) {
      CAPTURE(attempts);
      const auto outcome = decide_outcome(result_of(Outcome::auth_error, "HTTP 401"),
                                          job_with(attempts), options(), now - 10, now, rng);
      CHECK(outcome.kind == UpstreamOutcomeKind::auth_error);
      CHECK(outcome.next_attempt_at == now + options().retry_max.count());
      CHECK(outcome.error == "HTTP 401");
    }
  }

  TEST_CASE("auth_error never gives up on the report") {
    std::mt19937_64 rng(5);
    const auto now = k_created + options().give_up_after.count() * 2;
    const auto outcome = decide_outcome(result_of(Outcome::auth_error, "HTTP 403"), job_with(99),
                                        options(), now - 10, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::auth_error);
    CHECK(outcome.next_attempt_at == now + options().retry_max.count());
  }

  TEST_CASE("temporary retries within retry_min and retry_max") {
    std::mt19937_64 rng(6);
    const auto opts = options();
    const auto now = k_created + 60000;
    for (const int attempts : {1, 2, 3, 5, 10, 20, 100, 100000}) {
      CAPTURE(attempts);
      for (int draw = 0; draw < 100; ++draw) {
        const auto outcome = decide_outcome(result_of(Outcome::temporary, "HTTP 503"),
                                            job_with(attempts), opts, now - 50, now, rng);
        REQUIRE(outcome.kind == UpstreamOutcomeKind::temporary);
        REQUIRE(outcome.next_attempt_at >= now + opts.retry_min.count());
        REQUIRE(outcome.next_attempt_at <= now + opts.retry_max.count());
        REQUIRE(outcome.error == "HTTP 503");
        REQUIRE(outcome.finished_at == now);
      }
    }
  }

  TEST_CASE("the first temporary retry waits retry_min; attempts 0 counts as the first") {
    std::mt19937_64 rng(7);
    const auto opts = options();
    const auto now = k_created + 1000;
    for (const int attempts : {0, 1}) {
      CAPTURE(attempts);
      const auto outcome =
          decide_outcome(result_of(Outcome::temporary), job_with(attempts), opts, now, now, rng);
      CHECK(outcome.next_attempt_at == now + opts.retry_min.count());
    }
  }

  TEST_CASE("the cap of a temporary retry grows with the attempts") {
    std::mt19937_64 rng(8);
    const auto opts = options();
    const auto now = k_created + 1000;
    std::int64_t previous_largest = 0;
    std::int64_t previous_cap = 0;
    for (int attempts = 1; attempts <= 12; ++attempts) {
      CAPTURE(attempts);
      const std::int64_t cap =
          std::min<std::int64_t>(opts.retry_min.count() << (attempts - 1), opts.retry_max.count());
      std::int64_t largest = 0;
      for (int draw = 0; draw < 400; ++draw) {
        const auto outcome =
            decide_outcome(result_of(Outcome::temporary), job_with(attempts), opts, now, now, rng);
        const auto wait = outcome.next_attempt_at - now;
        REQUIRE(wait >= opts.retry_min.count());
        REQUIRE(wait <= cap);
        largest = std::max(largest, wait);
      }
      if (cap > previous_cap && attempts > 1) {
        CHECK(largest > previous_largest); // until retry_max, each cap doubles
      }
      previous_largest = largest;
      previous_cap = cap;
    }
  }

  TEST_CASE("a temporary failure after give_up_after gives up") {
    std::mt19937_64 rng(9);
    const auto opts = options();
    const auto now = k_created + opts.give_up_after.count();
    const auto outcome = decide_outcome(result_of(Outcome::temporary, "timeout"), job_with(60),
                                        opts, now - 15000, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::gave_up);
    CHECK(outcome.error.find("timeout") != std::string::npos);
    CHECK(outcome.error.find("give_up_after") != std::string::npos);
    CHECK(outcome.started_at == now - 15000);
    CHECK(outcome.finished_at == now);
  }

  TEST_CASE("a temporary failure just before give_up_after is retried") {
    std::mt19937_64 rng(10);
    const auto opts = options();
    const auto now = k_created + opts.give_up_after.count() - 1;
    const auto outcome = decide_outcome(result_of(Outcome::temporary, "HTTP 502"), job_with(60),
                                        opts, now - 10, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::temporary);
    CHECK(outcome.next_attempt_at > now);
  }

  TEST_CASE("rejected after give_up_after stays rejected") {
    std::mt19937_64 rng(11);
    const auto opts = options();
    const auto now = k_created + opts.give_up_after.count() + 1;
    const auto outcome =
        decide_outcome(result_of(Outcome::rejected, "HTTP 400"), job_with(3), opts, now, now, rng);
    CHECK(outcome.kind == UpstreamOutcomeKind::rejected);
    CHECK(outcome.error == "HTTP 400");
  }
}

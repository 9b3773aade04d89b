#include <laporsms/sms/ref.hpp>
#include <laporsms/store/status.hpp>
#include <laporsms/store/upstream.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

namespace {

std::string report_state(Connection& db, std::int64_t id) {
  return query_text(db, fmt::format("SELECT state FROM reports WHERE id = {}", id)).value_or("");
}

std::string job_state(Connection& db, std::int64_t id) {
  return query_text(db, fmt::format("SELECT state FROM upstream_jobs WHERE report_id = {}", id))
      .value_or("");
}

std::int64_t job_int(Connection& db, std::int64_t id, std::string_view column) {
  return db.query_int(fmt::format("SELECT {} FROM upstream_jobs WHERE report_id = {}", column, id));
}

UpstreamJob claim_one(Connection& db, std::int64_t now) {
  const auto jobs = claim_due_jobs(db, now, 1);
  REQUIRE(jobs.size() == 1);
  return jobs[0];
}

UpstreamOutcome outcome(UpstreamOutcomeKind kind, std::int64_t finished_at) {
  UpstreamOutcome o;
  o.kind = kind;
  o.started_at = finished_at - 800;
  o.finished_at = finished_at;
  return o;
}

} // namespace

TEST_SUITE("store::upstream") {

  TEST_CASE("claim_due_jobs takes due jobs in order of arrival, up to the limit") {
    TestDb t;
    const auto a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    const auto b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 10);
    const auto c = file_report(t.db, "628100000003", "laporan ketiga di sini", k_t0 + 10);
    const auto d = file_report(t.db, "628100000004", "laporan keempat di sini", k_t0 + 20);
    // a is deferred behind the others; d is not due yet.
    t.db.exec(fmt::format("UPDATE upstream_jobs SET next_attempt_at = {} WHERE report_id = {}",
                          k_t0 + 15, a));
    t.db.exec(fmt::format("UPDATE upstream_jobs SET next_attempt_at = {} WHERE report_id = {}",
                          k_t0 + 1000, d));

    // Every due job counts alike: the oldest report goes first, whatever its
    // own backoff made its due time (reports reach LAPOR! in arrival order).
    const auto first = claim_due_jobs(t.db, k_t0 + 100, 2);
    REQUIRE(first.size() == 2);
    CHECK(first[0].report_id == a);
    CHECK(first[1].report_id == b);
    const auto second = claim_due_jobs(t.db, k_t0 + 100, 10);
    REQUIRE(second.size() == 1);
    CHECK(second[0].report_id == c);
    CHECK(claim_due_jobs(t.db, k_t0 + 100, 10).empty());
    CHECK(claim_due_jobs(t.db, k_t0 + 1000, 0).empty());
    const auto last = claim_due_jobs(t.db, k_t0 + 1000, 10);
    REQUIRE(last.size() == 1);
    CHECK(last[0].report_id == d);
  }

  TEST_CASE("a claimed job carries the report and counts the attempt") {
    TestDb t;
    auto sms =
        make_sms("628123456789", "LAPORYAI RAHASIA pungutan liar di kantor desa", k_t0, "indosat");
    const auto filed = record_inbound(t.db, sms, test_policy());
    REQUIRE(filed.report_id);
    const auto id = *filed.report_id;

    const auto job = claim_one(t.db, k_t0 + 5);
    CHECK(job.report_id == id);
    CHECK(job.ref == filed.ref);
    CHECK(job.ref ==
          laporsms::sms::make_ref("MTR", static_cast<std::uint64_t>(id), deployment_ref_key(t.db)));
    CHECK(job.msisdn == "628123456789");
    CHECK(job.link == "indosat");
    CHECK(job.text == "pungutan liar di kantor desa");
    CHECK(job.rahasia);
    CHECK_FALSE(job.anonim);
    CHECK(job.received_at == k_t0);
    CHECK(job.created_at == k_t0);
    CHECK(job.attempts == 1);
    CHECK(job_state(t.db, id) == "inflight");
    CHECK(job_int(t.db, id, "attempts") == 1);
    CHECK(report_state(t.db, id) == "forwarding");

    auto retry = outcome(UpstreamOutcomeKind::temporary, k_t0 + 10);
    retry.next_attempt_at = k_t0 + 5000;
    CHECK_FALSE(record_upstream_outcome(t.db, job, retry, test_templates())); // no reply
    CHECK(claim_due_jobs(t.db, k_t0 + 4999, 10).empty());
    const auto again = claim_one(t.db, k_t0 + 5000);
    CHECK(again.attempts == 2);
    CHECK(job_int(t.db, id, "attempts") == 2);
  }

  TEST_CASE("unclaim_jobs undoes a claim whose attempt never started, and nothing else") {
    TestDb t;
    const auto a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    const auto b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 10);
    const auto claimed = claim_due_jobs(t.db, k_t0 + 20, 2);
    REQUIRE(claimed.size() == 2);
    // b's attempt was made and answered meanwhile: it is no longer inflight.
    auto done = outcome(UpstreamOutcomeKind::delivered, k_t0 + 30);
    done.tracking_id = "4711";
    record_upstream_outcome(t.db, claimed[1], done, test_templates());

    CHECK(unclaim_jobs(t.db, claimed, k_t0 + 40) == 1);
    CHECK(job_state(t.db, a) == "pending");
    CHECK(job_int(t.db, a, "attempts") == 0); // the claim counted an attempt never made
    CHECK(job_int(t.db, a, "next_attempt_at") <= k_t0 + 40);
    CHECK(report_state(t.db, a) == "received");
    CHECK(job_state(t.db, b) == "done");
    CHECK(report_state(t.db, b) == "forwarded");
    // Due at once, and the next claim counts its first attempt again.
    const auto again = claim_one(t.db, k_t0 + 40);
    CHECK(again.report_id == a);
    CHECK(again.attempts == 1);
  }

  TEST_CASE("next_due_at is the earliest pending job") {
    TestDb t;
    CHECK_FALSE(next_due_at(t.db));
    const auto a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0 + 50);
    const auto b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 70);
    CHECK(next_due_at(t.db) == k_t0 + 50);
    claim_one(t.db, k_t0 + 60); // a is inflight now: not pending
    CHECK(next_due_at(t.db) == k_t0 + 70);
    t.db.exec(fmt::format("UPDATE upstream_jobs SET next_attempt_at = {} WHERE report_id = {}",
                          k_t0 + 30, b));
    CHECK(next_due_at(t.db) == k_t0 + 30);
    claim_one(t.db, k_t0 + 80);
    CHECK_FALSE(next_due_at(t.db));
    CHECK(job_state(t.db, a) == "inflight");
  }

  TEST_CASE("delivered: tracking id stored, forwarded reply queued, job done") {
    TestDb t;
    const auto id = file_report(t.db, "628123456789", "jalan berlubang di Jl. Ahmad Yani", k_t0);
    const auto job = claim_one(t.db, k_t0 + 1);
    auto done = outcome(UpstreamOutcomeKind::delivered, k_t0 + 900);
    done.tracking_id = "1916449";
    done.transaction_id = "TX-77";
    const auto handed =
        record_upstream_outcome(t.db, job, done, test_templates(), ReplyRoom::claimed);

    CHECK(report_state(t.db, id) == "forwarded");
    const auto where = fmt::format("id = {}", id);
    CHECK(query_text(t.db, "SELECT tracking_id FROM reports WHERE " + where) == "1916449");
    CHECK(query_text(t.db, "SELECT transaction_id FROM reports WHERE " + where) == "TX-77");
    CHECK(t.db.query_int("SELECT updated_at FROM reports WHERE " + where) == k_t0 + 900);
    CHECK(job_state(t.db, id) == "done");
    CHECK_FALSE(query_text(t.db, fmt::format("SELECT last_error FROM upstream_jobs "
                                             "WHERE report_id = {}",
                                             id)));

    const auto forwarded = replies(t.db, "kind = 'forwarded'");
    REQUIRE(forwarded.size() == 1);
    CHECK(forwarded[0].text == "Laporan " + job.ref + " masuk LAPOR! #1916449.");
    CHECK(forwarded[0].report_id == id);
    // Queued claimed, for the room the outbox reserved.
    REQUIRE(handed);
    CHECK(t.db.query_int(fmt::format("SELECT claimed_at FROM outbound WHERE id = {}",
                                     handed->id)) == k_t0 + 900);
    CHECK(handed->id == forwarded[0].id);
    CHECK(handed->text == forwarded[0].text);
    CHECK(handed->created_at == k_t0 + 900);
    CHECK_FALSE(handed->started);
    CHECK(forwarded[0].msisdn == "628123456789");
    CHECK(forwarded[0].link == "telkomsel");
    CHECK(forwarded[0].state == "queued");
    CHECK(forwarded[0].created_at == k_t0 + 900);

    auto attempt = t.db.prepare_uncached(
        fmt::format("SELECT started_at, finished_at, outcome, error FROM upstream_attempt_log "
                    "WHERE report_id = {}",
                    id));
    REQUIRE(attempt->step());
    CHECK(attempt->column_int(0) == k_t0 + 100);
    CHECK(attempt->column_int(1) == k_t0 + 900);
    CHECK(attempt->column_text(2) == "delivered");
    CHECK(attempt->column_is_null(3));
    CHECK_FALSE(attempt->step());
    CHECK_FALSE(next_due_at(t.db));
  }

  TEST_CASE("delivered without a transaction id stores NULL") {
    TestDb t;
    const auto id = file_report(t.db, "628123456789", "jalan berlubang di Jl. Ahmad Yani", k_t0);
    auto done = outcome(UpstreamOutcomeKind::delivered, k_t0 + 900);
    done.tracking_id = "42";
    record_upstream_outcome(t.db, claim_one(t.db, k_t0 + 1), done, test_templates());
    CHECK_FALSE(
        query_text(t.db, fmt::format("SELECT transaction_id FROM reports WHERE id = {}", id)));
  }

  TEST_CASE("temporary and auth errors put the job back to pending at the next attempt") {
    for (const auto kind : {UpstreamOutcomeKind::temporary, UpstreamOutcomeKind::auth_error}) {
      const std::string word = kind == UpstreamOutcomeKind::temporary ? "temporary" : "auth_error";
      CAPTURE(word);
      TestDb t;
      const auto id = file_report(t.db, "628123456789", "jalan berlubang di Jl. Ahmad Yani", k_t0);
      const auto job = claim_one(t.db, k_t0 + 1);
      auto retry = outcome(kind, k_t0 + 500);
      retry.error = "HTTP 503";
      retry.next_attempt_at = k_t0 + 60'000;
      record_upstream_outcome(t.db, job, retry, test_templates());

      CHECK(job_state(t.db, id) == "pending");
      CHECK(job_int(t.db, id, "next_attempt_at") == k_t0 + 60'000);
      CHECK(query_text(t.db, fmt::format("SELECT last_error FROM upstream_jobs WHERE "
                                         "report_id = {}",
                                         id)) == "HTTP 503");
      CHECK(report_state(t.db, id) == "received");
      CHECK(next_due_at(t.db) == k_t0 + 60'000);
      CHECK(count_rows(t.db, "outbound", "kind != 'received'") == 0);
      CHECK(query_text(t.db, fmt::format("SELECT outcome || ' ' || error FROM upstream_attempts "
                                         "WHERE report_id = {}",
                                         id)) == word + " HTTP 503");
    }
  }

  TEST_CASE("rejected and gave_up fail the report and tell the citizen") {
    for (const auto kind : {UpstreamOutcomeKind::rejected, UpstreamOutcomeKind::gave_up}) {
      const std::string word = kind == UpstreamOutcomeKind::rejected ? "rejected" : "gave_up";
      CAPTURE(word);
      TestDb t;
      const auto id = file_report(t.db, "628123456789", "jalan berlubang di Jl. Ahmad Yani", k_t0);
      const auto job = claim_one(t.db, k_t0 + 1);
      auto failure = outcome(kind, k_t0 + 500);
      failure.error = "no trackingid in reply";
      record_upstream_outcome(t.db, job, failure, test_templates());

      CHECK(report_state(t.db, id) == "failed");
      CHECK(job_state(t.db, id) == "failed");
      CHECK(query_text(t.db, fmt::format("SELECT last_error FROM upstream_jobs WHERE "
                                         "report_id = {}",
                                         id)) == "no trackingid in reply");
      CHECK_FALSE(next_due_at(t.db));
      CHECK(claim_due_jobs(t.db, k_t0 + 100 * k_hour_ms, 10).empty());
      const auto failed = replies(t.db, "kind = 'failed'");
      REQUIRE(failed.size() == 1);
      CHECK(failed[0].text == "Laporan " + job.ref + " gagal diteruskan.");
      CHECK(failed[0].report_id == id);
      CHECK(query_text(t.db, fmt::format("SELECT outcome FROM upstream_attempts WHERE "
                                         "report_id = {}",
                                         id)) == word);
    }
  }

  TEST_CASE("give_up_overdue_jobs fails the pending jobs past give_up_after but the next probe's") {
    TestDb t;
    const auto old_a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    const auto old_b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 10);
    const auto young = file_report(t.db, "628100000003", "laporan ketiga di sini", k_t0 + 5000);
    const auto busy = file_report(t.db, "628100000004", "laporan keempat di sini", k_t0 + 20);
    // The probe holds `busy`: an attempt under way decides for itself.
    const auto probe = claim_due_jobs(t.db, k_t0 + 6000, 10);
    REQUIRE(probe.size() == 4);
    for (const auto& job : probe) {
      if (job.report_id != busy) {
        auto retry = outcome(UpstreamOutcomeKind::temporary, k_t0 + 6010);
        retry.next_attempt_at = k_t0 + k_hour_ms;
        record_upstream_outcome(t.db, job, retry, test_templates());
      }
    }
    const auto given_up = give_up_overdue_jobs(t.db, k_t0 + 1000, k_t0 + 7000, "stayed unreachable",
                                               test_templates(), 10);
    // The oldest is the next probe's: its own attempt decides.
    REQUIRE(given_up.size() == 1);
    CHECK(given_up[0].report_id == old_b);
    CHECK(report_state(t.db, old_b) == "failed");
    CHECK(job_state(t.db, old_b) == "failed");
    CHECK(job_state(t.db, old_a) == "pending");
    CHECK(job_state(t.db, young) == "pending");
    CHECK(job_state(t.db, busy) == "inflight");
    CHECK(replies(t.db, "kind = 'failed'").size() == 1);
    CHECK(count_rows(t.db, "upstream_attempts",
                     "outcome = 'gave_up' AND error = 'stayed unreachable'") == 1);
    CHECK(give_up_overdue_jobs(t.db, k_t0 + 1000, k_t0 + 8000, "again", test_templates(), 10)
              .empty());
  }

  TEST_CASE("a short or alphanumeric sender gets no SMS at all: not forwarded, failed or status") {
    for (const auto kind : {UpstreamOutcomeKind::delivered, UpstreamOutcomeKind::rejected}) {
      CAPTURE(static_cast<int>(kind));
      TestDb t;
      auto sms = make_sms("12345", "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
      sms.short_or_alphanumeric_sender = true;
      const auto filed = record_inbound(t.db, sms, test_policy());
      REQUIRE(filed.report_id);
      const auto job = claim_one(t.db, k_t0 + 1);
      auto result = outcome(kind, k_t0 + 900);
      result.tracking_id = "1916449";
      record_upstream_outcome(t.db, job, result, test_templates());
      if (kind == UpstreamOutcomeKind::delivered) {
        StatusQuery query;
        query.report_id = *filed.report_id;
        query.ref = job.ref;
        query.tracking_id = "1916449";
        query.link = job.link;
        query.msisdn = job.msisdn;
        CHECK(record_status(t.db, query, "Diproses", "", test_templates(), k_t0 + 2000));
      }
      CHECK(replies(t.db).empty());
    }
  }

  TEST_CASE("every attempt leaves one row in the attempt log, the failed ones in "
            "upstream_attempts") {
    TestDb t;
    const auto id = file_report(t.db, "628123456789", "jalan berlubang di Jl. Ahmad Yani", k_t0);
    std::int64_t now = k_t0;
    for (int i = 0; i < 3; ++i) {
      const auto job = claim_one(t.db, now);
      CHECK(job.attempts == i + 1);
      auto retry = outcome(UpstreamOutcomeKind::temporary, now + 100);
      retry.error = fmt::format("timeout {}", i);
      retry.next_attempt_at = now + 1000;
      record_upstream_outcome(t.db, job, retry, test_templates());
      now += 1000;
    }
    auto done = outcome(UpstreamOutcomeKind::delivered, now + 100);
    done.tracking_id = "555";
    record_upstream_outcome(t.db, claim_one(t.db, now), done, test_templates());

    CHECK(count_rows(t.db, "upstream_attempt_log", fmt::format("report_id = {}", id)) == 4);
    CHECK(count_rows(t.db, "upstream_attempts", fmt::format("report_id = {}", id)) == 3);
    CHECK(count_rows(t.db, "upstream_attempts", "outcome = 'temporary'") == 3);
    CHECK(query_text(t.db, "SELECT outcome FROM upstream_attempt_log ORDER BY finished_at DESC "
                           "LIMIT 1") == "delivered");
    CHECK(query_text(t.db, "SELECT error FROM upstream_attempts ORDER BY id LIMIT 1 OFFSET 2") ==
          "timeout 2");
    CHECK(job_int(t.db, id, "attempts") == 4);
    CHECK(job_state(t.db, id) == "done");
  }
}

TEST_SUITE("store::upstream") {
  TEST_CASE("make_pending_due releases the backlog at once, leaving other states alone") {
    TestDb t;
    const auto a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    const auto b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 10);
    t.db.exec(fmt::format("UPDATE upstream_jobs SET next_attempt_at = {} WHERE report_id = {}",
                          k_t0 + 50'000, a));
    t.db.exec(fmt::format("UPDATE upstream_jobs SET state = 'failed', next_attempt_at = {} "
                          "WHERE report_id = {}",
                          k_t0 + 50'000, b));
    CHECK(make_pending_due(t.db, k_t0 + 100) == 1);
    const auto jobs = claim_due_jobs(t.db, k_t0 + 100, 10);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].report_id == a);
  }
}

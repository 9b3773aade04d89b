#include <laporsms/store/outbox.hpp>
#include <laporsms/store/recovery.hpp>
#include <laporsms/store/upstream.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

TEST_SUITE("store::recovery") {

  TEST_CASE("recover_on_startup requeues inflight work and marks unconfirmed replies unknown") {
    TestDb t;
    // Three reports, each on its own link so that their replies can be
    // claimed one by one.
    const auto a = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0, "telkomsel");
    const auto b = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 1, "indosat");
    const auto c = file_report(t.db, "628100000003", "laporan ketiga di sini", k_t0 + 2, "xl");
    REQUIRE(claim_due_jobs(t.db, k_t0 + 10, 10).size() == 3);

    // a: inflight when the daemon died. b: waiting for a retry. c: done.
    auto retry = UpstreamOutcome{};
    retry.kind = UpstreamOutcomeKind::temporary;
    retry.finished_at = k_t0 + 20;
    retry.next_attempt_at = k_t0 + 5000;
    UpstreamJob job_b;
    job_b.report_id = b;
    record_upstream_outcome(t.db, job_b, retry, test_templates());

    // a's reply was being submitted; c's was submitted and confirmed.
    const auto reply_a = claim_outbound(t.db, "telkomsel", 10, k_t0 + 30, 0);
    REQUIRE(reply_a.size() == 1);
    mark_submit_started(t.db, reply_a[0].id, 1, k_t0 + 30);
    const auto reply_c = claim_outbound(t.db, "xl", 10, k_t0 + 30, 0);
    REQUIRE(reply_c.size() == 1);
    record_submitted(t.db, reply_c[0].id, "telkomsel", {"m-1"}, k_t0 + 31);

    auto done = UpstreamOutcome{};
    done.kind = UpstreamOutcomeKind::delivered;
    done.tracking_id = "1916449";
    done.finished_at = k_t0 + 40;
    UpstreamJob job_c;
    job_c.report_id = c;
    job_c.link = "xl";
    job_c.msisdn = "628100000003";
    record_upstream_outcome(t.db, job_c, done, test_templates());

    const std::int64_t now = k_t0 + 100'000;
    const auto report = recover_on_startup(t.db, now);
    CHECK(report.jobs_requeued == 1);
    CHECK(report.replies_unknown == 1);

    CHECK(state_of(t.db, "upstream_jobs", "report_id", a) == "pending");
    CHECK(t.db.query_int(fmt::format(
              "SELECT next_attempt_at FROM upstream_jobs WHERE report_id = {}", a)) == now);
    CHECK(state_of(t.db, "reports", "id", a) == "received");
    CHECK(state_of(t.db, "upstream_jobs", "report_id", b) == "pending");
    CHECK(t.db.query_int(fmt::format(
              "SELECT next_attempt_at FROM upstream_jobs WHERE report_id = {}", b)) == k_t0 + 5000);
    CHECK(state_of(t.db, "upstream_jobs", "report_id", c) == "done");
    CHECK(state_of(t.db, "reports", "id", c) == "forwarded");

    const auto unknown = replies(t.db, fmt::format("id = {}", reply_a[0].id));
    REQUIRE(unknown.size() == 1);
    CHECK(unknown[0].state == "unknown");
    CHECK(unknown[0].last_error.has_value());
    CHECK(state_of(t.db, "outbound", "id", reply_c[0].id) == "submitted");
    // Never claimed: still waiting, and still sent after the restart.
    CHECK(replies(t.db, "link = 'indosat'").at(0).state == "queued");
    CHECK(replies(t.db, "kind = 'forwarded'").at(0).state == "queued");
    CHECK(claim_outbound(t.db, "telkomsel", 10, now, 0).empty());
    CHECK(claim_outbound(t.db, "indosat", 10, now, 0).size() == 1);

    // The requeued job is due at once, beside b's retry; the older report
    // goes first, its attempt counted.
    const auto jobs = claim_due_jobs(t.db, now, 10);
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].report_id == a);
    CHECK(jobs[1].report_id == b);
    CHECK(jobs[0].attempts == 2);
  }

  TEST_CASE("a second recovery, or one on a clean database, finds nothing") {
    TestDb t;
    auto report = recover_on_startup(t.db, k_t0);
    CHECK(report.jobs_requeued == 0);
    CHECK(report.replies_unknown == 0);

    file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    claim_due_jobs(t.db, k_t0, 10);
    const auto claimed = claim_outbound(t.db, "telkomsel", 10, k_t0, 0);
    REQUIRE(claimed.size() == 1);
    mark_submit_started(t.db, claimed[0].id, 1, k_t0);
    report = recover_on_startup(t.db, k_t0 + 1);
    CHECK(report.jobs_requeued == 1);
    CHECK(report.replies_unknown == 1);
    report = recover_on_startup(t.db, k_t0 + 2);
    CHECK(report.jobs_requeued == 0);
    CHECK(report.replies_unknown == 0);
    CHECK(count_rows(t.db, "reports", "state = 'received'") == 1);
  }
}

TEST_SUITE("store::recovery") {
  // A crash while replies waited behind the window or the rate limit: they
  // were claimed but nothing left us, so they are sent after the restart.
  TEST_CASE("claimed but unstarted replies go back to the queue, started ones become unknown") {
    TestDb t;
    file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    file_report(t.db, "628100000002", "laporan kedua di sini juga", k_t0);
    const auto claimed = claim_outbound(t.db, "telkomsel", 10, k_t0, 0);
    REQUIRE(claimed.size() == 2);
    mark_submit_started(t.db, claimed[0].id, 1, k_t0 + 1);
    const auto report = recover_on_startup(t.db, k_t0 + 2);
    CHECK(report.replies_unknown == 1);
    CHECK(report.replies_requeued == 1);
    CHECK(replies(t.db, fmt::format("id = {}", claimed[0].id)).at(0).state == "unknown");
    const auto again = claim_outbound(t.db, "telkomsel", 10, k_t0 + 3, 0);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == claimed[1].id);
  }

  TEST_CASE("start-up recovery reads no table whole: a year of reports must not cost a scan") {
    // Migration 7 left no index for inflight jobs, and the start-up UPDATE
    // walked every upstream job ever stored (35 MB read on 1,000,000).
    TestDb t;
    for (int i = 0; i < 300; ++i) {
      const auto id =
          file_report(t.db, fmt::format("62810000{:04}", i), "laporan jalan rusak", k_t0);
      t.db.exec(fmt::format("UPDATE upstream_jobs SET state = 'done' WHERE report_id = {}", id));
      t.db.exec(fmt::format("UPDATE outbound SET state = 'delivered' WHERE report_id = {}", id));
    }
    const auto inflight = file_report(t.db, "628100009999", "laporan terakhir di sini", k_t0);
    t.db.exec(
        fmt::format("UPDATE upstream_jobs SET state = 'inflight' WHERE report_id = {}", inflight));
    const auto full_scan_steps = [&t](bool reset) {
      int steps = 0;
      for (sqlite3_stmt* stmt = sqlite3_next_stmt(t.db.handle(), nullptr); stmt != nullptr;
           stmt = sqlite3_next_stmt(t.db.handle(), stmt)) {
        steps += sqlite3_stmt_status(stmt, SQLITE_STMTSTATUS_FULLSCAN_STEP, reset ? 1 : 0);
      }
      return steps;
    };
    full_scan_steps(true);
    const auto report = recover_on_startup(t.db, k_t0 + 1000);
    CHECK(report.jobs_requeued == 1);
    CHECK(full_scan_steps(false) == 0);
  }
}

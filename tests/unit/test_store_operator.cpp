#include <laporsms/store/intake.hpp>
#include <laporsms/store/operator.hpp>
#include <laporsms/store/upstream.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <string>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

namespace {

std::string ref_of(Connection& db, std::int64_t id) {
  return query_text(db, fmt::format("SELECT ref FROM reports WHERE id = {}", id)).value_or("");
}

// Files a report and takes it through one upstream attempt ending in `kind`.
std::int64_t report_after(Connection& db, UpstreamOutcomeKind kind, std::string_view msisdn,
                          std::int64_t at) {
  const auto id = file_report(db, msisdn, "jalan berlubang di Jl. Ahmad Yani", at);
  const auto jobs = claim_due_jobs(db, at, 1);
  REQUIRE(jobs.size() == 1);
  UpstreamOutcome outcome;
  outcome.kind = kind;
  outcome.tracking_id = fmt::format("T{}", id);
  outcome.error = "HTTP 400";
  outcome.finished_at = at + 1;
  outcome.next_attempt_at = at + k_hour_ms;
  record_upstream_outcome(db, jobs[0], outcome, test_templates());
  return id;
}

} // namespace

TEST_SUITE("store::operator") {

  TEST_CASE("find_report by ref in any case or by tracking id") {
    TestDb t;
    const auto first = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    const auto second = file_report(t.db, "628100000002", "laporan kedua di sini", k_t0 + 1);
    t.db.exec(fmt::format("UPDATE reports SET tracking_id = '1916449' WHERE id = {}", first));
    const auto ref = ref_of(t.db, second);
    std::string lower = ref;
    for (auto& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }

    CHECK(find_report(t.db, ref) == second);
    CHECK(find_report(t.db, lower) == second);
    CHECK(find_report(t.db, "1916449") == first);
    CHECK(find_report(t.db, "#1916449") == first);
    CHECK_FALSE(find_report(t.db, "1916448"));
    CHECK_FALSE(find_report(t.db, "MTR2222"));
    CHECK_FALSE(find_report(t.db, ""));
    CHECK_FALSE(find_report(t.db, "#"));

    // A tracking id seen twice names the newest report.
    const auto third = file_report(t.db, "628100000003", "laporan ketiga di sini", k_t0 + 2);
    t.db.exec(fmt::format("UPDATE reports SET tracking_id = '1916449' WHERE id = {}", third));
    CHECK(find_report(t.db, "1916449") == third);
  }

  TEST_CASE("retry_report requeues a failed report, due now") {
    TestDb t;
    const auto id = report_after(t.db, UpstreamOutcomeKind::rejected, "628100000001", k_t0);
    REQUIRE(state_of(t.db, "reports", "id", id) == "failed");
    const std::int64_t now = k_t0 + 2 * k_hour_ms;
    CHECK(retry_report(t.db, id, now));
    CHECK(state_of(t.db, "reports", "id", id) == "received");
    CHECK(state_of(t.db, "upstream_jobs", "report_id", id) == "pending");
    const auto where = fmt::format("report_id = {}", id);
    CHECK(t.db.query_int("SELECT next_attempt_at FROM upstream_jobs WHERE " + where) == now);
    // A fresh start for give_up_after.
    CHECK(t.db.query_int("SELECT created_at FROM upstream_jobs WHERE " + where) == now);
    CHECK_FALSE(query_text(t.db, "SELECT last_error FROM upstream_jobs WHERE " + where));
    const auto jobs = claim_due_jobs(t.db, now, 10);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].report_id == id);
  }

  TEST_CASE("retry_report forwards a report held by the rate limit") {
    TestDb t;
    auto policy = test_policy();
    policy.max_reports_per_sender = 0;
    const auto held = record_inbound(
        t.db, make_sms("628100000001", "LAPORYAI banjir di gang mawar", k_t0), policy);
    REQUIRE(held.report_id);
    const auto id = *held.report_id;
    REQUIRE(state_of(t.db, "reports", "id", id) == "held");
    REQUIRE(count_rows(t.db, "upstream_jobs") == 0);

    CHECK(retry_report(t.db, id, k_t0 + 10));
    CHECK(state_of(t.db, "reports", "id", id) == "received");
    CHECK(state_of(t.db, "upstream_jobs", "report_id", id) == "pending");
    CHECK(next_due_at(t.db) == k_t0 + 10);
  }

  TEST_CASE("retry_report brings a waiting retry forward") {
    TestDb t;
    const auto id = report_after(t.db, UpstreamOutcomeKind::temporary, "628100000001", k_t0);
    REQUIRE(next_due_at(t.db) == k_t0 + k_hour_ms);
    CHECK(retry_report(t.db, id, k_t0 + 5));
    CHECK(next_due_at(t.db) == k_t0 + 5);
    CHECK(state_of(t.db, "reports", "id", id) == "received");
  }

  TEST_CASE("retry_report refuses forwarded, closed and unknown reports") {
    TestDb t;
    const auto forwarded = report_after(t.db, UpstreamOutcomeKind::delivered, "628100000001", k_t0);
    CHECK_FALSE(retry_report(t.db, forwarded, k_t0 + 10));
    CHECK(state_of(t.db, "reports", "id", forwarded) == "forwarded");
    CHECK(state_of(t.db, "upstream_jobs", "report_id", forwarded) == "done");

    const auto closed = report_after(t.db, UpstreamOutcomeKind::delivered, "628100000002", k_t0);
    t.db.exec(fmt::format("UPDATE reports SET state = 'closed' WHERE id = {}", closed));
    CHECK_FALSE(retry_report(t.db, closed, k_t0 + 10));
    CHECK(state_of(t.db, "upstream_jobs", "report_id", closed) == "done");

    CHECK_FALSE(retry_report(t.db, 9999, k_t0 + 10));
    CHECK(count_rows(t.db, "upstream_jobs", "report_id = 9999") == 0);
    CHECK_FALSE(next_due_at(t.db));
  }

  TEST_CASE("retry_report leaves an inflight attempt alone") {
    TestDb t;
    const auto id = file_report(t.db, "628100000001", "laporan pertama di sini", k_t0);
    REQUIRE(claim_due_jobs(t.db, k_t0, 10).size() == 1);
    retry_report(t.db, id, k_t0 + 10);
    CHECK(state_of(t.db, "upstream_jobs", "report_id", id) == "inflight");
    CHECK(state_of(t.db, "reports", "id", id) == "forwarding");
    CHECK(claim_due_jobs(t.db, k_t0 + 10, 10).empty());
  }

  TEST_CASE("retry_failed_reports requeues every failed report and only those") {
    TestDb t;
    const auto f1 = report_after(t.db, UpstreamOutcomeKind::rejected, "628100000001", k_t0);
    const auto f2 = report_after(t.db, UpstreamOutcomeKind::gave_up, "628100000002", k_t0 + 1);
    const auto ok = report_after(t.db, UpstreamOutcomeKind::delivered, "628100000003", k_t0 + 2);
    auto policy = test_policy();
    policy.max_reports_per_sender = 0;
    const auto held = record_inbound(
        t.db, make_sms("628100000004", "LAPORYAI banjir di gang mawar", k_t0), policy);
    REQUIRE(held.report_id);

    CHECK(retry_failed_reports(t.db, k_t0 + 100) == 2);
    CHECK(state_of(t.db, "reports", "id", f1) == "received");
    CHECK(state_of(t.db, "reports", "id", f2) == "received");
    CHECK(state_of(t.db, "reports", "id", ok) == "forwarded");
    CHECK(state_of(t.db, "reports", "id", *held.report_id) == "held");
    CHECK(claim_due_jobs(t.db, k_t0 + 100, 10).size() == 2);
    CHECK(retry_failed_reports(t.db, k_t0 + 200) == 0);
  }

  TEST_CASE("resend_last_reply queues a copy of the newest reply") {
    TestDb t;
    const auto id = report_after(t.db, UpstreamOutcomeKind::delivered, "628100000001", k_t0);
    const auto before = replies(t.db, fmt::format("report_id = {}", id));
    REQUIRE(before.size() == 2);
    REQUIRE(before[1].kind == "forwarded");
    t.db.exec(
        fmt::format("UPDATE outbound SET state = 'undeliverable' WHERE id = {}", before[1].id));

    const auto copy = resend_last_reply(t.db, id, k_t0 + 500);
    REQUIRE(copy);
    CHECK(*copy > before[1].id);
    const auto after = replies(t.db, fmt::format("id = {}", *copy));
    REQUIRE(after.size() == 1);
    CHECK(after[0].kind == "forwarded");
    CHECK(after[0].text == before[1].text);
    CHECK(after[0].msisdn == before[1].msisdn);
    CHECK(after[0].link == before[1].link);
    CHECK(after[0].report_id == id);
    CHECK(after[0].state == "queued");
    CHECK(after[0].created_at == k_t0 + 500);
    CHECK_FALSE(after[0].submit_started_at);
    CHECK(state_of(t.db, "outbound", "id", before[1].id) == "undeliverable");
  }

  TEST_CASE("resend_last_reply needs a reply to copy") {
    TestDb t;
    // A short sender's report never got a reply.
    auto sms = make_sms("TELKOMSEL", "LAPORYAI promo paket internet murah", k_t0);
    sms.short_or_alphanumeric_sender = true;
    const auto quiet = record_inbound(t.db, sms, test_policy());
    REQUIRE(quiet.report_id);
    CHECK_FALSE(resend_last_reply(t.db, *quiet.report_id, k_t0 + 1));
    CHECK_FALSE(resend_last_reply(t.db, 9999, k_t0 + 1));
    CHECK(count_rows(t.db, "outbound") == 0);
  }
}

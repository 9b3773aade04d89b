#include <laporsms/store/outbox.hpp>
#include <laporsms/store/retention.hpp>
#include <laporsms/store/status.hpp>
#include <laporsms/store/upstream.hpp>

#include <doctest/doctest.h>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

namespace {

constexpr std::int64_t k_day = 24 * k_hour_ms;

std::int64_t closed_report(Connection& db, std::string_view msisdn, std::int64_t at) {
  const auto id = file_report(db, msisdn, "lampu jalan mati di depan pasar", at);
  auto jobs = claim_due_jobs(db, at, 10);
  REQUIRE(jobs.size() == 1);
  UpstreamOutcome done;
  done.kind = UpstreamOutcomeKind::delivered;
  done.tracking_id = "1916449";
  done.finished_at = at + 1;
  record_upstream_outcome(db, jobs[0], done, test_templates());
  const auto q = claim_status_queries(db, at + 2, at + 2, 1).at(0);
  record_status(db, q, "Selesai", "", test_templates(), at + 3);
  return id;
}

} // namespace

TEST_SUITE("store::retention") {
  TEST_CASE("closed reports past the retention go with all their rows; open ones stay") {
    TestDb t;
    const auto old_closed = closed_report(t.db, "628100000001", k_t0);
    const auto open = file_report(t.db, "628100000002", "laporan yang masih terbuka", k_t0);
    const auto now = k_t0 + 40 * k_day;
    const auto result = prune_once(t.db, now, RetentionPolicy{30 * k_day, 0, 500});
    CHECK(result.reports_pruned == 1);
    CHECK(count_rows(t.db, "reports", fmt::format("id = {}", old_closed)) == 0);
    CHECK(count_rows(t.db, "inbound", fmt::format("report_id = {}", old_closed)) == 0);
    CHECK(count_rows(t.db, "outbound", fmt::format("report_id = {}", old_closed)) == 0);
    CHECK(count_rows(t.db, "status_history", fmt::format("report_id = {}", old_closed)) == 0);
    CHECK(count_rows(t.db, "reports", fmt::format("id = {}", open)) == 1);
    // A second sweep finds nothing more.
    CHECK(prune_once(t.db, now, RetentionPolicy{30 * k_day, 0, 500}).reports_pruned == 0);
  }

  TEST_CASE("a zero retention keeps everything; batches are bounded") {
    TestDb t;
    for (int i = 0; i < 5; ++i) {
      closed_report(t.db, fmt::format("62810000000{}", i), k_t0 + i);
    }
    CHECK(prune_once(t.db, k_t0 + 400 * k_day, RetentionPolicy{0, 0, 500}).reports_pruned == 0);
    CHECK(prune_once(t.db, k_t0 + 400 * k_day, RetentionPolicy{k_day, 0, 2}).reports_pruned == 2);
    CHECK(count_rows(t.db, "reports", "1") == 3);
  }

  TEST_CASE("blanking removes the words of closed reports and keeps the trail") {
    TestDb t;
    const auto id = closed_report(t.db, "628100000001", k_t0);
    const auto result = prune_once(t.db, k_t0 + 10 * k_day, RetentionPolicy{0, 7 * k_day, 500});
    CHECK(result.reports_blanked == 1);
    CHECK(query_text(t.db, fmt::format("SELECT text FROM reports WHERE id = {}", id)) == "");
    CHECK(query_text(t.db, fmt::format("SELECT text FROM inbound WHERE report_id = {}", id)) == "");
    CHECK(query_text(t.db, fmt::format("SELECT msisdn FROM reports WHERE id = {}", id)) ==
          "628100000001");
    CHECK(count_rows(t.db, "status_history", fmt::format("report_id = {}", id)) == 1);
  }
}

#include <laporsms/store/status.hpp>
#include <laporsms/store/upstream.hpp>

#include <doctest/doctest.h>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

namespace {

// A report filed and forwarded with tracking id `tracking`.
std::int64_t forwarded_report(Connection& db, std::string_view msisdn, std::string tracking,
                              std::int64_t at) {
  const auto id = file_report(db, msisdn, "jalan berlubang di depan pasar", at);
  auto jobs = claim_due_jobs(db, at, 10);
  REQUIRE(jobs.size() == 1);
  UpstreamOutcome done;
  done.kind = UpstreamOutcomeKind::delivered;
  done.tracking_id = std::move(tracking);
  done.finished_at = at + 1;
  record_upstream_outcome(db, jobs[0], done, test_templates());
  return id;
}

} // namespace

TEST_SUITE("store::status") {
  TEST_CASE("open reports are asked about once per interval, least recently asked first") {
    TestDb t;
    const auto a = forwarded_report(t.db, "628100000001", "1916449", k_t0);
    const auto b = forwarded_report(t.db, "628100000002", "1916450", k_t0 + 10);
    file_report(t.db, "628100000003", "belum diteruskan ke lapor", k_t0 + 20);
    auto first = claim_status_queries(t.db, k_t0 + 100, k_t0 + 100, 1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].report_id == a);
    CHECK(first[0].tracking_id == "1916449");
    auto second = claim_status_queries(t.db, k_t0 + 100, k_t0 + 100, 10);
    REQUIRE(second.size() == 1); // a was just asked; the unforwarded one never is
    CHECK(second[0].report_id == b);
    CHECK(claim_status_queries(t.db, k_t0 + 100, k_t0 + 101, 10).empty());
    CHECK(claim_status_queries(t.db, k_t0 + 200, k_t0 + 200, 10).size() == 2);
  }

  TEST_CASE("a changed status is stored, told to the citizen once, and Selesai closes") {
    TestDb t;
    const auto id = forwarded_report(t.db, "628100000001", "1916449", k_t0);
    auto q = claim_status_queries(t.db, k_t0 + 100, k_t0 + 100, 1).at(0);
    CHECK(
        record_status(t.db, q, "Diproses", "Sedang ditangani dinas", test_templates(), k_t0 + 200));
    q.status = "Diproses";
    CHECK_FALSE(record_status(t.db, q, "Diproses", "", test_templates(), k_t0 + 300));
    CHECK_FALSE(record_status(t.db, q, "", "", test_templates(), k_t0 + 300));
    const auto told = replies(t.db, "kind = 'status_changed'");
    REQUIRE(told.size() == 1);
    CHECK(told[0].text == "Laporan #1916449: Diproses. Sedang ditangani dinas");
    CHECK(told[0].msisdn == "628100000001");
    CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}", id)) ==
          "forwarded");

    CHECK(record_status(t.db, q, "Selesai", "", test_templates(), k_t0 + 400));
    CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}", id)) == "closed");
    CHECK(count_rows(t.db, "status_history", fmt::format("report_id = {}", id)) == 2);
    // No trailing blank where the note was empty.
    CHECK(replies(t.db, "kind = 'status_changed'").at(1).text == "Laporan #1916449: Selesai.");
    // A closed report is not asked about again.
    CHECK(claim_status_queries(t.db, k_t0 + 10'000, k_t0 + 10'000, 10).empty());
  }
}

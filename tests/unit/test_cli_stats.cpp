// `laporctl stats` on a database the test fills (issue 13): known counts per
// local day, a known median and p90 of the time from SMS to tracking id, in
// JSON, CSV, text and HTML, with the server's zone (Asia/Jakarta here).
#include <laporsms/cli/stats.hpp>
#include <laporsms/store/sqlite.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <optional>
#include <sstream>
#include <string>

#include "store_test_util.hpp"

using namespace laporsms;
using nlohmann::json;

namespace {

constexpr std::int64_t k_s = 1000;

// Runs the test in Asia/Jakarta (UTC+7, no daylight saving), then puts the
// process's zone back.
class JakartaTime {
public:
  JakartaTime() {
    if (const char* tz = std::getenv("TZ")) {
      m_saved = tz;
    }
    ::setenv("TZ", "Asia/Jakarta", 1);
    ::tzset();
  }
  ~JakartaTime() {
    if (m_saved) {
      ::setenv("TZ", m_saved->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  JakartaTime(const JakartaTime&) = delete;
  JakartaTime& operator=(const JakartaTime&) = delete;

private:
  std::optional<std::string> m_saved;
};

std::int64_t local(int year, int month, int day, int hour = 0, int minute = 0, int second = 0) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

class StatsDb {
public:
  StatsDb() { m_test.db.exec("BEGIN"); }

  // A report received at `at` in `state`; `tracking_after` is when its
  // tracking id came (a temporary failure before it, a later repeat after).
  std::int64_t report(std::int64_t at, const std::string& state,
                      std::optional<std::int64_t> tracking_after = std::nullopt,
                      const std::string& status = "") {
    const auto id = ++m_ids;
    m_test.db.exec(fmt::format(
        "INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id, "
        "status, received_at, updated_at) VALUES ({0}, 'MTRS{0}', '628123', 'sim', 'laporan', 1, "
        "1, '{1}', {2}, {3}, {4}, {4})",
        id, state, tracking_after ? fmt::format("'19{}'", id) : "NULL",
        status.empty() ? "NULL" : "'" + status + "'", at));
    if (tracking_after) {
      attempt(id, at + 100, "temporary");
      attempt(id, at + *tracking_after, "delivered");
      attempt(id, at + *tracking_after + 3600 * k_s, "delivered");
    }
    return id;
  }

  void attempt(std::int64_t id, std::int64_t finished, const std::string& outcome) {
    m_test.db.exec(fmt::format("INSERT INTO upstream_attempts (report_id, started_at, "
                               "finished_at, outcome) VALUES ({}, {}, {}, '{}')",
                               id, finished - 50, finished, outcome));
  }

  void reply(std::optional<std::int64_t> report_id, std::int64_t at, const std::string& state) {
    m_test.db.exec(
        fmt::format("INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, "
                    "updated_at) VALUES ({}, 'received', 'sim', '628123', 'ok', '{}', {}, {})",
                    report_id ? std::to_string(*report_id) : "NULL", state, at, at + 2000));
  }

  json stats(std::int64_t since, std::int64_t until, cli::StatsPeriod by) {
    if (!m_committed) {
      m_test.db.exec("COMMIT");
      m_committed = true;
    }
    store::Connection ro(store::read_only_uri(m_test.dir.file("laporsms.db")),
                         store::OpenMode::read_only);
    return cli::compute_stats(ro, {since, until, by});
  }

private:
  store_test::TestDb m_test;
  std::int64_t m_ids = 0;
  bool m_committed = false;
};

// Nov 2 and 3 have reports, Nov 4 none; one report just before and one just
// after the period.
json fill_and_count(StatsDb& db, cli::StatsPeriod by, std::int64_t since, std::int64_t until) {
  db.report(local(2026, 11, 1, 23, 59, 59), "forwarded", 5 * k_s); // the day before
  const auto a = db.report(local(2026, 11, 2, 0, 0, 0), "forwarded", 10 * k_s);
  const auto b = db.report(local(2026, 11, 2, 8), "forwarded", 20 * k_s, "Diproses");
  db.report(local(2026, 11, 2, 12), "forwarded", 30 * k_s, "Diproses");
  db.report(local(2026, 11, 2, 23, 59, 59), "closed", 40 * k_s, "Selesai");
  db.report(local(2026, 11, 2, 9), "failed", std::nullopt, "Bukan Wewenang <&>");
  db.report(local(2026, 11, 3, 7), "forwarded", 50 * k_s);
  db.report(local(2026, 11, 3, 8), "forwarding", std::nullopt);
  db.report(local(2026, 11, 3, 9), "held", std::nullopt);
  db.report(local(2026, 11, 3, 10), "forwarded", 60 * k_s, "Diproses");
  db.report(local(2026, 11, 5, 0, 0, 0), "forwarded", 1 * k_s); // after
  db.reply(a, local(2026, 11, 2, 0, 0, 1), "delivered");
  db.reply(a, local(2026, 11, 2, 0, 0, 11), "delivered");
  db.reply(b, local(2026, 11, 2, 8), "undeliverable");
  db.reply(b, local(2026, 11, 2, 8), "queued");
  db.reply(std::nullopt, local(2026, 11, 3, 12), "delivered");     // an answer to INFO
  db.reply(std::nullopt, local(2026, 11, 3, 12), "undeliverable"); // another
  db.reply(std::nullopt, local(2026, 11, 5, 1), "delivered");      // after the period
  return db.stats(since, until, by);
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

} // namespace

TEST_SUITE("cli.stats") {
  TEST_CASE("stats by day: counts per local day, totals, median and p90, replies, statuses") {
    JakartaTime zone;
    StatsDb db;
    const auto doc =
        fill_and_count(db, cli::StatsPeriod::day, local(2026, 11, 2), local(2026, 11, 5));
    CHECK(doc["since"] == "2026-11-02T00:00:00+07:00");
    CHECK(doc["until"] == "2026-11-05T00:00:00+07:00");
    CHECK(doc["by"] == "day");
    CHECK(doc["time_zone"] ==
          json{{"name", "Asia/Jakarta"}, {"abbreviation", "WIB"}, {"utc_offset", "+07:00"}});
    CHECK(doc["totals"] == json{{"received", 9},
                                {"forwarded", 6},
                                {"failed", 1},
                                {"closed", 1},
                                {"held", 1},
                                {"waiting", 1}});
    // 10, 20, 30, 40, 50, 60 s: nearest rank p50 = 30 s, p90 = 60 s.
    CHECK(doc["time_to_tracking_s"] == json{{"p50", 30.0}, {"p90", 60.0}, {"count", 6}});
    CHECK(doc["replies"] == json{{"delivered", 3}, {"undeliverable", 2}});
    CHECK(doc["top_statuses"] == json::array({{{"status", "Diproses"}, {"count", 3}},
                                              {{"status", "Bukan Wewenang <&>"}, {"count", 1}},
                                              {{"status", "Selesai"}, {"count", 1}}}));
    const auto& periods = doc["periods"];
    REQUIRE(periods.size() == 3);
    CHECK(periods[0]["start"] == "2026-11-02");
    CHECK(periods[0]["end"] == "2026-11-03");
    CHECK(periods[0]["received"] == 5);
    CHECK(periods[0]["forwarded"] == 4);
    CHECK(periods[0]["closed"] == 1);
    CHECK(periods[0]["failed"] == 1);
    CHECK(periods[0]["time_to_tracking_s"] == json{{"p50", 20.0}, {"p90", 40.0}, {"count", 4}});
    CHECK(periods[0]["replies"] == json{{"delivered", 2}, {"undeliverable", 1}});
    CHECK(periods[1]["received"] == 4);
    CHECK(periods[1]["forwarded"] == 2);
    CHECK(periods[1]["held"] == 1);
    CHECK(periods[1]["waiting"] == 1);
    CHECK(periods[1]["replies"] == json{{"delivered", 1}, {"undeliverable", 1}});
    CHECK(periods[2]["label"] == "2026-11-04");
    CHECK(periods[2]["received"] == 0);
    CHECK(periods[2]["time_to_tracking_s"]["p50"].is_null());

    const auto csv = cli::render_stats_csv(doc);
    std::istringstream in(csv);
    std::string header;
    std::string day1;
    std::getline(in, header);
    std::getline(in, day1);
    CHECK(header.rfind("period,start,end,received,forwarded,failed,closed,held,waiting,", 0) == 0);
    CHECK(day1 == "2026-11-02,2026-11-02,2026-11-03,5,4,1,1,0,0,20.000,40.000,2,1,"
                  "\"Asia/Jakarta +07:00\"");
    CHECK(csv.find("\ntotal,2026-11-02,2026-11-05,9,6,1,1,1,1,30.000,60.000,3,2,") !=
          std::string::npos);
    CHECK(count_of(csv, "\n") == 5);

    const auto text = cli::render_stats_text(doc);
    CHECK(text.rfind("Reports 2026-11-02 to 2026-11-04, by day; times in Asia/Jakarta (WIB,", 0) ==
          0);
    CHECK(text.find("median 30.0 s, p90 1 min") != std::string::npos);
    CHECK(text.find("\n2026-11-02         5          4       1       1     0        0  20.0s  "
                    "40.0s\n") != std::string::npos);

    const auto html = cli::render_stats_html(doc);
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(count_of(html, "<svg") == 1);
    CHECK(count_of(html, "<g class=\"period\"") == 3);
    CHECK(html.find("data-label=\"2026-11-02\" data-received=\"5\"") != std::string::npos);
    // Nov 2: closed, forwarded and open, failed; Nov 3: forwarded, waiting, held.
    CHECK(count_of(html, "<rect class=\"bar ") == 6);
    CHECK(html.find("Bukan Wewenang &lt;&amp;&gt;") != std::string::npos);
    CHECK(html.find("Bukan Wewenang <&>") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("http") == std::string::npos);
    CHECK(html.find("Asia/Jakarta (WIB, UTC+07:00)") != std::string::npos);
  }

  TEST_CASE("stats by ISO week (from Monday) and by month") {
    JakartaTime zone;
    {
      StatsDb db;
      // 2026-11-01 is a Sunday: its week began on Oct 26 (2026-W44).
      const auto doc =
          fill_and_count(db, cli::StatsPeriod::week, local(2026, 11, 1), local(2026, 11, 11));
      const auto& periods = doc["periods"];
      REQUIRE(periods.size() == 3);
      CHECK(periods[0]["label"] == "2026-W44");
      CHECK(periods[0]["start"] == "2026-11-01");
      CHECK(periods[0]["end"] == "2026-11-02");
      CHECK(periods[0]["received"] == 1);
      CHECK(periods[1]["label"] == "2026-W45");
      CHECK(periods[1]["end"] == "2026-11-09");
      CHECK(periods[1]["received"] == 10);
      CHECK(periods[2]["label"] == "2026-W46");
      CHECK(periods[2]["end"] == "2026-11-11");
      CHECK(doc["totals"]["received"] == 11);
    }
    {
      StatsDb db;
      const auto doc =
          fill_and_count(db, cli::StatsPeriod::month, local(2026, 10, 15), local(2026, 12, 1));
      const auto& periods = doc["periods"];
      REQUIRE(periods.size() == 2);
      CHECK(periods[0]["label"] == "2026-10");
      CHECK(periods[0]["received"] == 0);
      CHECK(periods[1]["label"] == "2026-11");
      CHECK(periods[1]["start"] == "2026-11-01");
      CHECK(periods[1]["end"] == "2026-12-01");
      CHECK(periods[1]["received"] == 11);
      // 1, 5, 10, ..., 60 s: p50 of 8 values is the 4th, p90 the 8th.
      CHECK(doc["time_to_tracking_s"] == json{{"p50", 20.0}, {"p90", 60.0}, {"count", 8}});
    }
  }
}

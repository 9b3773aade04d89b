// `laporctl stats`: the figures of a period, for the command center's
// monthly report (issue 13), as the JSON document of interfaces.md §1, CSV,
// text for the terminal and one self-contained HTML page.
//
// Which reports count: those received in [since, until), each in the period
// (local day, ISO week from Monday, or month) of its received_at, by what
// became of it so far: forwarded (it has a tracking id, also when closed
// since), closed, failed, held, waiting (received or forwarding). The time to
// the tracking id runs from the report's received_at to the finished_at of
// its first upstream attempt that was 'delivered', the moment the API's
// answer with the tracking id was recorded (the same instant the report took
// its tracking id); p50 and p90 are nearest-rank percentiles. Replies count
// the SMS sent for those reports, and the answers to other texts (INFO, CEK,
// ...) created in the period, by their state: delivered or undeliverable by
// the SMSC's receipt.
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace laporsms::cli {

enum class StatsPeriod { day, week, month };

std::optional<StatsPeriod> parse_stats_period(std::string_view word);

struct StatsQuery {
  std::int64_t since_ms = 0; // a local midnight
  std::int64_t until_ms = 0; // a local midnight after since_ms, exclusive
  StatsPeriod by = StatsPeriod::day;
};

// The local midnight of the day after the one `local_ms` falls in.
std::int64_t next_local_midnight(std::int64_t local_ms);
// The local midnight that starts the month `local_ms` falls in.
std::int64_t local_month_start(std::int64_t local_ms);

// The boundaries of the periods in [since, until): since, each local
// day/Monday/first of a month after it, and until.
std::vector<std::int64_t> period_boundaries(const StatsQuery& query);

// The server's time zone: its name (TZ, else /etc/localtime's link into
// zoneinfo), its abbreviation and its UTC offset at `at_ms`, as
// {"name": "Asia/Jakarta", "abbreviation": "WIB", "utc_offset": "+07:00"}.
nlohmann::json local_time_zone(std::int64_t at_ms);

// Reads the figures from a read-only connection, with the indexes the
// daemon's schema has (reports_state, upstream_attempts_report,
// outbound_report, outbound_stray).
nlohmann::json compute_stats(store::Connection& db, const StatsQuery& query);

// One line a period and a last "total" line, with a header line.
std::string render_stats_csv(const nlohmann::json& stats);
std::string render_stats_text(const nlohmann::json& stats);
// One page, no script, no network: inline CSS and an SVG chart.
std::string render_stats_html(const nlohmann::json& stats);

} // namespace laporsms::cli

#include <laporsms/cli/render.hpp>
#include <laporsms/cli/stats.hpp>
#include <laporsms/cli/text.hpp>
#include <laporsms/store/states.hpp>
#include <laporsms/util/clock.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

namespace laporsms::cli {
namespace {

using nlohmann::json;

std::tm local_tm(std::int64_t ms) {
  const auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return tm;
}

std::int64_t from_local(std::tm tm) {
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

std::string local_date(std::int64_t ms) {
  const auto tm = local_tm(ms);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string local_rfc3339(std::int64_t ms) {
  return util::format_rfc3339(ms, util::local_utc_offset_minutes(ms));
}

std::string period_label(std::int64_t start_ms, StatsPeriod by) {
  const auto tm = local_tm(start_ms);
  char buffer[32];
  switch (by) {
  case StatsPeriod::day:
    return local_date(start_ms);
  case StatsPeriod::week:
    std::strftime(buffer, sizeof buffer, "%G-W%V", &tm);
    return buffer;
  case StatsPeriod::month:
    std::strftime(buffer, sizeof buffer, "%Y-%m", &tm);
    return buffer;
  }
  return local_date(start_ms);
}

const char* period_word(StatsPeriod by) {
  switch (by) {
  case StatsPeriod::day:
    return "day";
  case StatsPeriod::week:
    return "week";
  case StatsPeriod::month:
    return "month";
  }
  return "day";
}

// Nearest rank: the smallest value with at least p of the values at or below it.
json percentile(std::vector<std::int64_t>& values, double p) {
  if (values.empty()) {
    return nullptr;
  }
  auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(rank),
                   values.end());
  return static_cast<double>(values[rank]) / 1000.0;
}

struct Counts {
  std::int64_t received = 0;
  std::int64_t forwarded = 0;
  std::int64_t failed = 0;
  std::int64_t closed = 0;
  std::int64_t held = 0;
  std::int64_t waiting = 0;
  std::int64_t replies_delivered = 0;
  std::int64_t replies_undeliverable = 0;
  std::vector<std::int64_t> to_tracking_ms;
};

json counts_json(Counts& c) {
  return json{{"received", c.received}, {"forwarded", c.forwarded}, {"failed", c.failed},
              {"closed", c.closed},     {"held", c.held},           {"waiting", c.waiting}};
}

json timing_json(Counts& c) {
  const auto count = c.to_tracking_ms.size();
  return json{{"p50", percentile(c.to_tracking_ms, 0.5)},
              {"p90", percentile(c.to_tracking_ms, 0.9)},
              {"count", count}};
}

std::string format_offset(long gmtoff_s) {
  const long minutes = std::labs(gmtoff_s) / 60;
  return fmt::format("{}{:02}:{:02}", gmtoff_s < 0 ? '-' : '+', minutes / 60, minutes % 60);
}

std::string zone_name() {
  if (const char* tz = std::getenv("TZ"); tz != nullptr && *tz != '\0') {
    std::string name = tz;
    if (name.front() == ':') {
      name.erase(0, 1);
    }
    const auto marker = name.find("zoneinfo/");
    return marker == std::string::npos ? name : name.substr(marker + 9);
  }
  std::error_code ec;
  const auto target = std::filesystem::read_symlink("/etc/localtime", ec);
  if (!ec) {
    const auto text = target.string();
    const auto marker = text.find("zoneinfo/");
    if (marker != std::string::npos) {
      return text.substr(marker + 9);
    }
  }
  std::ifstream file("/etc/timezone");
  std::string name;
  if (file && std::getline(file, name) && !name.empty()) {
    return name;
  }
  return "localtime";
}

std::string number(const json& value) {
  return value.is_number() ? value.dump() : "-";
}

std::string seconds_text(const json& value) {
  return value.is_number() ? human_duration(value.get<double>()) : "-";
}

std::string cell_seconds(const json& value) {
  return value.is_number() ? compact_duration(value.get<double>()) : "-";
}

std::string csv_seconds(const json& value) {
  return value.is_number() ? fmt::format("{:.3f}", value.get<double>()) : "";
}

} // namespace

std::optional<StatsPeriod> parse_stats_period(std::string_view word) {
  if (word == "day") {
    return StatsPeriod::day;
  }
  if (word == "week") {
    return StatsPeriod::week;
  }
  if (word == "month") {
    return StatsPeriod::month;
  }
  return std::nullopt;
}

std::int64_t next_local_midnight(std::int64_t local_ms) {
  auto tm = local_tm(local_ms);
  tm.tm_mday += 1;
  return from_local(tm);
}

std::int64_t local_month_start(std::int64_t local_ms) {
  auto tm = local_tm(local_ms);
  tm.tm_mday = 1;
  return from_local(tm);
}

std::vector<std::int64_t> period_boundaries(const StatsQuery& query) {
  std::vector<std::int64_t> bounds{query.since_ms};
  auto at = query.since_ms;
  while (at < query.until_ms) {
    auto tm = local_tm(at);
    switch (query.by) {
    case StatsPeriod::day:
      tm.tm_mday += 1;
      break;
    case StatsPeriod::week:
      // ISO weeks start on Monday (tm_wday 1).
      tm.tm_mday += tm.tm_wday == 1 ? 7 : (8 - tm.tm_wday) % 7;
      break;
    case StatsPeriod::month:
      tm.tm_mday = 1;
      tm.tm_mon += 1;
      break;
    }
    const auto next = from_local(tm);
    at = next > at ? next : at + 24 * 3600 * 1000; // a clock that stands still never loops
    bounds.push_back(std::min(at, query.until_ms));
  }
  if (bounds.size() == 1) {
    bounds.push_back(query.until_ms);
  }
  return bounds;
}

json local_time_zone(std::int64_t at_ms) {
  const auto tm = local_tm(at_ms);
  return json{{"name", zone_name()},
              {"abbreviation", tm.tm_zone != nullptr ? tm.tm_zone : ""},
              {"utc_offset", format_offset(tm.tm_gmtoff)}};
}

json compute_stats(store::Connection& db, const StatsQuery& query) {
  const auto bounds = period_boundaries(query);
  const auto periods = bounds.size() - 1;
  std::vector<Counts> by_period(periods);
  Counts total;
  std::map<std::string, std::int64_t> statuses;
  const auto period_of = [&bounds](std::int64_t at) {
    const auto it = std::upper_bound(bounds.begin(), bounds.end(), at);
    return static_cast<std::size_t>(it - bounds.begin()) - 1;
  };

  // Every state named, so that the range on received_at runs on the
  // reports_state index (state, received_at), one seek per state, without
  // reading the reports outside the period.
  std::string states;
  for (const auto state : store::k_report_states) {
    states += fmt::format("{}'{}'", states.empty() ? "" : ", ", store::name(state));
  }
  auto stmt = db.prepare_uncached(fmt::format(
      "SELECT r.received_at, r.state, r.status, r.tracking_id IS NOT NULL, "
      // The accepted attempt is in the job's row; before schema 10 it was
      // in upstream_attempts. Not through upstream_attempt_log: SQLite does
      // not push a correlated term into a view's UNION.
      " CASE WHEN r.tracking_id IS NOT NULL THEN coalesce("
      "  (SELECT j.delivered_at FROM upstream_jobs j WHERE j.report_id = r.id), "
      "  (SELECT min(a.finished_at) FROM upstream_attempts a WHERE a.report_id = r.id AND "
      "   a.outcome = 'delivered')) END, "
      " (SELECT count(*) FROM outbound o WHERE o.report_id = r.id AND o.state = 'delivered'), "
      " (SELECT count(*) FROM outbound o WHERE o.report_id = r.id AND o.state = 'undeliverable') "
      "FROM reports r WHERE r.state IN ({}) AND r.received_at >= ?1 AND r.received_at < ?2",
      states));
  stmt->bind(1, query.since_ms).bind(2, query.until_ms);
  while (stmt->step()) {
    const auto received_at = stmt->column_int(0);
    auto& p = by_period[period_of(received_at)];
    const auto state = stmt->column_text(1);
    const bool tracked = stmt->column_int(3) != 0;
    for (auto* c : {&p, &total}) {
      ++c->received;
      c->forwarded += tracked ? 1 : 0;
      c->failed += state == "failed" ? 1 : 0;
      c->closed += state == "closed" ? 1 : 0;
      c->held += state == "held" ? 1 : 0;
      c->waiting += state == "received" || state == "forwarding" ? 1 : 0;
      c->replies_delivered += stmt->column_int(5);
      c->replies_undeliverable += stmt->column_int(6);
    }
    if (const auto delivered_at = stmt->column_optional_int(4)) {
      const auto took = std::max<std::int64_t>(0, *delivered_at - received_at);
      p.to_tracking_ms.push_back(took);
      total.to_tracking_ms.push_back(took);
    }
    if (const auto status = stmt->column_optional_text(2)) {
      ++statuses[*status];
    }
  }
  stmt.reset();

  // Replies no report owns (INFO, CEK, ...), by when they were written. A
  // reply's updated_at is never before its created_at: the range on it lets
  // the partial index outbound_stray (updated_at) WHERE report_id IS NULL
  // serve the query.
  auto strays = db.prepare_uncached(
      "SELECT created_at, state FROM outbound WHERE report_id IS NULL AND updated_at >= ?1 "
      "AND created_at >= ?1 AND created_at < ?2 AND state IN ('delivered', 'undeliverable')");
  strays->bind(1, query.since_ms).bind(2, query.until_ms);
  while (strays->step()) {
    auto& p = by_period[period_of(strays->column_int(0))];
    const bool delivered = strays->column_text(1) == "delivered";
    for (auto* c : {&p, &total}) {
      (delivered ? c->replies_delivered : c->replies_undeliverable) += 1;
    }
  }
  strays.reset();

  std::vector<std::pair<std::string, std::int64_t>> ranked(statuses.begin(), statuses.end());
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  json top = json::array();
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    top.push_back({{"status", ranked[i].first}, {"count", ranked[i].second}});
  }

  json period_list = json::array();
  for (std::size_t i = 0; i < periods; ++i) {
    auto& c = by_period[i];
    auto row = counts_json(c);
    row["start"] = local_date(bounds[i]);
    row["end"] = local_date(bounds[i + 1]);
    row["label"] = period_label(bounds[i], query.by);
    row["time_to_tracking_s"] = timing_json(c);
    row["replies"] = {{"delivered", c.replies_delivered},
                      {"undeliverable", c.replies_undeliverable}};
    period_list.push_back(std::move(row));
  }
  return json{
      {"since", local_rfc3339(query.since_ms)},
      {"until", local_rfc3339(query.until_ms)},
      {"by", period_word(query.by)},
      {"time_zone", local_time_zone(query.since_ms)},
      {"totals", counts_json(total)},
      {"time_to_tracking_s", timing_json(total)},
      {"replies",
       {{"delivered", total.replies_delivered}, {"undeliverable", total.replies_undeliverable}}},
      {"top_statuses", top},
      {"periods", period_list}};
}

std::string render_stats_csv(const json& stats) {
  std::string out = "period,start,end,received,forwarded,failed,closed,held,waiting,"
                    "time_to_tracking_p50_s,time_to_tracking_p90_s,replies_delivered,"
                    "replies_undeliverable,time_zone\n";
  const auto zone = stats["time_zone"];
  const auto zone_text = fmt::format("{} {}", zone.value("name", ""), zone.value("utc_offset", ""));
  // Labels and dates are digits and dashes; a zone name has no comma or quote
  // in the tz database, but is quoted all the same.
  const auto quoted = [](const std::string& s) {
    std::string q = "\"";
    for (const char c : s) {
      q += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return q + "\"";
  };
  const auto row = [&](const std::string& label, const std::string& start, const std::string& end,
                       const json& counts, const json& timing, const json& replies) {
    return fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", label, start, end,
        counts.value("received", 0), counts.value("forwarded", 0), counts.value("failed", 0),
        counts.value("closed", 0), counts.value("held", 0), counts.value("waiting", 0),
        csv_seconds(timing["p50"]), csv_seconds(timing["p90"]), replies.value("delivered", 0),
        replies.value("undeliverable", 0), quoted(zone_text));
  };
  for (const auto& p : stats["periods"]) {
    out += row(p.value("label", ""), p.value("start", ""), p.value("end", ""), p,
               p["time_to_tracking_s"], p["replies"]);
  }
  const auto& periods = stats["periods"];
  const auto first = periods.empty() ? std::string() : periods.front().value("start", "");
  const auto last = periods.empty() ? std::string() : periods.back().value("end", "");
  out += row("total", first, last, stats["totals"], stats["time_to_tracking_s"], stats["replies"]);
  return out;
}

std::string render_stats_text(const json& stats) {
  constexpr int k_width = k_terminal_columns;
  std::string out;
  const auto& zone = stats["time_zone"];
  const auto& periods = stats["periods"];
  const auto first = periods.empty() ? std::string() : periods.front().value("start", "");
  // The last day counted: the day before the exclusive end.
  const auto last_day = [&] {
    if (periods.empty()) {
      return std::string();
    }
    std::tm tm{};
    const auto end = periods.back().value("end", "");
    if (strptime(end.c_str(), "%Y-%m-%d", &tm) == nullptr) {
      return end;
    }
    tm.tm_mday -= 1;
    tm.tm_isdst = -1;
    std::mktime(&tm);
    return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  }();
  out += wrap_block(fmt::format("Reports {} to {}, by {}; times in {} ({}, UTC{})", first, last_day,
                                stats.value("by", "day"), zone.value("name", ""),
                                zone.value("abbreviation", ""), zone.value("utc_offset", "")),
                    "", 0, k_width);
  const auto& t = stats["totals"];
  out +=
      wrap_block(fmt::format("received {}, forwarded {}, failed {}, closed {}, held {}, "
                             "waiting {}",
                             t.value("received", 0), t.value("forwarded", 0), t.value("failed", 0),
                             t.value("closed", 0), t.value("held", 0), t.value("waiting", 0)),
                 "  ", 2, k_width);
  const auto& timing = stats["time_to_tracking_s"];
  out += wrap_block(fmt::format("SMS to tracking id: median {}, p90 {} ({} reports)",
                                seconds_text(timing["p50"]), seconds_text(timing["p90"]),
                                timing.value("count", 0)),
                    "  ", 2, k_width);
  const auto& replies = stats["replies"];
  out += wrap_block(fmt::format("replies delivered {}, undeliverable {}",
                                replies.value("delivered", 0), replies.value("undeliverable", 0)),
                    "  ", 2, k_width);
  const auto& top = stats["top_statuses"];
  if (!top.empty()) {
    out += "\n";
    Table statuses;
    statuses.add_column("TOP STATUS", 10);
    statuses.add_column("REPORTS", 7, true);
    for (const auto& s : top) {
      statuses.add_row({s.value("status", ""), number(s["count"])});
    }
    out += statuses.render(k_width);
  }
  out += "\n";
  Table table;
  table.add_column("PERIOD", 8);
  table.add_column("RECEIVED", 8, true);
  table.add_column("FORWARDED", 9, true);
  table.add_column("FAILED", 6, true);
  table.add_column("CLOSED", 6, true);
  table.add_column("HELD", 4, true);
  table.add_column("WAITING", 7, true);
  table.add_column("P50", 6, true);
  table.add_column("P90", 6, true);
  for (const auto& p : periods) {
    table.add_row({p.value("label", ""), number(p["received"]), number(p["forwarded"]),
                   number(p["failed"]), number(p["closed"]), number(p["held"]),
                   number(p["waiting"]), cell_seconds(p["time_to_tracking_s"]["p50"]),
                   cell_seconds(p["time_to_tracking_s"]["p90"])});
  }
  out += table.render(k_width);
  return out;
}

} // namespace laporsms::cli

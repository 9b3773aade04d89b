#include <laporsms/cli/queries.hpp>
#include <laporsms/store/operator.hpp>
#include <laporsms/util/clock.hpp>

#include <algorithm>
#include <ctime>

namespace laporsms::cli {
namespace {

using nlohmann::json;

json optional_text(const store::Statement& stmt, int column) {
  const auto value = stmt.column_optional_text(column);
  return value ? json(*value) : json(nullptr);
}

std::string rfc3339(std::int64_t ms) {
  return util::format_rfc3339(ms, util::local_utc_offset_minutes(ms));
}

std::int64_t local_midnight(std::int64_t now_ms) {
  const std::time_t secs = static_cast<std::time_t>(now_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

constexpr const char* k_report_columns =
    "SELECT id, ref, tracking_id, msisdn, state, status, text, received_at, link FROM reports ";

json report_row(const store::Statement& stmt) {
  return json{{"ref", stmt.column_text(1)},
              {"tracking_id", optional_text(stmt, 2)},
              {"msisdn", stmt.column_text(3)},
              {"state", stmt.column_text(4)},
              {"status", optional_text(stmt, 5)},
              {"text", stmt.column_text(6)},
              {"received_at", rfc3339(stmt.column_int(7))},
              {"link", stmt.column_text(8)}};
}

} // namespace

json queue_depths(store::Connection& db, std::int64_t now_ms) {
  const auto count = [&db](const std::string& sql, std::optional<std::int64_t> arg) {
    auto stmt = db.prepare_uncached(sql);
    if (arg) {
      stmt->bind(1, *arg);
    }
    return stmt->step() ? stmt->column_int(0) : 0;
  };
  const auto oldest = [&db] {
    auto stmt = db.prepare_uncached(
        "SELECT min(received_at) FROM reports WHERE state IN ('received', 'forwarding')");
    return stmt->step() ? stmt->column_optional_int(0) : std::nullopt;
  }();
  return json{
      {"upstream_pending",
       count("SELECT count(*) FROM upstream_jobs WHERE state IN ('pending', 'inflight')", {})},
      {"upstream_failed", count("SELECT count(*) FROM reports WHERE state = 'failed'", {})},
      {"outbound_pending", count("SELECT count(*) FROM outbound WHERE state = 'queued'", {})},
      {"oldest_unforwarded_age_s",
       oldest ? std::max<std::int64_t>(0, (now_ms - *oldest) / 1000) : 0},
      {"inbound_today",
       count("SELECT count(*) FROM inbound WHERE received_at >= ?", local_midnight(now_ms))},
      {"held", count("SELECT count(*) FROM reports WHERE state = 'held'", {})},
      {"replies_unknown", count("SELECT count(*) FROM outbound WHERE state = 'unknown'", {})}};
}

json list_reports(store::Connection& db, const ReportFilter& filter) {
  std::string sql = k_report_columns;
  sql += "WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR received_at >= ?2) "
         "ORDER BY id DESC LIMIT ?3";
  auto stmt = db.prepare_uncached(sql);
  stmt->bind(1, filter.state).bind(2, filter.since_ms).bind(3, filter.limit);
  json out = json::array();
  while (stmt->step()) {
    out.push_back(report_row(*stmt));
  }
  return out;
}

json report_detail(store::Connection& db, const std::string& ref_or_tracking_id) {
  // The same lookup the daemon's retry and resend use.
  const auto found = store::find_report(db, ref_or_tracking_id);
  if (!found) {
    return nullptr;
  }
  const auto id = *found;
  auto stmt = db.prepare_uncached(std::string(k_report_columns) + "WHERE id = ?");
  stmt->bind(1, id);
  if (!stmt->step()) {
    return nullptr;
  }
  json report = report_row(*stmt);

  json inbound = json::array();
  auto in = db.prepare_uncached("SELECT received_at, link, source_addr, data_coding, text "
                                "FROM inbound WHERE report_id = ? ORDER BY id");
  in->bind(1, id);
  while (in->step()) {
    inbound.push_back({{"at", rfc3339(in->column_int(0))},
                       {"link", in->column_text(1)},
                       {"source_addr", in->column_text(2)},
                       {"data_coding", in->column_int(3)},
                       {"text", in->column_text(4)}});
  }
  json attempts = json::array();
  auto at =
      db.prepare_uncached("SELECT started_at, finished_at, outcome, error "
                          "FROM upstream_attempt_log WHERE report_id = ? ORDER BY finished_at");
  at->bind(1, id);
  while (at->step()) {
    attempts.push_back({{"started_at", rfc3339(at->column_int(0))},
                        {"finished_at", rfc3339(at->column_int(1))},
                        {"outcome", at->column_text(2)},
                        {"error", optional_text(*at, 3)}});
  }
  json history = json::array();
  auto hs = db.prepare_uncached(
      "SELECT at, status, note FROM status_history WHERE report_id = ? ORDER BY id");
  hs->bind(1, id);
  while (hs->step()) {
    history.push_back({{"at", rfc3339(hs->column_int(0))},
                       {"status", hs->column_text(1)},
                       {"note", optional_text(*hs, 2)}});
  }
  json replies = json::array();
  auto rp = db.prepare_uncached("SELECT kind, state, text, created_at, updated_at, last_error "
                                "FROM outbound WHERE report_id = ? ORDER BY id");
  rp->bind(1, id);
  while (rp->step()) {
    replies.push_back({{"kind", rp->column_text(0)},
                       {"state", rp->column_text(1)},
                       {"text", rp->column_text(2)},
                       {"at", rfc3339(rp->column_int(3))},
                       {"updated_at", rfc3339(rp->column_int(4))},
                       {"last_error", optional_text(*rp, 5)}});
  }
  json job = nullptr;
  auto jb = db.prepare_uncached("SELECT state, attempts, next_attempt_at, last_error "
                                "FROM upstream_jobs WHERE report_id = ?");
  jb->bind(1, id);
  if (jb->step()) {
    job = {{"state", jb->column_text(0)},
           {"attempts", jb->column_int(1)},
           {"next_attempt_at", rfc3339(jb->column_int(2))},
           {"last_error", optional_text(*jb, 3)}};
  }
  report["inbound"] = inbound;
  report["attempts"] = attempts;
  report["status_history"] = history;
  report["replies"] = replies;
  report["upstream_job"] = job;
  return report;
}

json list_messages(store::Connection& db, const std::string& direction, int limit) {
  // Inbound and outbound side by side, newest first.
  auto stmt = db.prepare_uncached(
      "SELECT * FROM ("
      " SELECT 'in' AS direction, msisdn, link, text, 'stored' AS state, received_at AS at, id, "
      " NULL AS error FROM inbound WHERE ?1 IN ('', 'in') "
      " UNION ALL "
      " SELECT 'out', msisdn, link, text, state, created_at, id, last_error FROM outbound "
      " WHERE ?1 IN ('', 'out')) ORDER BY at DESC, id DESC LIMIT ?2");
  stmt->bind(1, direction).bind(2, limit);
  json out = json::array();
  while (stmt->step()) {
    out.push_back(
        {{"direction", stmt->column_text(0)},
         {"msisdn", stmt->column_text(1)},
         {"link", stmt->column_text(2)},
         {"text", stmt->column_text(3)},
         {"state", stmt->column_text(4)},
         {"at", rfc3339(stmt->column_int(5))},
         // Why a reply is unknown, expired or undeliverable (null otherwise).
         {"error", stmt->column_is_null(7) ? json(nullptr) : json(stmt->column_text(7))}});
  }
  return out;
}

} // namespace laporsms::cli

#include <laporsms/store/intake.hpp>
#include <laporsms/store/operator.hpp>
#include <laporsms/store/states.hpp>

#include <algorithm>
#include <cctype>

namespace laporsms::store {

std::optional<std::int64_t> find_report(Connection& db, std::string_view ref_or_tracking_id) {
  std::string key(ref_or_tracking_id);
  if (!key.empty() && key.front() == '#') {
    key.erase(0, 1);
  }
  std::string upper = key;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  // The newest report that has it as its ref or its tracking id.
  auto id = find_report_by_ref(db, upper);
  auto& stmt = db.prepare("SELECT id FROM reports WHERE tracking_id = ? ORDER BY id DESC LIMIT 1");
  stmt.bind(1, key);
  if (stmt.step()) {
    id = std::max(id.value_or(0), stmt.column_int(0));
  }
  stmt.reset();
  return id;
}

bool retry_report(Connection& db, std::int64_t report_id, std::int64_t now) {
  auto& state = db.prepare("SELECT state FROM reports WHERE id = ?");
  state.bind(1, report_id);
  if (!state.step()) {
    state.reset();
    return false;
  }
  const auto current = report_state_named(state.column_text(0));
  state.reset();
  if (current && api_has_it(*current)) {
    return false;
  }
  auto& job = db.prepare(
      "INSERT INTO upstream_jobs (report_id, state, next_attempt_at, created_at, updated_at) "
      "VALUES (?1, 'pending', ?2, ?2, ?2) ON CONFLICT(report_id) DO UPDATE SET "
      "state = 'pending', next_attempt_at = ?2, created_at = ?2, updated_at = ?2, "
      "last_error = NULL WHERE state != 'inflight'");
  job.bind(1, report_id).bind(2, now);
  job.run();
  auto& report = db.prepare("UPDATE reports SET state = 'received', updated_at = ? "
                            "WHERE id = ? AND state IN ('failed', 'held')");
  report.bind(1, now).bind(2, report_id);
  report.run();
  return true;
}

int retry_failed_reports(Connection& db, std::int64_t now) {
  std::vector<std::int64_t> ids;
  auto& stmt = db.prepare("SELECT id FROM reports WHERE state = 'failed' ORDER BY id");
  while (stmt.step()) {
    ids.push_back(stmt.column_int(0));
  }
  stmt.reset();
  int count = 0;
  for (const auto id : ids) {
    count += retry_report(db, id, now) ? 1 : 0;
  }
  return count;
}

std::optional<std::int64_t> resend_last_reply(Connection& db, std::int64_t report_id,
                                              std::int64_t now) {
  auto& stmt = db.prepare("SELECT kind, link, msisdn, text, id FROM outbound WHERE report_id = ? "
                          "ORDER BY id DESC LIMIT 1");
  stmt.bind(1, report_id);
  if (!stmt.step()) {
    stmt.reset();
    return std::nullopt;
  }
  const auto kind = stmt.column_text(0);
  const auto link = stmt.column_text(1);
  const auto msisdn = stmt.column_text(2);
  const auto text = stmt.column_text(3);
  const auto original = stmt.column_int(4);
  stmt.reset();
  // The operator's copy replaces any automatic resend of the original.
  auto& settle = db.prepare(
      "UPDATE outbound SET resends = 1 WHERE id = ? AND state = 'unknown' AND resends = 0");
  settle.bind(1, original);
  settle.run();
  return queue_reply(db, report_id, kind, link, msisdn, text, now);
}

} // namespace laporsms::store

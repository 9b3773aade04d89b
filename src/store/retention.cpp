#include <laporsms/store/retention.hpp>

#include <string>
#include <vector>

namespace laporsms::store {
namespace {

constexpr std::int64_t k_day_ms = 24LL * 3600 * 1000;

std::vector<std::int64_t> ids(Connection& db, std::string_view sql, std::int64_t before,
                              int limit) {
  auto& stmt = db.prepare(sql);
  stmt.bind(1, before).bind(2, limit);
  std::vector<std::int64_t> out;
  while (stmt.step()) {
    out.push_back(stmt.column_int(0));
  }
  stmt.reset();
  return out;
}

void run_for_each(Connection& db, std::string_view sql, const std::vector<std::int64_t>& keys) {
  auto& stmt = db.prepare(sql);
  for (const auto key : keys) {
    stmt.bind(1, key);
    stmt.run();
    stmt.reset();
  }
}

} // namespace

RetentionResult prune_once(Connection& db, std::int64_t now, const RetentionPolicy& policy) {
  RetentionResult result;
  if (policy.retention_ms > 0) {
    const auto before = now - policy.retention_ms;
    // Replies that reached a final state and are not tied to a report
    // (help, empty_report...), or whose report is gone.
    const auto replies = ids(db,
                             "SELECT id FROM outbound WHERE updated_at < ? AND state IN "
                             "('delivered', 'expired', 'undeliverable') AND report_id IS NULL "
                             "LIMIT ?",
                             before, policy.batch);
    run_for_each(db, "DELETE FROM outbound_parts WHERE outbound_id = ?", replies);
    run_for_each(db, "DELETE FROM outbound WHERE id = ?", replies);
    result.replies_pruned = static_cast<int>(replies.size());

    const auto reports = ids(db,
                             "SELECT id FROM reports WHERE state = 'closed' AND updated_at < ? "
                             "LIMIT ?",
                             before, policy.batch);
    run_for_each(db,
                 "DELETE FROM outbound_parts WHERE outbound_id IN "
                 "(SELECT id FROM outbound WHERE report_id = ?)",
                 reports);
    for (const auto* table : {"outbound", "upstream_attempts", "status_history", "upstream_jobs"}) {
      run_for_each(db, std::string("DELETE FROM ") + table + " WHERE report_id = ?", reports);
    }
    run_for_each(db,
                 "DELETE FROM inbound_parts WHERE inbound_id IN "
                 "(SELECT id FROM inbound WHERE report_id = ?)",
                 reports);
    run_for_each(db, "DELETE FROM inbound WHERE report_id = ?", reports);
    run_for_each(db, "DELETE FROM reports WHERE id = ?", reports);
    result.reports_pruned = static_cast<int>(reports.size());

    // Inbound SMS that never became a report (INFO, CEK, stray texts).
    const auto stray = ids(db,
                           "SELECT id FROM inbound WHERE report_id IS NULL AND received_at < ? "
                           "AND id NOT IN (SELECT inbound_id FROM inbound_parts) LIMIT ?",
                           before, policy.batch);
    run_for_each(db, "DELETE FROM inbound WHERE id = ?", stray);
    result.replies_pruned += static_cast<int>(stray.size());
  }
  // Scraps: parts joined long ago, receipts for ids we never stored.
  const auto day_ago = now - k_day_ms;
  auto& parts = db.prepare("DELETE FROM inbound_parts WHERE rowid IN (SELECT rowid FROM "
                           "inbound_parts WHERE joined_at IS NOT NULL AND joined_at < ? LIMIT ?)");
  parts.bind(1, day_ago).bind(2, policy.batch);
  parts.run();
  result.scraps_pruned += db.changes();
  auto& receipts = db.prepare("DELETE FROM early_receipts WHERE rowid IN (SELECT rowid "
                              "FROM early_receipts WHERE received_at < ? LIMIT ?)");
  receipts.bind(1, day_ago).bind(2, policy.batch);
  receipts.run();
  result.scraps_pruned += db.changes();

  if (policy.blank_text_after_ms > 0) {
    // Privacy: the words go, the audit trail (who, when, which states) stays.
    const auto blank = ids(db,
                           "SELECT id FROM reports WHERE state = 'closed' AND updated_at < ? "
                           "AND text != '' LIMIT ?",
                           now - policy.blank_text_after_ms, policy.batch);
    run_for_each(db, "UPDATE reports SET text = '' WHERE id = ?", blank);
    run_for_each(db, "UPDATE inbound SET text = '', raw = x'' WHERE report_id = ?", blank);
    run_for_each(db,
                 "UPDATE inbound_parts SET body = x'' WHERE inbound_id IN "
                 "(SELECT id FROM inbound WHERE report_id = ?)",
                 blank);
    result.reports_blanked = static_cast<int>(blank.size());
  }
  return result;
}

} // namespace laporsms::store

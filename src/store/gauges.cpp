#include <laporsms/store/gauges.hpp>
#include <laporsms/store/states.hpp>

namespace laporsms::store {

GaugeSample sample_gauges(Connection& db) {
  GaugeSample sample;
  for (const auto state : k_report_states) {
    sample.reports_by_state[std::string(name(state))] = 0;
  }
  // One read transaction: the three figures agree with each other.
  db.exec("BEGIN");
  try {
    auto& reports = db.prepare("SELECT state, count(*) FROM reports "
                               "GROUP BY state");
    while (reports.step()) {
      sample.reports_by_state[reports.column_text(0)] = reports.column_int(1);
    }
    reports.reset();
    // Only what waits: the outbound table keeps no index by state for the
    // rest; its partial indexes hold the queued and the unknown alone, and
    // the planner uses them only for a literal state, not a bound one.
    auto& queued = db.prepare("SELECT count(*) FROM outbound WHERE state = 'queued'");
    sample.replies_waiting["queued"] = queued.step() ? queued.column_int(0) : 0;
    queued.reset();
    auto& unknown = db.prepare("SELECT count(*) FROM outbound WHERE state = 'unknown'");
    sample.replies_waiting["unknown"] = unknown.step() ? unknown.column_int(0) : 0;
    unknown.reset();
    auto& oldest = db.prepare(
        "SELECT min(received_at) FROM reports WHERE state IN ('received', 'forwarding')");
    if (oldest.step()) {
      sample.oldest_unforwarded_ms = oldest.column_optional_int(0);
    }
    oldest.reset();
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
  db.exec("COMMIT");
  return sample;
}

} // namespace laporsms::store

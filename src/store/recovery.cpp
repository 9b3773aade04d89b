#include <laporsms/store/recovery.hpp>

namespace laporsms::store {

RecoveryReport recover_on_startup(Connection& db, std::int64_t now) {
  RecoveryReport report;
  auto& jobs = db.prepare("UPDATE upstream_jobs SET state = 'pending', next_attempt_at = ?, "
                          "updated_at = ? WHERE state = 'inflight'");
  jobs.bind(1, now).bind(2, now);
  jobs.run();
  report.jobs_requeued = db.changes();
  auto& reports = db.prepare("UPDATE reports SET state = 'received', updated_at = ? "
                             "WHERE state = 'forwarding'");
  reports.bind(1, now);
  reports.run();
  // Which parts of a long reply the SMSC accepted died with the process: a
  // resend could duplicate them, so those are left to an operator.
  auto& replies = db.prepare("UPDATE outbound SET state = 'unknown', updated_at = ?, "
                             "last_error = 'daemon stopped before the SMSC answered', "
                             "resends = CASE WHEN parts > 1 THEN 1 ELSE resends END "
                             "WHERE state = 'queued' AND submit_started_at IS NOT NULL");
  replies.bind(1, now);
  replies.run();
  report.replies_unknown = db.changes();
  // Claimed by the outbox but never started: nothing left us, so they go
  // back to the queue.
  auto& unclaim = db.prepare("UPDATE outbound SET claimed_at = NULL WHERE state = 'queued' AND "
                             "claimed_at IS NOT NULL AND submit_started_at IS NULL");
  unclaim.run();
  report.replies_requeued = db.changes();
  return report;
}

} // namespace laporsms::store

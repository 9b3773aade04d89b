#include <laporsms/sms/template.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/states.hpp>
#include <laporsms/store/upstream.hpp>

#include <map>

namespace laporsms::store {
namespace {

void set_report_state(Connection& db, std::int64_t report_id, ReportState state, std::int64_t now) {
  auto& stmt = db.prepare("UPDATE reports SET state = ?, updated_at = ? WHERE id = ?");
  stmt.bind(1, name(state)).bind(2, now).bind(3, report_id);
  stmt.run();
}

// The job and its report move together (report_state_for).
void set_job(Connection& db, std::int64_t report_id, JobState state, std::int64_t next_attempt_at,
             std::string_view error, std::int64_t now) {
  auto& stmt = db.prepare("UPDATE upstream_jobs SET state = ?, next_attempt_at = ?, "
                          "last_error = ?, updated_at = ? WHERE report_id = ?");
  stmt.bind(1, name(state)).bind(2, next_attempt_at).bind(4, now).bind(5, report_id);
  if (error.empty()) {
    stmt.bind_null(3);
  } else {
    stmt.bind(3, error);
  }
  stmt.run();
}

// An attempt the API did not accept; the accepted one is kept in its job's
// row (upstream_attempt_log reads both).
void record_failed_attempt(Connection& db, std::int64_t report_id, const UpstreamOutcome& outcome) {
  auto& attempt = db.prepare("INSERT INTO upstream_attempts "
                             "(report_id, started_at, finished_at, outcome, error) "
                             "VALUES (?,?,?,?,?)");
  attempt.bind(1, report_id)
      .bind(2, outcome.started_at)
      .bind(3, outcome.finished_at)
      .bind(4, name(outcome.kind));
  if (outcome.error.empty()) {
    attempt.bind_null(5);
  } else {
    attempt.bind(5, outcome.error);
  }
  attempt.run();
}

// Pending jobs by `where` (parameters ?1 and, as the limit, ?2), oldest
// report first, with `attempts` counting the one about to be made.
std::vector<UpstreamJob> select_pending_jobs(Statement& select, std::int64_t bound,
                                             std::size_t limit) {
  std::vector<UpstreamJob> jobs;
  select.bind(1, bound).bind(2, static_cast<std::int64_t>(limit));
  while (select.step()) {
    UpstreamJob job;
    job.report_id = select.column_int(0);
    job.ref = select.column_text(1);
    job.msisdn = select.column_text(2);
    job.link = select.column_text(3);
    job.text = select.column_text(4);
    job.rahasia = select.column_int(5) != 0;
    job.anonim = select.column_int(6) != 0;
    job.received_at = select.column_int(7);
    job.created_at = select.column_int(8);
    job.attempts = static_cast<int>(select.column_int(9)) + 1;
    jobs.push_back(std::move(job));
  }
  select.reset();
  return jobs;
}

constexpr std::string_view k_pending_job_columns =
    "SELECT r.id, r.ref, r.msisdn, r.link, r.text, r.rahasia, r.anonim, r.received_at, "
    "j.created_at, j.attempts FROM upstream_jobs j INDEXED BY upstream_pending "
    "JOIN reports r ON r.id = j.report_id WHERE j.state = 'pending' ";

} // namespace

std::vector<UpstreamJob> claim_due_jobs(Connection& db, std::int64_t now, std::size_t limit) {
  auto& select = db.prepare(std::string(k_pending_job_columns) +
                            "AND j.next_attempt_at <= ?1 ORDER BY j.report_id LIMIT ?2");
  auto jobs = select_pending_jobs(select, now, limit);
  auto& mark = db.prepare("UPDATE upstream_jobs SET state = 'inflight', attempts = attempts + 1, "
                          "updated_at = ? WHERE report_id = ?");
  for (const auto& job : jobs) {
    mark.bind(1, now).bind(2, job.report_id);
    mark.run();
    mark.reset();
    set_report_state(db, job.report_id, report_state_for(JobState::inflight), now);
  }
  return jobs;
}

int unclaim_jobs(Connection& db, const std::vector<UpstreamJob>& jobs, std::int64_t now) {
  auto& unmark = db.prepare("UPDATE upstream_jobs SET state = 'pending', attempts = attempts - 1, "
                            "updated_at = ? WHERE report_id = ? AND state = 'inflight'");
  int undone = 0;
  for (const auto& job : jobs) {
    unmark.bind(1, now).bind(2, job.report_id);
    unmark.run();
    unmark.reset();
    if (db.changes() > 0) {
      ++undone;
      set_report_state(db, job.report_id, report_state_for(JobState::pending), now);
    }
  }
  return undone;
}

int make_pending_due(Connection& db, std::int64_t now) {
  auto& stmt = db.prepare("UPDATE upstream_jobs SET next_attempt_at = ? WHERE state = 'pending' "
                          "AND next_attempt_at > ?");
  stmt.bind(1, now).bind(2, now);
  stmt.run();
  return db.changes();
}

std::optional<std::int64_t> next_due_at(Connection& db) {
  auto& stmt = db.prepare("SELECT min(next_attempt_at) FROM upstream_jobs WHERE state = 'pending'");
  std::optional<std::int64_t> due;
  if (stmt.step()) {
    due = stmt.column_optional_int(0);
  }
  stmt.reset();
  return due;
}

std::optional<OutboundItem> record_upstream_outcome(Connection& db, const UpstreamJob& job,
                                                    const UpstreamOutcome& outcome,
                                                    const ReplyTemplates& replies, ReplyRoom room) {
  const std::int64_t now = outcome.finished_at;
  if (outcome.kind != UpstreamOutcomeKind::delivered) {
    record_failed_attempt(db, job.report_id, outcome);
  }

  using Values = std::map<std::string, std::string, std::less<>>;
  // The citizen's reply, handed to the outbox (unless the report is silent).
  const auto reply = [&](std::string_view kind, std::string text) -> std::optional<OutboundItem> {
    const auto id =
        queue_report_reply(db, job.report_id, kind, job.link, job.msisdn, text, now, room);
    if (!id || room == ReplyRoom::none) {
      return std::nullopt;
    }
    return OutboundItem{
        *id, job.link, job.msisdn, std::move(text), now, room == ReplyRoom::started};
  };
  switch (outcome.kind) {
  case UpstreamOutcomeKind::delivered: {
    auto& report = db.prepare("UPDATE reports SET state = 'forwarded', tracking_id = ?, "
                              "transaction_id = ?, updated_at = ? WHERE id = ?");
    report.bind(1, outcome.tracking_id).bind(3, now).bind(4, job.report_id);
    if (outcome.transaction_id.empty()) {
      report.bind_null(2);
    } else {
      report.bind(2, outcome.transaction_id);
    }
    report.run();
    auto& done = db.prepare("UPDATE upstream_jobs SET state = ?, next_attempt_at = ?, "
                            "last_error = NULL, updated_at = ?, delivered_started_at = ?, "
                            "delivered_at = ? WHERE report_id = ?");
    done.bind(1, name(JobState::done))
        .bind(2, now)
        .bind(3, now)
        .bind(4, outcome.started_at)
        .bind(5, outcome.finished_at)
        .bind(6, job.report_id);
    done.run();
    return reply("forwarded", sms::render_template(
                                  replies.forwarded,
                                  Values{{"ref", job.ref}, {"tracking_id", outcome.tracking_id}}));
  }
  case UpstreamOutcomeKind::temporary:
  case UpstreamOutcomeKind::auth_error:
    set_job(db, job.report_id, JobState::pending, outcome.next_attempt_at, outcome.error, now);
    set_report_state(db, job.report_id, report_state_for(JobState::pending), now);
    break;
  case UpstreamOutcomeKind::rejected:
  case UpstreamOutcomeKind::gave_up:
    set_job(db, job.report_id, JobState::failed, now, outcome.error, now);
    set_report_state(db, job.report_id, report_state_for(JobState::failed), now);
    return reply("failed", sms::render_template(replies.failed, Values{{"ref", job.ref}}));
  }
  return std::nullopt;
}

std::vector<UpstreamJob> give_up_overdue_jobs(Connection& db, std::int64_t created_before,
                                              std::int64_t now, std::string_view error,
                                              const ReplyTemplates& replies, std::size_t limit) {
  auto& select = db.prepare(std::string(k_pending_job_columns) +
                            "AND j.created_at < ?1 AND j.report_id > (SELECT min(report_id) FROM "
                            "upstream_jobs INDEXED BY upstream_pending WHERE state = 'pending') "
                            "ORDER BY j.report_id LIMIT ?2");
  auto jobs = select_pending_jobs(select, created_before, limit);
  UpstreamOutcome outcome;
  outcome.kind = UpstreamOutcomeKind::gave_up;
  outcome.started_at = now;
  outcome.finished_at = now;
  outcome.error = std::string(error);
  for (const auto& job : jobs) {
    record_upstream_outcome(db, job, outcome, replies);
  }
  return jobs;
}

} // namespace laporsms::store

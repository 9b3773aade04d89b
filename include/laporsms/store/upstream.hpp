// The upstream job queue: which reports are due to be forwarded, and the
// record of each attempt. Every outcome is written before anything acts on it.
#pragma once

#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace laporsms::store {

// Claims up to `limit` pending jobs due at `now`, oldest first: each becomes
// inflight with one more attempt counted, and its report `forwarding`.
std::vector<UpstreamJob> claim_due_jobs(Connection& db, std::int64_t now, std::size_t limit);

// Undoes the claim of `jobs` whose attempt never started (the forwarder
// claimed them ahead of a free slot, then the circuit opened or it stopped):
// pending again, due as they were, the attempt the claim counted taken back,
// each report `received`. A job no longer inflight is left alone. Returns
// how many went back.
int unclaim_jobs(Connection& db, const std::vector<UpstreamJob>& jobs, std::int64_t now);

// Makes every pending job due at `now` (the API answers again: the backlog
// goes out in order of arrival rather than by each job's own backoff).
int make_pending_due(Connection& db, std::int64_t now);

// When the next pending job falls due, if any.
std::optional<std::int64_t> next_due_at(Connection& db);

// Records the outcome of the attempt on `job`, with the state changes and the
// replies it causes, in the caller's transaction:
// delivered → report forwarded with its tracking id, `forwarded` reply;
// temporary / auth_error → pending again at outcome.next_attempt_at;
// rejected / gave_up → report failed, `failed` reply.
// `room`: what the outbox of job.link reserved for the reply; with room it
// is queued claimed (and, for ReplyRoom::started, marked started: see
// queue_reply) and returned (none for a silent report or a retry); else it
// waits in the queue.
std::optional<OutboundItem> record_upstream_outcome(Connection& db, const UpstreamJob& job,
                                                    const UpstreamOutcome& outcome,
                                                    const ReplyTemplates& replies,
                                                    ReplyRoom room = ReplyRoom::none);

// Up to `limit` pending jobs created before `created_before` (give_up_after
// ago), oldest first, each failed as gave_up with `error`: report failed,
// `failed` reply. The oldest pending job is spared: it is the next probe's,
// and that attempt decides. For a circuit that stays open, which tries one
// report per probe and so would reach the others long after their time.
// Returns the jobs failed.
std::vector<UpstreamJob> give_up_overdue_jobs(Connection& db, std::int64_t created_before,
                                              std::int64_t now, std::string_view error,
                                              const ReplyTemplates& replies, std::size_t limit);

} // namespace laporsms::store

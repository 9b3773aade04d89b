// The life of a report, its upstream job and its replies: every state, the
// word the database and laporctl use for it, and the moves the code makes.
// The schema's CHECK constraints (migration 7) allow exactly these words;
// test_store_states holds the two together.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace laporsms::store {

// A citizen's report.
enum class ReportState {
  received,   // stored, waiting for the API (again, after a temporary failure)
  forwarding, // a request to the API is out
  forwarded,  // the API gave it a tracking id; its status is polled
  closed,     // the API's status closed it (is_closing_status)
  failed,     // the API refused it for good, or it waited past give_up_after
  held,       // over the sender's limit: kept for an operator, not forwarded
};

// A report's place in the queue to the API (one row per report).
enum class JobState { pending, inflight, done, failed, held };

// A reply SMS, and (from submitted on) each of its parts.
enum class ReplyState {
  queued,        // waiting for the outbox
  submitted,     // the SMSC took every part
  delivered,     // every part's receipt said so
  undeliverable, // a receipt said it never will be
  expired,       // too old to send, or its receipt said so
  unknown,       // sent, but no submit_sm_resp: in doubt
};

inline constexpr std::array<ReportState, 6> k_report_states = {
    ReportState::received, ReportState::forwarding, ReportState::forwarded,
    ReportState::closed,   ReportState::failed,     ReportState::held};
inline constexpr std::array<JobState, 5> k_job_states = {
    JobState::pending, JobState::inflight, JobState::done, JobState::failed, JobState::held};
inline constexpr std::array<ReplyState, 6> k_reply_states = {
    ReplyState::queued,        ReplyState::submitted, ReplyState::delivered,
    ReplyState::undeliverable, ReplyState::expired,   ReplyState::unknown};

constexpr std::string_view name(ReportState state) {
  switch (state) {
  case ReportState::received:
    return "received";
  case ReportState::forwarding:
    return "forwarding";
  case ReportState::forwarded:
    return "forwarded";
  case ReportState::closed:
    return "closed";
  case ReportState::failed:
    return "failed";
  case ReportState::held:
    return "held";
  }
  return "received";
}

constexpr std::string_view name(JobState state) {
  switch (state) {
  case JobState::pending:
    return "pending";
  case JobState::inflight:
    return "inflight";
  case JobState::done:
    return "done";
  case JobState::failed:
    return "failed";
  case JobState::held:
    return "held";
  }
  return "pending";
}

constexpr std::string_view name(ReplyState state) {
  switch (state) {
  case ReplyState::queued:
    return "queued";
  case ReplyState::submitted:
    return "submitted";
  case ReplyState::delivered:
    return "delivered";
  case ReplyState::undeliverable:
    return "undeliverable";
  case ReplyState::expired:
    return "expired";
  case ReplyState::unknown:
    return "unknown";
  }
  return "queued";
}

// The state a word names (from the database, or an operator's --state).
std::optional<ReportState> report_state_named(std::string_view word);
std::optional<JobState> job_state_named(std::string_view word);
std::optional<ReplyState> reply_state_named(std::string_view word);

// --- The moves ---------------------------------------------------------------

// Whether the API has taken the report (it has a tracking id): then
// `laporctl retry` must not send it again.
constexpr bool api_has_it(ReportState state) {
  return state == ReportState::forwarded || state == ReportState::closed;
}

// Whether a reply has its last word: nothing about it changes any more, and
// retention may prune it.
constexpr bool is_final(ReplyState state) {
  return state == ReplyState::delivered || state == ReplyState::undeliverable ||
         state == ReplyState::expired;
}

// The report's state while its job is in `job`: what the forwarder's claim
// and the API's outcome write together.
constexpr ReportState report_state_for(JobState job) {
  switch (job) {
  case JobState::pending:
    return ReportState::received;
  case JobState::inflight:
    return ReportState::forwarding;
  case JobState::done:
    return ReportState::forwarded;
  case JobState::failed:
    return ReportState::failed;
  case JobState::held:
    return ReportState::held;
  }
  return ReportState::received;
}

// The API's statuses that close a report (its status is no longer polled).
bool is_closing_status(std::string_view status);

// How the report's state reads to the citizen who asks (INFO / CEK).
std::string_view citizen_words(ReportState state);

} // namespace laporsms::store

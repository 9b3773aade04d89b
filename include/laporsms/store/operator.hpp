// What an operator may change through laporctl (via the daemon): requeue a
// report for forwarding, or queue its last reply again.
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <optional>
#include <string>

namespace laporsms::store {

// The report named by local ref (any case) or tracking id, newest first.
std::optional<std::int64_t> find_report(Connection& db, std::string_view ref_or_tracking_id);

// Puts the report's upstream job back to pending, due now (creating the job
// for a report held by the rate limit). False when the report is already
// forwarded or closed.
bool retry_report(Connection& db, std::int64_t report_id, std::int64_t now);

// retry_report for every failed report; returns how many.
int retry_failed_reports(Connection& db, std::int64_t now);

// Queues a copy of the report's last reply; its id, or nullopt when it has none.
std::optional<std::int64_t> resend_last_reply(Connection& db, std::int64_t report_id,
                                              std::int64_t now);

} // namespace laporsms::store

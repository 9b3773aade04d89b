// Upstream status of forwarded reports: which to ask about next, and what
// a changed status does (history row, the citizen's SMS, closing).
#pragma once

#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/store/states.hpp>

#include <string>
#include <vector>

namespace laporsms::store {

struct StatusQuery {
  std::int64_t report_id = 0;
  std::string ref;
  std::string tracking_id;
  std::string msisdn;
  std::string link;
  std::string status; // the last one known, may be empty
};

// Up to `limit` open (forwarded) reports not asked about since
// `polled_before`, least recently asked first; marks each asked at `now`.
std::vector<StatusQuery> claim_status_queries(Connection& db, std::int64_t polled_before,
                                              std::int64_t now, std::size_t limit);

// A status the API reported. When it differs from the last one known it is
// stored with a history row and a `status_changed` reply; "Selesai" and
// "Diarsipkan" close the report. Returns whether anything changed.
bool record_status(Connection& db, const StatusQuery& query, const std::string& status,
                   const std::string& note, const ReplyTemplates& replies, std::int64_t now);

} // namespace laporsms::store

// The figures metrics read from the database (laporsms_reports{state},
// laporsms_replies_waiting{state}, the oldest unforwarded report). Run on a
// read-only connection, off the io thread: counting by state walks the
// state indexes, which grows with the tables.
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace laporsms::store {

struct GaugeSample {
  std::map<std::string, std::int64_t> reports_by_state; // every state of k_report_states
  std::map<std::string, std::int64_t> replies_waiting;  // "queued" and "unknown" (in doubt)
  // received_at (Unix ms) of the oldest report received or forwarding.
  std::optional<std::int64_t> oldest_unforwarded_ms;
};

GaugeSample sample_gauges(Connection& db);

} // namespace laporsms::store

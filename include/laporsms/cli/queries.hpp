// What laporctl reads from the database, as the JSON documents of
// interfaces.md §1. Every function takes a read-only connection.
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace laporsms::cli {

struct ReportFilter {
  std::optional<std::string> state;
  std::optional<std::int64_t> since_ms; // received at or after
  int limit = 50;
};

// Queue depths for `status`: upstream_pending, upstream_failed, outbound_pending,
// oldest_unforwarded_age_s, inbound_today (since local midnight of `now_ms`).
nlohmann::json queue_depths(store::Connection& db, std::int64_t now_ms);

// Newest first.
nlohmann::json list_reports(store::Connection& db, const ReportFilter& filter);

// One report by local ref (any letter case) or tracking id, with its inbound
// messages, upstream attempts, status history and replies; null when none.
nlohmann::json report_detail(store::Connection& db, const std::string& ref_or_tracking_id);

// Newest first; `direction` is "in", "out" or empty for both.
nlohmann::json list_messages(store::Connection& db, const std::string& direction, int limit);

} // namespace laporsms::cli

// Retention: old rows that no longer matter are deleted, and the words of
// closed reports can be blanked for privacy, a small batch at a time so a
// sweep never holds the writer long.
#pragma once

#include <laporsms/store/sqlite.hpp>

namespace laporsms::store {

struct RetentionPolicy {
  std::int64_t retention_ms = 0;        // 0: keep everything
  std::int64_t blank_text_after_ms = 0; // 0: never blank
  int batch = 500;
};

struct RetentionResult {
  int replies_pruned = 0;
  int reports_pruned = 0;
  int reports_blanked = 0;
  int scraps_pruned = 0; // joined long-SMS parts and stale early receipts
  int total() const { return replies_pruned + reports_pruned + reports_blanked + scraps_pruned; }
};

// One batch of each kind of pruning: delivered (or expired, undeliverable)
// replies older than the retention, closed reports older than it with all
// their rows, joined parts and unclaimed early receipts older than a day,
// and the texts of reports closed longer than blank_text_after. Call again
// while it returns a full batch.
RetentionResult prune_once(Connection& db, std::int64_t now, const RetentionPolicy& policy);

} // namespace laporsms::store

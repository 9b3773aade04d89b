// Backups and checks of the database while the daemon runs (laporctl backup,
// laporctl check). Both read through a read-only connection: in WAL mode a
// reader never makes the daemon's writer wait, so intake goes on.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace laporsms::store {

struct BackupSummary {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
  std::int64_t reports = 0; // reports in the snapshot
  double seconds = 0;
};

// Copies the database at `source` into `target` as one consistent snapshot
// (SQLite's online backup in a single step: one read transaction, so the
// copy holds every commit made before it began and nothing half-made).
// The copy is written beside `target` first, switched to a rollback journal
// (a single file to keep and restore), checked (quick_check), fsync'd, and
// only then renamed over `target`: an earlier backup stays whole until the
// new one is. The file is mode 0640 (citizens' numbers and reports).
// Throws SqliteError or std::runtime_error saying what failed.
BackupSummary backup_database(const std::filesystem::path& source,
                              const std::filesystem::path& target);

struct CheckReport {
  bool sound = true;
  // What SQLite's integrity check and foreign key check found, and a schema
  // this build cannot read; at most a hundred lines.
  std::vector<std::string> problems;
  int schema_version = 0;
  std::int64_t pages = 0;
  std::int64_t reports = 0;
};

// SQLite's full integrity check, the foreign key check and the schema
// version of the database at `path`, read-only.
CheckReport check_database(const std::filesystem::path& path);

} // namespace laporsms::store

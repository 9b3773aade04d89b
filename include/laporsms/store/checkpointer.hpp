// Checkpoints the WAL into the database file on a thread of its own, so that
// the writer thread never copies pages back (and fsyncs the database file)
// inside a COMMIT while MO wait for their acknowledgement.
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace laporsms::store {

class WalCheckpointer {
public:
  // Opens its own connection to `path` (through `vfs`, empty for SQLite's
  // default) with `synchronous_sql` ("PRAGMA synchronous = FULL" or
  // NORMAL), and starts the thread. A passive checkpoint runs whenever the
  // WAL has grown by `threshold_pages` since the last one.
  WalCheckpointer(const std::filesystem::path& path, const std::string& vfs,
                  const std::string& synchronous_sql, int threshold_pages);
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;
  // Runs a last checkpoint if one is due, then stops the thread.
  ~WalCheckpointer();

  // Tells it (from the writer's WAL hook, after each COMMIT) how many pages
  // the WAL holds now. Cheap: an atomic store, a wake-up past the threshold.
  void note_wal_pages(int pages);

  // The WAL's size in pages at the writer's last COMMIT.
  int wal_pages() const { return m_wal_pages.load(); }
  int threshold_pages() const { return m_threshold; }
  std::uint64_t checkpoints() const { return m_checkpoints.load(); }
  std::uint64_t failed_checkpoints() const { return m_failed.load(); }

  // Runs a passive checkpoint on `writer` (the writer's own connection), after
  // this thread's checkpoint if one is running: two checkpoints at once make
  // one of them return busy having copied nothing. True when every frame of
  // the WAL is now in the database file, so that the next write starts the
  // WAL again from its beginning. Throws what SQLite reports.
  bool checkpoint_on(Connection& writer);

private:
  void run();
  bool checkpoint_once();

  std::unique_ptr<Connection> m_db;
  int m_threshold;
  std::atomic<int> m_wal_pages{0};
  std::mutex m_mutex;
  std::mutex m_checkpoint_mutex; // one checkpoint at a time, this thread's or the writer's
  std::condition_variable m_wake;
  bool m_due = false;
  bool m_stopping = false;
  bool m_failing = false; // checkpointer thread only: one log line per episode
  std::atomic<std::uint64_t> m_checkpoints{0};
  std::atomic<std::uint64_t> m_failed{0};
  std::thread m_thread;
};

} // namespace laporsms::store

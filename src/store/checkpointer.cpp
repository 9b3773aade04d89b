#include <laporsms/store/checkpointer.hpp>
#include <laporsms/util/log.hpp>

#include <sqlite3.h>

#include <chrono>

namespace laporsms::store {

WalCheckpointer::WalCheckpointer(const std::filesystem::path& path, const std::string& vfs,
                                 const std::string& synchronous_sql, int threshold_pages)
    : m_threshold(threshold_pages) {
  m_db = std::make_unique<Connection>(path, OpenMode::read_write_create, vfs);
  // The checkpoint's own fsyncs (the WAL before copying, the database file
  // after) follow this connection's setting.
  m_db->exec(synchronous_sql);
  // Never checkpoints by itself: it writes nothing but checkpoints.
  m_db->exec("PRAGMA wal_autocheckpoint = 0");
  m_thread = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void WalCheckpointer::note_wal_pages(int pages) {
  const int before = m_wal_pages.exchange(pages);
  // A WAL that starts again from its beginning (after a complete
  // checkpoint) reports fewer pages: nothing is due yet.
  if (pages >= m_threshold && pages / m_threshold != before / m_threshold) {
    {
      std::lock_guard lock(m_mutex);
      m_due = true;
    }
    m_wake.notify_one();
  }
}

bool WalCheckpointer::checkpoint_once() {
  try {
    // PASSIVE: copies what no reader still needs and never waits for the
    // writer or the readers; the writer goes on appending meanwhile.
    std::lock_guard one_at_a_time(m_checkpoint_mutex);
    m_db->exec("PRAGMA wal_checkpoint(PASSIVE)");
    m_checkpoints.fetch_add(1);
    if (m_failing) {
      m_failing = false;
      log::info("store: WAL checkpoints succeed again");
    }
    return true;
  } catch (const std::exception& e) {
    m_failed.fetch_add(1);
    if (!m_failing) {
      m_failing = true;
      log::warn("store: WAL checkpoint failed; retrying every second", {{"error", e.what()}});
    }
    return false;
  }
}

bool WalCheckpointer::checkpoint_on(Connection& writer) {
  std::lock_guard one_at_a_time(m_checkpoint_mutex);
  // One row: busy (another checkpoint or a reader held it back), the WAL's
  // frames, the frames now copied.
  auto& pragma = writer.prepare("PRAGMA wal_checkpoint(PASSIVE)");
  bool complete = false;
  if (pragma.step()) {
    complete = pragma.column_int(0) == 0 && pragma.column_int(1) == pragma.column_int(2);
  }
  pragma.reset();
  return complete;
}

void WalCheckpointer::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_due || m_stopping; });
    if (m_stopping) {
      return; // the last connection to close checkpoints what is left
    }
    m_due = false;
    lock.unlock();
    const bool done = checkpoint_once();
    lock.lock();
    if (!done) {
      // A full or failing disk: try again in a second, unless stopping.
      m_wake.wait_for(lock, std::chrono::seconds(1), [this] { return m_stopping; });
      m_due = true;
    }
  }
}

} // namespace laporsms::store

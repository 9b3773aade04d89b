#include <laporsms/store/checkpointer.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/log.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>

namespace laporsms::store {

namespace {

// The batch's error for one task: an exception object of its own, so that no
// two threads ever share one (its reference count lives in libstdc++, whose
// atomics ThreadSanitizer cannot see).
std::exception_ptr own_copy(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const SqliteError& e) {
    return std::make_exception_ptr(SqliteError(e.code(), std::string(e.what())));
  } catch (const std::exception& e) {
    return std::make_exception_ptr(std::runtime_error(std::string(e.what())));
  } catch (...) {
    return std::make_exception_ptr(std::runtime_error("unknown error in a store batch"));
  }
}

} // namespace

Store::Store(StoreOptions options) : m_options(std::move(options)) {
  m_db = std::make_unique<Connection>(m_options.path, OpenMode::read_write_create, m_options.vfs);
  // WAL lets laporctl and the status poller read while we write; with
  // synchronous=FULL every COMMIT is fsync'd before we acknowledge anything.
  m_db->exec("PRAGMA journal_mode = WAL");
  m_db->exec(m_options.synchronous == Synchronous::full ? "PRAGMA synchronous = FULL"
                                                        : "PRAGMA synchronous = NORMAL");
  m_db->exec("PRAGMA foreign_keys = ON");
  // 32 MiB of page cache: the hot pages (queues, indexes) stay in memory
  // instead of being read back from the OS on every statement.
  m_db->exec("PRAGMA cache_size = -32768");
  // Truncate the WAL back to 64 MiB at most after a checkpoint that
  // completed: the WAL must not be what fills a small disk. (The checkpoints
  // themselves run on a thread of their own, below.)
  m_db->exec("PRAGMA journal_size_limit = 67108864");
  // No full integrity check here: on a large database it would take
  // seconds at every start. A file that is not a database, or whose schema
  // is unreadable, fails right here (SQLITE_NOTADB/CORRUPT) with a clear
  // message; damage deeper in surfaces as an error on the row it touches.
  migrate(*m_db);
  // A migration that built an index read the tables whole into the page
  // cache; the daemon needs none of that afterwards, so hand it back.
  m_db->exec("PRAGMA shrink_memory");
  // Statement journals stay in memory: on disk each statement (or a batch
  // run again task by task, with a savepoint each) cost a temporary file.
  // Only after the migration: one that builds a table or an index anew
  // sorts it whole, and in memory that was 360 MiB of heap for 1,000,000
  // reports, never given back.
  m_db->exec("PRAGMA temp_store = MEMORY");
  if (m_options.max_size_mb > 0) {
    // After the migration, which may build tables anew (old and new side by
    // side for a moment) in a database near its cap. Per connection, so set
    // at every start; a full database answers SQLITE_FULL, which the intake
    // turns into a temporary error.
    const auto page_size = m_db->query_int("PRAGMA page_size");
    const auto pages = static_cast<std::int64_t>(m_options.max_size_mb) * 1024 * 1024 /
                       std::max<std::int64_t>(page_size, 512);
    m_db->query_int(fmt::format("PRAGMA max_page_count = {}", pages));
  }
  if (m_options.checkpoint_pages > 0) {
    // Checkpoints off the writer: a COMMIT that crossed the threshold used
    // to copy ~1,000 pages back and fsync the database file while the MO of
    // that tick waited for their acknowledgement. The WAL hook replaces
    // SQLite's own auto-checkpoint on this connection.
    m_checkpointer = std::make_unique<WalCheckpointer>(m_options.path, m_options.vfs,
                                                       m_options.synchronous == Synchronous::full
                                                           ? "PRAGMA synchronous = FULL"
                                                           : "PRAGMA synchronous = NORMAL",
                                                       m_options.checkpoint_pages);
    sqlite3_wal_hook(
        m_db->handle(),
        [](void* checkpointer, sqlite3*, const char*, int pages) {
          static_cast<WalCheckpointer*>(checkpointer)->note_wal_pages(pages);
          return SQLITE_OK;
        },
        m_checkpointer.get());
  } else {
    m_db->exec("PRAGMA wal_autocheckpoint = 1000"); // SQLite's own, inside COMMIT
  }
  m_thread = std::thread([this] { writer_main(); });
}

Store::~Store() {
  stop();
}

void Store::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  if (m_checkpointer) {
    sqlite3_wal_hook(m_db->handle(), nullptr, nullptr);
    m_checkpointer.reset();
  }
}

StoreStats Store::stats() const {
  return {.transactions = m_transactions.load(),
          .fsynced_transactions = m_fsynced_transactions.load(),
          .tasks = m_tasks.load(),
          .idle_syncs = m_idle_syncs.load(),
          .failed_commits = m_failed_commits.load(),
          .isolated_batches = m_isolated_batches.load(),
          .checkpoints = m_checkpointer ? m_checkpointer->checkpoints() : 0,
          .writer_checkpoints = m_writer_checkpoints.load(),
          .deliveries = m_deliveries.load()};
}

void Store::enqueue(std::unique_ptr<Work> task, Urgency urgency) {
  bool wake = true;
  {
    const auto now = std::chrono::steady_clock::now();
    task->due = urgency == Urgency::rides ? now + m_options.ride_within : now;
    std::lock_guard lock(m_mutex);
    if (!m_stopping) {
      m_earliest_due = std::min(m_earliest_due, task->due);
      // The writer riding out a wait goes on sleeping unless this one is
      // due sooner than it would wake or fills the batch.
      wake = m_earliest_due < m_riding_until || m_queue.size() + 1 >= m_options.max_batch;
      m_queue.push_back(std::move(task));
    }
  }
  if (task) { // refused: nobody would ever run it
    task->error = std::make_exception_ptr(StoreStopped{});
    std::deque<std::unique_ptr<Work>> refused;
    refused.push_back(std::move(task));
    deliver(refused, nullptr);
    return;
  }
  if (wake) {
    m_wake.notify_one();
  }
}

void Store::wait_until_due(std::unique_lock<std::mutex>& lock) {
  while (!m_stopping && m_queue.size() < m_options.max_batch) {
    const auto due = m_earliest_due;
    if (std::chrono::steady_clock::now() >= due) {
      return;
    }
    m_riding_until = due;
    m_wake.wait_until(lock, due);
    m_riding_until = std::chrono::steady_clock::time_point::max();
  }
}

void Store::deliver(std::deque<std::unique_ptr<Work>>& batch,
                    const std::exception_ptr& batch_error) {
  const auto post = [this](asio::any_io_executor ex, // a copy: the tasks may be gone first
                           std::vector<std::unique_ptr<Work>> tasks) {
    m_deliveries.fetch_add(1);
    // The tasks are destroyed on the io thread too, with what they captured.
    asio::post(ex, [tasks = std::move(tasks)]() mutable {
      for (auto& task : tasks) {
        task->resume();
      }
    });
  };
  std::vector<std::unique_ptr<Work>> group;
  const asio::any_io_executor* group_ex = nullptr;
  for (auto& task : batch) {
    // Moved, never copied: the writer keeps no reference to what it hands over.
    task->settle(batch_error ? own_copy(batch_error) : std::move(task->error));
    const auto* ex = task->executor();
    if (ex == nullptr) {
      continue; // its caller blocks on the writer and woke in settle()
    }
    if (group_ex != nullptr && *ex != *group_ex) {
      post(*group_ex, std::move(group));
      group.clear();
    }
    group_ex = ex;
    group.push_back(std::move(task));
  }
  if (!group.empty()) {
    post(*group_ex, std::move(group));
  }
}

void Store::writer_main() {
  std::deque<std::unique_ptr<Work>> batch;
  for (;;) {
    {
      std::unique_lock lock(m_mutex);
      const auto ready = [this] { return m_stopping || !m_queue.empty(); };
      if (m_unsynced_since) {
        if (!m_wake.wait_until(lock, *m_unsynced_since + m_options.sync_written_after, ready)) {
          lock.unlock();
          sync_written();
          continue;
        }
      } else {
        m_wake.wait(lock, ready);
      }
      if (m_queue.empty()) {
        lock.unlock();
        sync_written(); // stopping: leave nothing unsynced
        return;
      }
      // Tasks that may ride wait for one that may not (or their own turn).
      wait_until_due(lock);
      // Everything that queued up while the last fsync ran goes into this
      // transaction: that is the group commit.
      const std::size_t take = std::min(m_queue.size(), m_options.max_batch);
      for (std::size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
      }
      // What is left over (a full batch) starts the next transaction at once.
      m_earliest_due = m_queue.empty() ? std::chrono::steady_clock::time_point::max()
                                       : std::chrono::steady_clock::time_point::min();
    }
    run_batch(batch);
    batch.clear();
    finish_wal_cycle();
  }
}

void Store::finish_wal_cycle() {
  if (!m_checkpointer) {
    return;
  }
  // The checkpointer copies the WAL back while the writer appends to it, so
  // under steady load it never catches up completely, and SQLite starts the
  // WAL again from its beginning only after a checkpoint that did. So the
  // writer copies the last few frames itself: when nobody waits (the queue
  // is empty) once the WAL holds a few thresholds, and regardless at a hard
  // cap, so that the WAL cannot grow without bound under saturation.
  const int pages = m_checkpointer->wal_pages();
  const int threshold = m_checkpointer->threshold_pages();
  if (pages < 2 * threshold) {
    return;
  }
  if (pages < 16 * threshold) {
    std::lock_guard lock(m_mutex);
    // Only while nobody waits: tasks that ride are not waiting, and on a
    // quiet gateway some nearly always are queued (were they counted, the
    // WAL would grow to the cap and its copy stall the next MO).
    if (!m_queue.empty() && m_earliest_due <= std::chrono::steady_clock::now()) {
      return;
    }
  }
  try {
    if (m_checkpointer->checkpoint_on(*m_db)) {
      m_writer_checkpoints.fetch_add(1);
    }
  } catch (const std::exception&) {
    // A failing disk: the next batch meets it and says so; the checkpointer
    // logs its own failures.
  }
}

namespace {

// Set on the writer thread (each store has its own) when SQLite met an I/O
// error. After a failed write-back the kernel may keep pages of the WAL in
// its cache, marked clean, that never reached the disk: SQLite still reads
// them from there, but on the disk the WAL has a hole, and crash recovery
// stops at it, dropping every commit after it -- also the ones fsync'd
// after the disk came back. So before anything else commits, the whole WAL
// is checkpointed into the database file (written anew, fsync'd) and
// truncated; until that succeeds, every batch fails and SMS get a
// temporary error.
thread_local bool t_wal_suspect = false;

void rewrite_wal(Connection& db) {
  auto& checkpoint = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)");
  const bool busy = checkpoint.step() && checkpoint.column_int(0) != 0;
  checkpoint.reset();
  if (busy) {
    throw SqliteError(SQLITE_BUSY, "after an I/O error the WAL must be checkpointed into the "
                                   "database first, and a reader holds it (busy)");
  }
}

} // namespace

template <typename NoteIoError>
std::exception_ptr Store::run_isolated(std::deque<std::unique_ptr<Work>>& batch,
                                       const NoteIoError& note_io_error) {
  auto& db = *m_db;
  try {
    db.prepare("BEGIN IMMEDIATE").run();
  } catch (...) {
    note_io_error();
    return std::current_exception();
  }
  for (auto& task : batch) {
    task->error = nullptr;
    try {
      db.prepare("SAVEPOINT task").run();
    } catch (...) {
      note_io_error();
      task->error = std::current_exception();
      continue;
    }
    try {
      task->run(db);
      db.prepare("RELEASE task").run();
    } catch (...) {
      note_io_error();
      task->error = std::current_exception();
      if (sqlite3_get_autocommit(db.handle()) != 0) {
        // Rolled back by SQLite itself: the tasks after this one must not
        // run outside a transaction.
        return task->error;
      }
      try {
        db.prepare("ROLLBACK TO task").run();
        db.prepare("RELEASE task").run();
      } catch (...) {
        // The transaction itself is broken: the COMMIT after this fails and
        // reports it to every task.
      }
    }
  }
  return nullptr;
}

void Store::run_batch(std::deque<std::unique_ptr<Work>>& batch) {
  auto& db = *m_db;
  std::exception_ptr batch_error;
  // Read from the connection where a statement failed, not by rethrowing
  // a task's exception here: that exception is handed to another thread.
  bool io_error = false;
  const auto note_io_error = [&db, &io_error] {
    io_error = io_error || (sqlite3_errcode(db.handle()) & 0xff) == SQLITE_IOERR;
  };
  if (t_wal_suspect) {
    try {
      rewrite_wal(db);
      t_wal_suspect = false;
      log::info("store: the WAL is checkpointed into the database after the I/O error");
    } catch (...) {
      note_io_error();
      batch_error = std::current_exception();
    }
  }
  // One task that needs it makes the whole batch fsync'd; a batch of
  // bookkeeping only is left in the WAL for the next fsync'd commit.
  bool fsync = m_options.synchronous == Synchronous::full &&
               std::any_of(batch.begin(), batch.end(), [](const auto& task) {
                 return task->durability == Durability::fsynced;
               });
  if (m_options.synchronous == Synchronous::full && fsync != m_fsync_on_commit) {
    try {
      db.exec(fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      m_fsync_on_commit = fsync;
    } catch (...) {
      // Still as it was: a batch that may skip the fsync simply takes it.
      fsync = m_fsync_on_commit;
    }
  }
  const auto changes_before = sqlite3_total_changes(db.handle());
  // The fast path: every task of the tick in one transaction, no savepoint
  // each. Should a task throw, the whole transaction is rolled back and the
  // batch runs again with a savepoint per task, which confines the failure
  // to that task (tasks only compute from their captures: running one
  // twice is harmless).
  bool isolate = false;
  if (!batch_error) {
    try {
      db.prepare("BEGIN IMMEDIATE").run();
    } catch (...) {
      note_io_error();
      batch_error = std::current_exception();
    }
  }
  if (!batch_error) {
    for (auto& task : batch) {
      try {
        task->run(db);
      } catch (...) {
        note_io_error();
        if (sqlite3_get_autocommit(db.handle()) != 0) {
          // SQLite rolled the whole transaction back itself (a full disk,
          // an I/O error): every task lost its writes.
          batch_error = std::current_exception();
        } else {
          isolate = true;
        }
        break;
      }
    }
    if (isolate) {
      try {
        db.exec("ROLLBACK");
      } catch (...) {
        // Already rolled back by SQLite.
      }
      m_isolated_batches.fetch_add(1);
      batch_error = run_isolated(batch, note_io_error);
    }
  }
  if (!batch_error) {
    try {
      db.prepare("COMMIT").run();
    } catch (...) {
      note_io_error();
      batch_error = std::current_exception();
      m_failed_commits.fetch_add(1);
      try {
        db.exec("ROLLBACK");
      } catch (...) {
        // Already rolled back by SQLite; nothing more to undo.
      }
    }
  }
  if (io_error) {
    t_wal_suspect = true;
  }
  m_transactions.fetch_add(1);
  if (!batch_error) {
    // A COMMIT that wrote nothing fsyncs nothing either.
    const bool wrote = sqlite3_total_changes(db.handle()) != changes_before;
    if (fsync) {
      m_fsynced_transactions.fetch_add(1);
    }
    if (fsync && wrote) {
      m_unsynced_since.reset(); // the WAL is synced up to here
    } else if (wrote && !fsync && m_options.synchronous == Synchronous::full && !m_unsynced_since) {
      m_unsynced_since = std::chrono::steady_clock::now();
    }
  }
  m_tasks.fetch_add(batch.size());
  deliver(batch, batch_error);
}

namespace {

// Whether the writer's last idle sync failed. Per writer thread, and each
// store has its own: a failing disk is one warning and one line when it
// clears, not a warning every sync_written_after.
thread_local bool t_idle_sync_failing = false;

} // namespace

void Store::sync_written() {
  if (!m_unsynced_since) {
    return;
  }
  m_unsynced_since.reset();
  try {
    // A passive checkpoint fsyncs the WAL before it copies anything back,
    // and never waits for readers.
    m_db->exec("PRAGMA wal_checkpoint(PASSIVE)");
    m_idle_syncs.fetch_add(1);
    if (t_idle_sync_failing) {
      t_idle_sync_failing = false;
      log::info("store: the WAL syncs again");
    }
  } catch (const std::exception& e) {
    if (const auto* error = dynamic_cast<const SqliteError*>(&e);
        error != nullptr && (error->code() & 0xff) == SQLITE_IOERR) {
      t_wal_suspect = true;
    }
    if (!t_idle_sync_failing) {
      t_idle_sync_failing = true;
      log::warn("store: cannot sync the WAL; retrying, logged again when it syncs",
                {{"error", e.what()}});
    } else {
      log::debug("store: cannot sync the WAL", {{"error", e.what()}});
    }
  }
}

namespace {

// Outcomes waiting for the store to take writes again, over every caller (all
// on the io thread). One failing store is one episode: its first waiter logs
// an error, the others only at debug level, and the last one to get through
// says so; a full disk with a window of replies in flight is not a line per
// reply (README: one error line per episode).
std::atomic<int> g_outcomes_waiting{0};

// One caller's place among them, given back however its coroutine ends.
class OutcomeWait {
public:
  OutcomeWait() = default;
  OutcomeWait(const OutcomeWait&) = delete;
  OutcomeWait& operator=(const OutcomeWait&) = delete;
  ~OutcomeWait() { end(); }

  bool waiting() const { return m_waiting; }
  // True when no other outcome was waiting.
  bool begin() {
    m_waiting = true;
    return g_outcomes_waiting.fetch_add(1) == 0;
  }
  // True when this was the last one waiting.
  bool end() {
    if (!m_waiting) {
      return false;
    }
    m_waiting = false;
    return g_outcomes_waiting.fetch_sub(1) == 1;
  }

private:
  bool m_waiting = false;
};

} // namespace

awaitable<bool> Store::execute_until_stored(const Task& task, const std::string& what,
                                            const std::function<bool()>& keep_trying,
                                            Durability durability, Urgency urgency) {
  OutcomeWait wait;
  for (;;) {
    std::string failure;
    try {
      Task copy = task;
      co_await execute(std::move(copy), durability, urgency);
      if (wait.waiting()) {
        if (wait.end()) {
          log::info("store: an outcome was recorded after all; none waits for the store any more",
                    {{"outcome_of", what}});
        } else {
          log::debug("store: an outcome was recorded after all", {{"outcome_of", what}});
        }
      }
      co_return true;
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!wait.waiting()) {
      if (wait.begin()) {
        log::error("store: cannot record the outcome; retrying every second (other outcomes "
                   "that wait for the store are logged at debug level)",
                   {{"outcome_of", what}, {"error", failure}});
      } else {
        log::debug("store: cannot record the outcome; retrying every second",
                   {{"outcome_of", what}, {"error", failure}});
      }
    }
    if (!keep_trying()) {
      co_return false;
    }
    asio::steady_timer pause(co_await asio::this_coro::executor);
    pause.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!keep_trying()) {
      co_return false;
    }
  }
}

} // namespace laporsms::store

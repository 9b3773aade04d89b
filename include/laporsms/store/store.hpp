// The store's write side: one SQLite connection owned by one thread. The
// network side hands it work as functions and co_awaits their results;
// whatever is queued together runs in one transaction (group commit), and
// every result is delivered only after the COMMIT that made it durable, the
// whole batch's results in one post to the io thread.
#pragma once

#include <laporsms/store/sqlite.hpp>
#include <laporsms/util/net.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>

namespace laporsms::store {

enum class Synchronous { full, normal };

class WalCheckpointer; // checkpointer.hpp

// How durable a task's COMMIT must be before its caller resumes.
enum class Durability {
  // fsync'd (with synchronous = full): for what the outside world is told
  // or sent next (an MO acknowledged, a reply about to leave, the API's
  // answer).
  fsynced,
  // In the WAL, not yet fsync'd: survives a crash of the daemon, and a power
  // loss once a later fsync'd commit that writes, or the writer's own sync
  // after `sync_written_after`, ran (the WAL is written in order). For
  // bookkeeping that start-up recovery can do without: a claim, a recorded
  // submit_sm_resp.
  written,
};

// How soon a task's transaction must start.
enum class Urgency {
  // Someone waits for it: an MO's acknowledgement, a claim.
  now,
  // Nobody does (an outcome decided elsewhere): it rides the next commit
  // another task starts, and starts one itself only once
  // StoreOptions::ride_within passed. On a gateway at 100 or 1,000 MO a
  // second each MO's commit takes along the previous reports' API outcomes
  // and SMSC answers: one commit and one fsync a report, not three.
  rides,
};

struct StoreOptions {
  std::filesystem::path path;
  Synchronous synchronous = Synchronous::full;
  // Upper bound on the database size in MiB (0: none), as PRAGMA max_page_count.
  unsigned max_size_mb = 0;
  // Most tasks one transaction takes; bounds the latency a batch adds.
  std::size_t max_batch = 1024;
  // The longest an Urgency::rides task waits for a commit to ride.
  std::chrono::milliseconds ride_within{10};
  // Commits left unsynced (Durability::written) are fsync'd by the writer
  // (a passive checkpoint) once this long passes without an fsync'd one:
  // the window a power cut can take them in stays short on a quiet gateway.
  std::chrono::milliseconds sync_written_after{1000};
  // The SQLite VFS the write connection opens the database through; empty
  // for SQLite's default. For tests only: the power-cut test passes a VFS
  // that loses what was never fsync'd (tests/unit/powercut_vfs.hpp).
  std::string vfs = {};
  // The WAL is checkpointed into the database file by a thread of its own
  // each time it grows by this many pages (0: by SQLite inside the COMMIT
  // that crosses 1,000 pages, on the writer, as before).
  int checkpoint_pages = 1000;
};

// What a task queued after Store::stop() completes with.
struct StoreStopped : std::runtime_error {
  StoreStopped() : std::runtime_error("the store has stopped") {}
};

struct StoreStats {
  std::uint64_t transactions = 0;
  std::uint64_t fsynced_transactions = 0;
  std::uint64_t tasks = 0;
  std::uint64_t idle_syncs = 0; // checkpoints run to sync written commits
  std::uint64_t failed_commits = 0;
  std::uint64_t isolated_batches = 0;   // run again task by task after a task failed
  std::uint64_t checkpoints = 0;        // passive checkpoints run off the writer thread
  std::uint64_t writer_checkpoints = 0; // WAL cycles the writer completed (every frame copied)
  std::uint64_t deliveries = 0;         // posts that resumed a batch's callers
};

class Store {
public:
  // Opens (creating if need be) and migrates the database, then starts the
  // writer thread. Throws SqliteError / SchemaError when it cannot.
  explicit Store(StoreOptions options);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  // Runs what is queued, then stops the writer thread.
  ~Store();

  // The same, now: whoever owns objects that queued tasks refer to calls this
  // before destroying them. Work queued afterwards fails with StoreStopped.
  // Idempotent.
  void stop();

  // Runs `fn(Connection&)` on the writer thread inside a transaction shared
  // with whatever else is queued, and resumes the caller after that
  // transaction committed. An exception from `fn` rolls back only its own
  // work (the batch runs again with a savepoint per task) and is rethrown
  // here; a failed COMMIT is rethrown to every task of the batch.
  // A batch of `written` tasks only commits without an fsync.
  template <typename F>
  auto execute(F fn, Durability durability = Durability::fsynced, Urgency urgency = Urgency::now)
      -> awaitable<std::invoke_result_t<F&, Connection&>>;

  // A write whose outcome is already decided elsewhere (the SMSC took a
  // reply, the API filed a report).
  using Task = std::function<bool(Connection&)>;

  // Runs `task` until it commits: after a failure (a full disk) it logs once,
  // waits a second and tries again, as long as `keep_trying()`. False when
  // it gave up. It rides by default (Urgency::rides): nobody waits on an
  // outcome, unless it holds something back until it is stored.
  awaitable<bool> execute_until_stored(const Task& task, const std::string& what,
                                       const std::function<bool()>& keep_trying,
                                       Durability durability = Durability::fsynced,
                                       Urgency urgency = Urgency::rides);

  // Runs `fn` on the writer thread and blocks until it committed: for
  // start-up and tests, never from the io thread while it serves traffic.
  template <typename F> auto execute_blocking(F fn) -> std::invoke_result_t<F&, Connection&>;

  StoreStats stats() const;
  const std::filesystem::path& path() const { return m_options.path; }

private:
  struct Work {
    virtual ~Work() = default;
    virtual void run(Connection& db) = 0;
    // On the writer thread, once the task's transaction ended: its outcome
    // (null when it committed). A caller blocked on the writer wakes here.
    virtual void settle(std::exception_ptr error) = 0;
    // Where a co_awaiting caller resumes (null for a blocked one), and what
    // resumes it there, after settle().
    virtual const asio::any_io_executor* executor() const { return nullptr; }
    virtual void resume() {}
    std::exception_ptr error;
    Durability durability = Durability::fsynced;
    // When its transaction must have started, set by enqueue().
    std::chrono::steady_clock::time_point due{};
  };

  void enqueue(std::unique_ptr<Work> work, Urgency urgency = Urgency::now);
  // Under the lock, with work queued: waits until the earliest task is due
  // or the batch is full. True when the batch may start.
  void wait_until_due(std::unique_lock<std::mutex>& lock);
  // Settles every task of `batch` and resumes their callers: one post per
  // executor in a row (the io thread, nearly always one), not one per task.
  void deliver(std::deque<std::unique_ptr<Work>>& batch, const std::exception_ptr& batch_error);
  void writer_main();
  void run_batch(std::deque<std::unique_ptr<Work>>& batch);
  // Runs the batch again in one transaction with a savepoint per task, after
  // a task failed on the fast path; the batch's error if the transaction
  // itself failed, else each task's own error is in its `error`.
  template <typename NoteIoError>
  std::exception_ptr run_isolated(std::deque<std::unique_ptr<Work>>& batch,
                                  const NoteIoError& note_io_error);
  // fsyncs commits left unsynced (Durability::written), if any.
  void sync_written();
  // Lets the WAL start again from its beginning (see store.cpp).
  void finish_wal_cycle();

  StoreOptions m_options;
  std::unique_ptr<Connection> m_db;
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::unique_ptr<Work>> m_queue;
  bool m_stopping = false;
  // The earliest `due` among the queued tasks (max: none queued).
  std::chrono::steady_clock::time_point m_earliest_due =
      std::chrono::steady_clock::time_point::max();
  // What the writer sleeps until while queued tasks ride (max: it does not):
  // an enqueue wakes it only for a task due sooner, or a full batch.
  std::chrono::steady_clock::time_point m_riding_until =
      std::chrono::steady_clock::time_point::max();
  std::atomic<std::uint64_t> m_transactions{0};
  std::atomic<std::uint64_t> m_fsynced_transactions{0};
  std::atomic<std::uint64_t> m_idle_syncs{0};
  bool m_fsync_on_commit = true; // the connection's synchronous setting now
  // When the oldest commit not yet fsync'd was made (nullopt: none).
  std::optional<std::chrono::steady_clock::time_point> m_unsynced_since;
  std::atomic<std::uint64_t> m_tasks{0};
  std::atomic<std::uint64_t> m_failed_commits{0};
  std::atomic<std::uint64_t> m_isolated_batches{0};
  std::atomic<std::uint64_t> m_writer_checkpoints{0};
  std::atomic<std::uint64_t> m_deliveries{0};
  std::unique_ptr<WalCheckpointer> m_checkpointer;
  std::thread m_thread;
};

// --- Inline implementations ---

template <typename F>
auto Store::execute(F fn, Durability durability, Urgency urgency)
    -> awaitable<std::invoke_result_t<F&, Connection&>> {
  using R = std::invoke_result_t<F&, Connection&>;
  static_assert(!std::is_void_v<R>, "store tasks return a value");
  static_assert(std::is_default_constructible_v<R>, "an error completes with R{}");
  // Deliberately not a coroutine: g++ 12 mis-moves non-trivial coroutine
  // parameters (a lambda capturing strings), so `fn` is moved straight into
  // the task by the initiation, which the awaitable runs when co_awaited.
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, R)>(
      [this, durability, urgency](auto handler, F f) {
        using Handler = decltype(handler);
        struct CoTask final : Work {
          CoTask(F task_fn, Handler h)
              : fn(std::move(task_fn)), handler(std::move(h)),
                ex(asio::get_associated_executor(handler)) {}
          void run(Connection& db) override { result = fn(db); }
          void settle(std::exception_ptr err) override {
            if (err) {
              result = R{};
            }
            outcome = std::move(err);
          }
          const asio::any_io_executor* executor() const override { return &ex; }
          void resume() override { std::move(handler)(std::move(outcome), std::move(result)); }
          F fn;
          Handler handler;
          asio::any_io_executor ex;
          R result{};
          std::exception_ptr outcome;
        };
        auto task = std::make_unique<CoTask>(std::move(f), std::move(handler));
        task->durability = durability;
        enqueue(std::move(task), urgency);
      },
      use_awaitable, std::move(fn));
}

template <typename F> auto Store::execute_blocking(F fn) -> std::invoke_result_t<F&, Connection&> {
  using R = std::invoke_result_t<F&, Connection&>;
  static_assert(!std::is_void_v<R>, "store tasks return a value");
  struct BlockingTask final : Work {
    explicit BlockingTask(F f) : fn(std::move(f)) {}
    void run(Connection& db) override { result.emplace(fn(db)); }
    void settle(std::exception_ptr err) override {
      std::lock_guard lock(mutex);
      // Moved: the writer must hold no reference once the caller wakes, or
      // the exception is freed on the writer's side after the caller read it
      // (ordered only by libstdc++'s atomics, which TSan cannot see).
      outcome = std::move(err);
      done = true;
      cv.notify_one();
    }
    F fn;
    std::optional<R> result;
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    std::exception_ptr outcome;
  };
  auto task = std::make_unique<BlockingTask>(std::move(fn));
  auto* raw = task.get();
  // The task object must outlive settle(): keep ownership here and give
  // the queue a forwarding shell.
  struct Shell final : Work {
    explicit Shell(BlockingTask* t) : target(t) {}
    void run(Connection& db) override { target->run(db); }
    void settle(std::exception_ptr err) override { target->settle(std::move(err)); }
    BlockingTask* target;
  };
  enqueue(std::make_unique<Shell>(raw));
  std::unique_lock lock(raw->mutex);
  raw->cv.wait(lock, [raw] { return raw->done; });
  if (raw->outcome) {
    std::rethrow_exception(raw->outcome);
  }
  return std::move(*raw->result);
}

} // namespace laporsms::store

#include <laporsms/store/schema.hpp>
#include <laporsms/store/store.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms::store;
using laporsms::awaitable;
using store_test::TempDir;
namespace asio = laporsms::asio;
using namespace std::chrono_literals;

namespace {

using TaskFn = std::function<std::int64_t(Connection&)>;

StoreOptions options_for(const TempDir& dir, std::size_t max_batch = 1024) {
  const auto path = dir.file("laporsms.db");
  {
    // Switched to WAL and migrated here without fsyncs, the file opens fast;
    // what the Store does to a new file is tested on its own below.
    Connection db(path, OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL");
    migrate(db);
  }
  return StoreOptions{.path = path, .synchronous = Synchronous::normal, .max_batch = max_batch};
}

// Holds the writer thread inside one task, so that whatever the io thread
// queues meanwhile waits and then runs as one batch.
class WriterGate {
public:
  explicit WriterGate(Store& store)
      : m_release_future(m_release.get_future()), m_thread([this, &store] {
          store.execute_blocking([this](Connection&) {
            m_entered.set_value();
            m_release_future.wait();
            return 0;
          });
        }) {
    m_entered.get_future().wait();
  }
  WriterGate(const WriterGate&) = delete;
  WriterGate& operator=(const WriterGate&) = delete;
  ~WriterGate() {
    open();
    m_thread.join();
  }

  void open() {
    if (!m_open) {
      m_open = true;
      m_release.set_value();
    }
  }

private:
  std::promise<void> m_entered;
  std::promise<void> m_release;
  std::future<void> m_release_future;
  bool m_open = false;
  std::thread m_thread; // last: it uses the members above
};

// What became of one store.execute on the io thread.
struct Outcome {
  std::optional<std::int64_t> value;
  std::exception_ptr error;
  std::thread::id resumed_on;
};

// Parameters are references only: g++ 12 mis-moves non-trivial coroutine
// parameters and temporaries inside co_await, so the task is copied into a
// named local first.
awaitable<void> run_task(Store& store, const TaskFn& fn, Outcome& out,
                         Durability durability = Durability::fsynced,
                         Urgency urgency = Urgency::now) {
  TaskFn task = fn;
  try {
    auto result = co_await store.execute(std::move(task), durability, urgency);
    out.value = result;
  } catch (...) {
    out.error = std::current_exception();
  }
  out.resumed_on = std::this_thread::get_id();
}

void spawn_all(asio::io_context& io, Store& store, const std::vector<TaskFn>& fns,
               std::vector<Outcome>& outcomes, const std::vector<Durability>& durabilities = {}) {
  outcomes.resize(fns.size());
  for (std::size_t i = 0; i < fns.size(); ++i) {
    const auto durability = i < durabilities.size() ? durabilities[i] : Durability::fsynced;
    asio::co_spawn(io, run_task(store, fns[i], outcomes[i], durability), asio::detached);
  }
}

// Queues `fns` while the writer is held, then lets them run: they form one
// group (or several, when max_batch is smaller), deterministically.
// `durabilities[i]` is that of fns[i] (default: fsynced).
void run_as_group(Store& store, const std::vector<TaskFn>& fns, std::vector<Outcome>& outcomes,
                  const std::vector<Durability>& durabilities = {}) {
  // Outlives every store: the writer may still be inside its last post() to
  // it when run() returns (the daemon's io_context outlives its store too).
  static asio::io_context io;
  io.restart();
  WriterGate gate(store);
  spawn_all(io, store, fns, outcomes, durabilities);
  // Posted after every coroutine's start, so it runs once all are queued.
  asio::post(io, [&gate] { gate.open(); });
  io.run();
}

TaskFn insert_value(std::int64_t v) {
  return [v](Connection& db) {
    auto& stmt = db.prepare("INSERT INTO t (v) VALUES (?)");
    stmt.bind(1, v);
    stmt.run();
    return db.last_insert_rowid();
  };
}

std::int64_t create_table(Store& store) {
  return store.execute_blocking([](Connection& db) {
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER UNIQUE, b BLOB)");
    return std::int64_t{0};
  });
}

std::int64_t count_committed(const std::filesystem::path& path, const std::string& where = "1") {
  Connection reader(path, OpenMode::read_only);
  return reader.query_int("SELECT count(*) FROM t WHERE " + where);
}

// The SqliteError inside `error`, or nullopt when it is something else.
std::optional<int> sqlite_code(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const SqliteError& e) {
    return e.code();
  } catch (...) {
    return std::nullopt;
  }
}

bool transient(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const SqliteError& e) {
    return e.is_transient();
  } catch (...) {
    return false;
  }
}

} // namespace

TEST_SUITE("store::Store") {

  TEST_CASE("opening creates a migrated database in WAL mode") {
    TempDir dir;
    const auto path = dir.file("new.db");
    REQUIRE_FALSE(std::filesystem::exists(path));
    Store store(StoreOptions{.path = path, .synchronous = Synchronous::full});
    CHECK(store.path() == path);
    Connection reader(store.path(), OpenMode::read_only);
    CHECK(reader.query_int("PRAGMA user_version") == current_schema_version());
    auto& mode = reader.prepare("PRAGMA journal_mode");
    REQUIRE(mode.step());
    CHECK(mode.column_text(0) == "wal");
    CHECK(store.stats().transactions == 0);
    CHECK(store.stats().tasks == 0);
  }

  TEST_CASE("execute_blocking returns once the work is committed") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    const auto id = store.execute_blocking(insert_value(7));
    CHECK(id == 1);
    // Another connection sees it: committed, not merely written.
    CHECK(count_committed(store.path(), "v = 7") == 1);

    const auto text = store.execute_blocking(
        [](Connection& db) { return *store_test::query_text(db, "SELECT 'a' || 'b'"); });
    CHECK(text == "ab");

    CHECK_THROWS_WITH_AS(store.execute_blocking([](Connection& db) {
      insert_value(8)(db);
      throw std::logic_error("task gave up");
      return 0;
    }),
                         "task gave up", std::logic_error);
    CHECK(count_committed(store.path()) == 1);
    const auto stats = store.stats();
    CHECK(stats.tasks == 4);
    CHECK(stats.transactions == 4);
    CHECK(stats.failed_commits == 0);
  }

  TEST_CASE("tasks queued together complete in one transaction") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    std::vector<TaskFn> fns;
    for (int i = 0; i < 40; ++i) {
      fns.push_back(insert_value(i));
    }
    const auto before = store.stats();
    std::vector<Outcome> outcomes;
    run_as_group(store, fns, outcomes);
    const auto after = store.stats();

    CHECK(after.tasks - before.tasks == fns.size() + 1);
    // The gate's transaction, then one for all forty.
    CHECK(after.transactions - before.transactions == 2);
    CHECK(after.transactions - before.transactions < fns.size());
    CHECK(after.failed_commits == 0);
    std::set<std::int64_t> ids;
    for (const auto& outcome : outcomes) {
      CHECK_FALSE(outcome.error);
      REQUIRE(outcome.value);
      ids.insert(*outcome.value);
    }
    CHECK(ids.size() == fns.size());
    CHECK(count_committed(store.path()) == 40);
    // No task failed: the fast path, one transaction without a savepoint each.
    CHECK(after.isolated_batches == before.isolated_batches);
    // The forty callers resume in one post to the io thread (the gate's
    // caller blocks, so its result needs none).
    CHECK(after.deliveries - before.deliveries == 1);
  }

  TEST_CASE("a task that rides waits for a commit another task starts, and shares it") {
    TempDir dir;
    auto options = options_for(dir);
    options.ride_within = 10s; // longer than the test: only the other task may start it
    options.synchronous = Synchronous::full;
    // Outlives the store: the writer may still be inside its last post() to it.
    asio::io_context io;
    Store store(options);
    create_table(store);
    const auto before = store.stats();
    // Named: run_task takes them by reference and copies them when it starts.
    const auto first = insert_value(1);
    const auto second = insert_value(2);
    Outcome riding;
    asio::co_spawn(io, run_task(store, first, riding, Durability::written, Urgency::rides),
                   asio::detached);
    const auto run_for = [&io](std::chrono::milliseconds limit, const auto& done) {
      const auto deadline = std::chrono::steady_clock::now() + limit;
      while (!done() && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_for(5ms);
      }
    };
    run_for(150ms, [] { return false; });
    CHECK_FALSE(riding.value); // nothing to ride yet
    CHECK(store.stats().transactions == before.transactions);
    Outcome urgent;
    asio::co_spawn(io, run_task(store, second, urgent), asio::detached);
    run_for(5s, [&] { return riding.value && urgent.value; });
    REQUIRE(riding.value);
    REQUIRE(urgent.value);
    const auto after = store.stats();
    CHECK(after.transactions - before.transactions == 1);
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 1);
    CHECK(count_committed(store.path()) == 2);
  }

  TEST_CASE("a task that rides alone commits by itself once ride_within passed") {
    TempDir dir;
    auto options = options_for(dir);
    options.ride_within = 200ms;
    asio::io_context io; // outlives the store, as above
    Store store(options);
    create_table(store);
    const auto insert = insert_value(1);
    Outcome riding;
    const auto queued_at = std::chrono::steady_clock::now();
    asio::co_spawn(io, run_task(store, insert, riding, Durability::fsynced, Urgency::rides),
                   asio::detached);
    const auto deadline = queued_at + 5s;
    while (!riding.value && !riding.error && std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
    REQUIRE(riding.value);
    CHECK(std::chrono::steady_clock::now() - queued_at >= 200ms);
    CHECK(count_committed(store.path()) == 1);
  }

  TEST_CASE("a batch of 'written' tasks commits without fsync; one 'fsynced' task makes it fsync") {
    TempDir dir;
    auto options = options_for(dir);
    options.synchronous = Synchronous::full;
    Store store(options);
    create_table(store);
    std::vector<Outcome> outcomes;

    auto before = store.stats();
    run_as_group(store, {insert_value(1), insert_value(2)}, outcomes,
                 {Durability::written, Durability::written});
    auto after = store.stats();
    CHECK(after.transactions - before.transactions == 2); // the gate's, then the pair
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 1); // the gate's only

    before = store.stats();
    run_as_group(store, {insert_value(3), insert_value(4)}, outcomes,
                 {Durability::written, Durability::fsynced});
    after = store.stats();
    CHECK(after.transactions - before.transactions == 2);
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 2);
    CHECK(count_committed(store.path()) == 4);

    // And back: the connection's setting follows each batch.
    before = store.stats();
    run_as_group(store, {insert_value(5)}, outcomes, {Durability::written});
    after = store.stats();
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 1);
    CHECK(store.execute_blocking([](Connection& db) {
      return db.query_int("PRAGMA synchronous");
    }) == 2); // FULL, set again for this fsynced task
  }

  TEST_CASE("written commits are synced by the writer once sync_written_after passes quietly") {
    TempDir dir;
    auto options = options_for(dir);
    options.synchronous = Synchronous::full;
    options.sync_written_after = 50ms;
    Store store(options);
    create_table(store);
    std::vector<Outcome> outcomes;
    const auto wait_for_syncs = [&store](std::uint64_t n) {
      for (int i = 0; i < 200 && store.stats().idle_syncs < n; ++i) {
        std::this_thread::sleep_for(10ms);
      }
      return store.stats().idle_syncs;
    };

    run_as_group(store, {insert_value(1)}, outcomes, {Durability::written});
    CHECK(wait_for_syncs(1) == 1);
    std::this_thread::sleep_for(150ms);
    CHECK(store.stats().idle_syncs == 1); // once: nothing more to sync

    // An fsync'd commit that writes, right after, leaves nothing to sync.
    run_as_group(store, {insert_value(2), insert_value(3)}, outcomes,
                 {Durability::written, Durability::fsynced});
    std::this_thread::sleep_for(150ms);
    CHECK(store.stats().idle_syncs == 1);
    CHECK(count_committed(store.path()) == 3);
  }

  TEST_CASE("with synchronous = normal nothing is fsync'd at commit") {
    TempDir dir;
    Store store(options_for(dir)); // normal
    create_table(store);
    std::vector<Outcome> outcomes;
    run_as_group(store, {insert_value(1)}, outcomes, {Durability::fsynced});
    CHECK(store.stats().fsynced_transactions == 0);
  }

  TEST_CASE("the WAL is checkpointed by a thread of its own each time it grows by the threshold") {
    TempDir dir;
    auto options = options_for(dir);
    options.checkpoint_pages = 40;
    options.synchronous = Synchronous::normal; // fast; the checkpoints are the subject
    const auto wal = dir.file("laporsms.db-wal");
    const auto db_file = dir.file("laporsms.db");
    const auto size_before = std::filesystem::file_size(db_file);
    {
      Store store(options);
      create_table(store);
      const std::string blob(3000, 'x'); // about a page a row
      for (int i = 0; i < 400; ++i) {
        store.execute_blocking([&blob, i](Connection& db) {
          db.prepare("INSERT INTO t (v, b) VALUES (?, ?)").bind(1, i).bind(2, blob).run();
          return 1;
        });
        // A pause now and then, as traffic has: the writer ends a WAL cycle
        // only when nobody waits, and back-to-back tasks can leave it no
        // such moment (the next one is queued before it looks).
        if (i % 25 == 24) {
          std::this_thread::sleep_for(20ms);
        }
      }
      // Passive checkpoints, each after ~40 pages: at least a few by now
      // (bounded wait: the thread runs on its own time).
      for (int k = 0; k < 200 && store.stats().checkpoints < 3; ++k) {
        std::this_thread::sleep_for(10ms);
      }
      CHECK(store.stats().checkpoints >= 3);
      // Copied back into the database file, while the store runs.
      CHECK(std::filesystem::file_size(db_file) > size_before + 200 * 3000);
      // The WAL starts again from its beginning instead of holding all 400:
      // the writer copies the last frames of a cycle when its queue is empty.
      CHECK(store.stats().writer_checkpoints >= 1);
      CHECK(std::filesystem::file_size(wal) < 400 * 3000);
    }
    Connection reopened(db_file, OpenMode::read_only);
    CHECK(reopened.query_int("SELECT count(*) FROM t") == 400);
  }

  TEST_CASE("checkpoint_pages = 0 leaves the checkpoints to SQLite inside the COMMIT") {
    TempDir dir;
    auto options = options_for(dir);
    options.checkpoint_pages = 0;
    Store store(options);
    create_table(store);
    for (int i = 0; i < 20; ++i) {
      store.execute_blocking(insert_value(i));
    }
    CHECK(store.stats().checkpoints == 0);
  }

  TEST_CASE("max_batch bounds how many tasks one transaction takes") {
    TempDir dir;
    Store store(options_for(dir, 4));
    create_table(store);
    std::vector<TaskFn> fns;
    for (int i = 0; i < 10; ++i) {
      fns.push_back(insert_value(i));
    }
    const auto before = store.stats();
    std::vector<Outcome> outcomes;
    run_as_group(store, fns, outcomes);
    const auto after = store.stats();
    // The gate, then 4 + 4 + 2.
    CHECK(after.transactions - before.transactions == 4);
    CHECK(after.tasks - before.tasks == 11);
    for (const auto& outcome : outcomes) {
      CHECK(outcome.value);
    }
    CHECK(count_committed(store.path()) == 10);
  }

  TEST_CASE("a task that throws rolls back only its own writes") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    const std::vector<TaskFn> fns{
        insert_value(1),
        [](Connection& db) -> std::int64_t {
          insert_value(2)(db);
          insert_value(3)(db);
          throw std::runtime_error("validation failed");
        },
        insert_value(4),
        [](Connection& db) -> std::int64_t {
          insert_value(5)(db);
          return insert_value(1)(db); // UNIQUE violation after a good insert
        },
        insert_value(6),
    };
    const auto before = store.stats();
    std::vector<Outcome> outcomes;
    run_as_group(store, fns, outcomes);

    CHECK(store.stats().transactions - before.transactions == 2);
    CHECK(store.stats().failed_commits == 0);
    // Found on the fast path, then run again task by task.
    CHECK(store.stats().isolated_batches - before.isolated_batches == 1);
    CHECK(outcomes[0].value);
    CHECK(outcomes[2].value);
    CHECK(outcomes[4].value);
    REQUIRE(outcomes[1].error);
    CHECK_THROWS_WITH_AS(std::rethrow_exception(outcomes[1].error), "validation failed",
                         std::runtime_error);
    CHECK_FALSE(outcomes[1].value);
    REQUIRE(outcomes[3].error);
    CHECK(sqlite_code(outcomes[3].error) == SQLITE_CONSTRAINT_UNIQUE);
    CHECK(count_committed(store.path()) == 3);
    CHECK(count_committed(store.path(), "v IN (1, 4, 6)") == 3);
  }

  TEST_CASE("results resume the caller on the io thread") {
    TempDir dir;
    // Declared before the store so that it outlives the writer's last post().
    asio::io_context io;
    Store store(options_for(dir));
    create_table(store);
    const auto writer =
        store.execute_blocking([](Connection&) { return std::this_thread::get_id(); });
    CHECK(writer != std::this_thread::get_id());

    std::vector<std::thread::id> ran_on(3);
    std::vector<TaskFn> fns;
    for (std::size_t i = 0; i < ran_on.size(); ++i) {
      fns.push_back([&ran_on, i](Connection& db) {
        ran_on[i] = std::this_thread::get_id();
        return insert_value(static_cast<std::int64_t>(i))(db);
      });
    }
    std::vector<Outcome> outcomes;
    spawn_all(io, store, fns, outcomes);
    io.run();
    for (std::size_t i = 0; i < fns.size(); ++i) {
      CHECK(outcomes[i].value);
      CHECK(ran_on[i] == writer);
      CHECK(outcomes[i].resumed_on == std::this_thread::get_id());
    }
  }

  TEST_CASE("a failed COMMIT reaches every task of the batch and stores nothing") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    store.execute_blocking([](Connection& db) {
      // A deferred foreign key is checked only at COMMIT: a sure way to make
      // the COMMIT itself fail.
      db.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY);"
              "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER "
              "REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
      return 0;
    });
    const std::vector<TaskFn> fns{
        insert_value(1),
        [](Connection& db) -> std::int64_t {
          db.exec("INSERT INTO child (parent_id) VALUES (42)");
          return db.last_insert_rowid();
        },
        insert_value(2),
    };
    const auto before = store.stats();
    std::vector<Outcome> outcomes;
    run_as_group(store, fns, outcomes);

    for (const auto& outcome : outcomes) {
      REQUIRE(outcome.error);
      CHECK_FALSE(outcome.value);
      CHECK(sqlite_code(outcome.error) == SQLITE_CONSTRAINT_FOREIGNKEY);
    }
    CHECK(store.stats().failed_commits - before.failed_commits == 1);
    CHECK(count_committed(store.path()) == 0);
    {
      Connection reader(store.path(), OpenMode::read_only);
      CHECK(reader.query_int("SELECT count(*) FROM child") == 0);
    }
    // The writer carries on with the next batch.
    CHECK(store.execute_blocking(insert_value(3)) > 0);
    CHECK(count_committed(store.path()) == 1);
  }

  TEST_CASE("a database locked by another writer fails the batch with a transient error") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    Connection other(store.path(), OpenMode::read_write_create);
    other.exec("BEGIN IMMEDIATE");
    // Waits out the store's busy timeout (200 ms), then gives up.
    try {
      store.execute_blocking(insert_value(1));
      FAIL("wrote past another writer's lock");
    } catch (const SqliteError& e) {
      CHECK((e.code() & 0xff) == SQLITE_BUSY);
      CHECK(e.is_transient());
    }
    other.exec("ROLLBACK");
    CHECK(store.execute_blocking(insert_value(2)) > 0);
    CHECK(count_committed(store.path()) == 1);
    CHECK(count_committed(store.path(), "v = 1") == 0);
  }

  // BUG (src/store/store.cpp, Store::run_batch): SQLITE_FULL from a statement
  // that has no statement journal makes SQLite roll back the whole
  // transaction. run_batch does not notice: the tasks after the failing one
  // run in autocommit mode ("SAVEPOINT task" opens a new transaction and
  // "RELEASE task" commits it), and the final COMMIT fails with "cannot
  // commit - no transaction is active" (SQLITE_ERROR, not transient), which
  // replaces the real SQLITE_FULL for every task. So a later batch-mate's
  // rows stay stored although it is told that it failed (an acknowledged
  // deliver_sm would then be answered with an error and redelivered).
  TEST_CASE("a full database mid-batch fails every task of the batch and stores nothing") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    store.execute_blocking([](Connection& db) {
      const auto pages = db.query_int("PRAGMA page_count");
      db.exec("PRAGMA max_page_count = " + std::to_string(pages + 1));
      return 0;
    });
    const std::vector<TaskFn> fns{
        insert_value(1),
        [](Connection& db) -> std::int64_t {
          db.exec("INSERT INTO t (v, b) VALUES (2, zeroblob(200000))");
          return db.last_insert_rowid();
        },
        insert_value(3),
    };
    std::vector<Outcome> outcomes;
    run_as_group(store, fns, outcomes);

    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      CAPTURE(i);
      CHECK(outcomes[i].error);
      CHECK_FALSE(outcomes[i].value);
      // A full disk clears by itself: the SMSC must be told to retry.
      CHECK(transient(outcomes[i].error));
    }
    CHECK(count_committed(store.path()) == 0);

    store.execute_blocking([](Connection& db) {
      db.exec("PRAGMA max_page_count = 1000000");
      return 0;
    });
    CHECK(store.execute_blocking(insert_value(4)) > 0);
    CHECK(count_committed(store.path(), "v = 4") == 1);
  }

  TEST_CASE("the destructor runs queued work before it stops") {
    TempDir dir;
    const auto path = dir.file("laporsms.db");
    std::optional<Store> store;
    store.emplace(options_for(dir));
    create_table(*store);
    std::vector<TaskFn> fns;
    for (int i = 0; i < 20; ++i) {
      fns.push_back(insert_value(i));
    }
    asio::io_context io;
    std::vector<Outcome> outcomes;
    {
      WriterGate gate(*store);
      spawn_all(io, *store, fns, outcomes);
      io.poll(); // every coroutine queues its task and waits
      for (const auto& outcome : outcomes) {
        REQUIRE_FALSE(outcome.value);
      }
      std::thread closer([&store] { store.reset(); });
      // Lets the destructor flag the stop while the tasks still wait behind
      // the gate; without the pause the test still passes, but proves less.
      std::this_thread::sleep_for(20ms);
      gate.open();
      closer.join();
    }
    CHECK_FALSE(store.has_value());
    io.run(); // the completions were posted to us
    for (const auto& outcome : outcomes) {
      CHECK_FALSE(outcome.error);
      CHECK(outcome.value);
    }
    CHECK(count_committed(path) == 20);
  }

  TEST_CASE("after stop() new work fails with StoreStopped instead of waiting forever") {
    TempDir dir;
    Store store(options_for(dir));
    create_table(store);
    store.stop();
    store.stop(); // idempotent
    CHECK_THROWS_AS(store.execute_blocking([](Connection&) { return 1; }), StoreStopped);
    asio::io_context io;
    std::vector<Outcome> outcomes;
    const std::vector<TaskFn> fns = {insert_value(1)};
    spawn_all(io, store, fns, outcomes);
    io.run();
    REQUIRE(outcomes.size() == 1);
    CHECK(outcomes[0].error);
    CHECK_FALSE(outcomes[0].value);
  }
}

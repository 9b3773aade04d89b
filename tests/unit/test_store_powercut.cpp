// Power cuts, not just crashes: the store runs on a VFS that keeps what was
// never fsync'd apart from the "disk" (powercut_vfs.hpp), the power goes off
// at a random instant under load, and the database that comes back must hold
// every task the store acknowledged as fsynced, exactly once, intact.
//
// A run prints its seed; LAPORSMS_POWERCUT_SEED=<seed> replays its cut
// instants and what each cut keeps (the interleaving of threads still varies).

#include <laporsms/store/intake.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/log.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "powercut_vfs.hpp"
#include "store_test_util.hpp"

using namespace laporsms::store;
using laporsms::awaitable;
using powercut::PowercutVfs;
using store_test::TempDir;
namespace asio = laporsms::asio;
namespace applog = laporsms::log;

namespace {

std::uint64_t seed_for_run() {
  if (const char* env = std::getenv("LAPORSMS_POWERCUT_SEED"); env != nullptr && *env != '\0') {
    return std::stoull(env);
  }
  std::random_device device;
  return (std::uint64_t{device()} << 32) | device();
}

// A dying store warns that it cannot sync; after a cut that is expected.
class QuietLog {
public:
  QuietLog() {
    for (const auto level : {applog::Level::debug, applog::Level::info, applog::Level::warning}) {
      if (applog::enabled(level)) {
        m_before = level;
        break;
      }
    }
    applog::set_level(applog::Level::error);
  }
  QuietLog(const QuietLog&) = delete;
  QuietLog& operator=(const QuietLog&) = delete;
  ~QuietLog() { applog::set_level(m_before); }

private:
  applog::Level m_before = applog::Level::error;
};

// --- Driving the store as the daemon does ---

// One task the io thread saw complete without error.
struct Ack {
  std::int64_t fingerprint = 0; // the MO's, unique to it
  Durability durability = Durability::fsynced;
  std::int64_t inbound_id = 0;
  std::int64_t report_id = 0;
  std::string ref;
};

struct Load {
  Load(Store& s, const IntakePolicy& p) : store(s), policy(p) {}
  Store& store;
  const IntakePolicy& policy;
  std::atomic<bool> stopping{false};
  std::vector<Ack> acks;                    // in the order the io thread resumed them: commit order
  std::atomic<std::size_t> fsynced_acks{0}; // read by the cutting thread
  std::size_t failed = 0;
};

std::atomic<std::int64_t> g_senders{0};

// Files one report after another, as the intake does for each deliver_sm,
// until told to stop. Every third is `written` (as the claims are), the rest
// `fsynced` (as an MO that is acknowledged next).
awaitable<void> submit_until_stopped(Load& load, int worker) {
  for (int n = 0; !load.stopping.load(); ++n) {
    const auto durability = (worker + n) % 3 == 0 ? Durability::written : Durability::fsynced;
    const auto sender = ++g_senders; // one report each: no sender limit applies
    auto sms = store_test::make_sms(fmt::format("62812{:08}", sender),
                                    fmt::format("LAPORYAI jalan rusak di gang {} no {}", worker, n),
                                    store_test::k_t0 + sender);
    const auto fingerprint = sms.fingerprint;
    const IntakePolicy* policy = &load.policy;
    auto task = [sms = std::move(sms), policy](Connection& db) {
      return record_inbound(db, sms, *policy);
    };
    try {
      auto result = co_await load.store.execute(std::move(task), durability);
      load.acks.push_back(Ack{fingerprint, durability, result.inbound_id,
                              result.report_id.value_or(0), result.ref});
      if (durability == Durability::fsynced) {
        load.fsynced_acks.fetch_add(1);
      }
    } catch (...) {
      ++load.failed; // after the cut: never acknowledged
    }
  }
}

// --- What the rebooted database holds ---

struct Found {
  std::int64_t count = 0;
  std::int64_t inbound_id = 0;
  std::int64_t report_id = 0;
  std::string ref;
};

struct Snapshot {
  std::string integrity;
  std::map<std::int64_t, Found> by_fingerprint;
};

// Opens the database as the daemon does after the reboot (a plain Store on
// the default VFS) and reads back every MO.
Snapshot read_back(const std::filesystem::path& path) {
  Store store(StoreOptions{.path = path, .synchronous = Synchronous::full});
  return store.execute_blocking([](Connection& db) {
    Snapshot s;
    auto check = db.prepare_uncached("PRAGMA integrity_check");
    while (check->step()) {
      s.integrity += (s.integrity.empty() ? "" : "; ") + check->column_text(0);
    }
    auto rows = db.prepare_uncached(
        "SELECT i.fingerprint, count(*), min(i.id), min(i.report_id), min(r.ref) "
        "FROM inbound i LEFT JOIN reports r ON r.id = i.report_id GROUP BY i.fingerprint");
    while (rows->step()) {
      s.by_fingerprint[rows->column_int(0)] =
          Found{rows->column_int(1), rows->column_int(2), rows->column_int(3),
                rows->column_optional_text(4).value_or("")};
    }
    return s;
  });
}

bool intact(const Snapshot& snapshot, const Ack& ack) {
  const auto it = snapshot.by_fingerprint.find(ack.fingerprint);
  return it != snapshot.by_fingerprint.end() && it->second.count == 1 &&
         it->second.inbound_id == ack.inbound_id && it->second.report_id == ack.report_id &&
         it->second.ref == ack.ref;
}

struct Tally {
  int cuts = 0;
  int instant_cuts = 0;            // the others came at a write or sync
  int stuck = 0;                   // rounds where no I/O came to cut at
  std::size_t fsynced_checked = 0; // acknowledged as fsynced, looked for after the cut
  std::size_t fsynced_lost = 0;
  std::size_t written_checked = 0;   // written, acknowledged before a later fsynced task
  std::size_t written_lost = 0;      // ... and missing
  std::size_t written_unordered = 0; // written after the last fsynced one: may be lost
  std::size_t earlier_lost = 0;      // survived an earlier cut, missing after a later one
  std::size_t duplicates = 0;
  std::size_t damaged = 0; // reboots whose integrity_check was not "ok"
  std::size_t failed_tasks = 0;
  std::size_t writes_kept = 0;
  std::size_t writes_dropped = 0;
};

constexpr int k_workers = 16;

// `cuts` rounds on one database: the store under load, the power cut at a
// random instant, the reboot, the check. What survived a round is looked for
// again after every later one.
Tally power_cuts(Synchronous synchronous, int cuts, std::uint64_t seed) {
  TempDir dir;
  const auto path = dir.file("laporsms.db");
  {
    Connection db(path, OpenMode::read_write_create);
    db.exec("PRAGMA journal_mode = WAL");
    migrate(db);
  }
  QuietLog quiet;
  PowercutVfs vfs;
  std::mt19937_64 rng(seed);
  const auto policy = store_test::test_policy();
  std::vector<Ack> survivors;
  Tally tally;
  for (int round = 0; round < cuts; ++round) {
    std::vector<Ack> acks;
    {
      Store store(StoreOptions{.path = path, .synchronous = synchronous, .vfs = vfs.name()});
      asio::io_context io;
      Load load(store, policy);
      for (int worker = 0; worker < k_workers; ++worker) {
        asio::co_spawn(io, submit_until_stopped(load, worker), asio::detached);
      }
      std::thread io_thread([&io] { io.run(); });
      const auto on_for = std::chrono::microseconds(std::uniform_int_distribution(500, 25000)(rng));
      std::this_thread::sleep_for(on_for);
      // Under load: at least one fsynced acknowledgement before the cut,
      // also on a slow (sanitized) build.
      for (int wait = 0; wait < 500 && load.fsynced_acks.load() == 0; ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      // Mostly at one of the next writes or syncs, so that the cut lands
      // inside a commit or a checkpoint; sometimes at this very instant.
      if (std::bernoulli_distribution(0.25)(rng)) {
        vfs.cut();
        ++tally.instant_cuts;
      } else {
        vfs.cut_after(std::uniform_int_distribution(0u, 40u)(rng));
        if (!vfs.wait_for_cut(std::chrono::seconds(5))) {
          vfs.cut(); // no I/O for that long: the load is stuck
          ++tally.stuck;
        }
      }
      // What is in flight fails or was done before the cut; nothing after it
      // reaches the disk.
      load.stopping = true;
      store.stop();
      io_thread.join();
      acks = std::move(load.acks);
      tally.failed_tasks += load.failed;
    } // the dead store closes its connection
    const double keep = std::uniform_real_distribution(0.0, 1.0)(rng);
    const auto report = vfs.reboot(keep, rng());
    tally.writes_kept += report.kept;
    tally.writes_dropped += report.dropped;
    ++tally.cuts;

    const auto snapshot = read_back(path);
    CAPTURE(round);
    if (snapshot.integrity != "ok") {
      ++tally.damaged;
      MESSAGE("round ", round, ": integrity_check: ", snapshot.integrity);
    }
    for (const auto& [fingerprint, found] : snapshot.by_fingerprint) {
      tally.duplicates += found.count > 1 ? 1 : 0;
    }
    for (const auto& ack : survivors) {
      tally.earlier_lost += intact(snapshot, ack) ? 0 : 1;
    }
    // A written commit is durable once a later fsynced one is (the WAL is
    // synced as a whole, in order): all of them before the last fsynced ack.
    std::size_t last_fsynced = 0;
    for (std::size_t i = 0; i < acks.size(); ++i) {
      if (acks[i].durability == Durability::fsynced) {
        last_fsynced = i + 1;
      }
    }
    for (std::size_t i = 0; i < acks.size(); ++i) {
      const bool there = intact(snapshot, acks[i]);
      if (acks[i].durability == Durability::fsynced) {
        ++tally.fsynced_checked;
        tally.fsynced_lost += there ? 0 : 1;
      } else if (i < last_fsynced) {
        ++tally.written_checked;
        tally.written_lost += there ? 0 : 1;
      } else {
        ++tally.written_unordered;
      }
      if (there) {
        survivors.push_back(acks[i]);
      }
    }
  }
  return tally;
}

void report(const char* what, std::uint64_t seed, const Tally& t,
            std::chrono::steady_clock::duration took) {
  MESSAGE(fmt::format(
      "{} (seed {}): {} cuts ({} at an instant, the rest at a write or sync); acknowledged fsynced "
      "tasks checked {}, lost {}; written tasks "
      "checked {}, lost {} (and {} after the last fsynced one, not required); survivors of "
      "earlier cuts lost {}; duplicates {}; damaged {}; failed tasks {}; unsynced writes kept "
      "{}, dropped {}; {} ms",
      what, seed, t.cuts, t.instant_cuts, t.fsynced_checked, t.fsynced_lost, t.written_checked,
      t.written_lost, t.written_unordered, t.earlier_lost, t.duplicates, t.damaged, t.failed_tasks,
      t.writes_kept, t.writes_dropped,
      std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
}

// --- The VFS on its own ---

// One file opened straight through a VFS, as SQLite opens a database.
class RawFile {
public:
  RawFile(const std::string& vfs_name, const std::filesystem::path& path)
      : m_vfs(sqlite3_vfs_find(vfs_name.c_str())), m_path(path.string()) {
    if (m_vfs == nullptr) {
      throw std::runtime_error("no VFS " + vfs_name);
    }
    m_memory.resize(static_cast<std::size_t>(m_vfs->szOsFile) / sizeof(std::max_align_t) + 1);
    int out = 0;
    const int rc =
        m_vfs->xOpen(m_vfs, m_path.c_str(), file(),
                     SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &out);
    if (rc != SQLITE_OK) {
      throw std::runtime_error("cannot open " + m_path);
    }
    m_open = true;
  }
  RawFile(const RawFile&) = delete;
  RawFile& operator=(const RawFile&) = delete;
  ~RawFile() { close(); }

  int write(std::string_view bytes, sqlite3_int64 offset) {
    return file()->pMethods->xWrite(file(), bytes.data(), static_cast<int>(bytes.size()), offset);
  }
  int sync() { return file()->pMethods->xSync(file(), SQLITE_SYNC_NORMAL); }
  int truncate(sqlite3_int64 size) { return file()->pMethods->xTruncate(file(), size); }
  std::string read(sqlite3_int64 offset, int amount) {
    std::string out(static_cast<std::size_t>(amount), '\0');
    const int rc = file()->pMethods->xRead(file(), out.data(), amount, offset);
    return rc == SQLITE_OK ? out : "<read failed>";
  }
  void close() {
    if (m_open) {
      file()->pMethods->xClose(file());
      m_open = false;
    }
  }

private:
  sqlite3_file* file() { return reinterpret_cast<sqlite3_file*>(m_memory.data()); }

  sqlite3_vfs* m_vfs;
  std::string m_path;
  std::vector<std::max_align_t> m_memory;
  bool m_open = false;
};

std::string on_disk(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

} // namespace

TEST_SUITE("store::powercut") {

  TEST_CASE("the VFS: a write is on the disk after its sync, not before") {
    TempDir dir;
    const auto path = dir.file("raw.db");
    PowercutVfs vfs;
    RawFile file(vfs.name(), path);
    REQUIRE(file.write("durable", 0) == SQLITE_OK);
    REQUIRE(file.sync() == SQLITE_OK);
    REQUIRE(file.write("-lost", 7) == SQLITE_OK);
    CHECK(vfs.unsynced_writes() == 1);
    // The page cache: this process reads what it wrote.
    CHECK(file.read(0, 12) == "durable-lost");

    vfs.cut();
    CHECK(file.write("after", 0) == SQLITE_IOERR_WRITE);
    CHECK(file.sync() == SQLITE_IOERR_FSYNC);
    CHECK(file.truncate(0) == SQLITE_IOERR_TRUNCATE);
    CHECK_THROWS_AS(vfs.reboot(0.0, 1), std::logic_error); // still open
    file.close();
    const auto report = vfs.reboot(0.0, 1);
    CHECK(report.files == 1);
    CHECK(report.dropped == 1);
    CHECK(report.kept == 0);
    CHECK(on_disk(path) == "durable");
    CHECK(vfs.unsynced_writes() == 0);
  }

  TEST_CASE("the VFS: overwrites and truncates since the sync are undone, or kept by the disk") {
    TempDir dir;
    const auto path = dir.file("raw.db");
    PowercutVfs vfs;
    {
      RawFile file(vfs.name(), path);
      REQUIRE(file.write("AAAAAAAA", 0) == SQLITE_OK);
      REQUIRE(file.sync() == SQLITE_OK);
      REQUIRE(file.write("BB", 2) == SQLITE_OK);
      REQUIRE(file.truncate(4) == SQLITE_OK);
      REQUIRE(file.write("CCCC", 6) == SQLITE_OK); // past the end: a hole, then CCCC
      CHECK(file.read(0, 10) == std::string("AABB\0\0CCCC", 10));
      vfs.cut();
    }
    CHECK(vfs.reboot(0.0, 7).dropped == 3);
    CHECK(on_disk(path) == "AAAAAAAA");

    {
      RawFile file(vfs.name(), path); // usable again after the reboot
      REQUIRE(file.write("DD", 0) == SQLITE_OK);
      REQUIRE(file.truncate(6) == SQLITE_OK);
      vfs.cut();
    }
    // A disk that got every write out before the power went.
    CHECK(vfs.reboot(1.0, 7).kept == 2);
    CHECK(on_disk(path) == "DDAAAA");
  }

  TEST_CASE("the VFS: cut_after cuts the power at a chosen write or sync") {
    TempDir dir;
    const auto path = dir.file("raw.db");
    PowercutVfs vfs;
    {
      RawFile file(vfs.name(), path);
      vfs.cut_after(2);
      CHECK(file.write("one", 0) == SQLITE_OK);
      CHECK(file.sync() == SQLITE_OK);
      CHECK_FALSE(vfs.wait_for_cut(std::chrono::milliseconds(0)));
      CHECK(file.write("two", 3) == SQLITE_IOERR_WRITE); // the third: the power goes
      CHECK(vfs.wait_for_cut(std::chrono::milliseconds(0)));
      CHECK(file.sync() == SQLITE_IOERR_FSYNC);
    }
    CHECK(vfs.reboot(0.0, 1).dropped == 0);
    CHECK(on_disk(path) == "one");
  }

  TEST_CASE(
      "the VFS under SQLite: a commit is kept by a cut with synchronous=FULL, lost with OFF") {
    PowercutVfs vfs;
    for (const bool full : {true, false}) {
      CAPTURE(full);
      TempDir dir;
      const auto path = dir.file("t.db");
      {
        Connection db(path, OpenMode::read_write_create, vfs.name());
        db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; CREATE TABLE t (v)");
        db.exec(full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
        db.exec("INSERT INTO t VALUES (1)");
        CHECK(db.query_int("SELECT count(*) FROM t") == 1);
        CHECK(std::filesystem::exists(dir.file("t.db-shm")));
        vfs.cut();
      }
      const auto report = vfs.reboot(0.0, 3);
      CHECK((report.dropped > 0) == !full);
      CHECK_FALSE(std::filesystem::exists(dir.file("t.db-shm")));
      Connection db(path, OpenMode::read_write_create);
      CHECK(*store_test::query_text(db, "PRAGMA integrity_check") == "ok");
      CHECK(db.query_int("SELECT count(*) FROM t") == (full ? 1 : 0));
    }
  }

  TEST_CASE("every task acknowledged as fsynced survives power cuts under load") {
    const auto seed = seed_for_run();
    INFO("seed ", seed, " (LAPORSMS_POWERCUT_SEED replays it)");
    const auto start = std::chrono::steady_clock::now();
    const auto t = power_cuts(Synchronous::full, 24, seed);
    report("synchronous=full", seed, t, std::chrono::steady_clock::now() - start);
    CHECK(t.cuts >= 20);
    CHECK(t.stuck == 0);
    CHECK(t.fsynced_lost == 0);
    CHECK(t.written_lost == 0);
    CHECK(t.earlier_lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.damaged == 0);
    // It was under load, and the cuts took something.
    CHECK(t.fsynced_checked >= static_cast<std::size_t>(t.cuts));
    CHECK(t.written_checked > 0);
    CHECK(t.writes_dropped > 0);
  }

  // The test of the test: without an fsync at each commit the same harness
  // must see acknowledged tasks vanish, or the VFS is not cutting anything.
  TEST_CASE("without fsync at commit (synchronous=normal) the cuts do lose acknowledged tasks") {
    const auto seed = seed_for_run();
    INFO("seed ", seed, " (LAPORSMS_POWERCUT_SEED replays it)");
    const auto start = std::chrono::steady_clock::now();
    const auto t = power_cuts(Synchronous::normal, 20, seed);
    report("synchronous=normal", seed, t, std::chrono::steady_clock::now() - start);
    CHECK(t.cuts >= 20);
    CHECK(t.fsynced_checked > 0);
    CHECK(t.fsynced_lost > 0);
    // Lost whole, never damaged or doubled.
    CHECK(t.earlier_lost == 0);
    CHECK(t.duplicates == 0);
    CHECK(t.damaged == 0);
  }
}

#include <laporsms/store/sqlite.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms::store;
using store_test::TempDir;

namespace {

// A scratch connection with one table of every column type.
struct Scratch {
  Scratch() {
    // No fsyncs: durability is not what these tests are about, speed is.
    db.exec("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;"
            "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, "
            "u TEXT UNIQUE)");
  }

  TempDir dir;
  Connection db{dir.file("scratch.db"), OpenMode::read_write_create};
};

} // namespace

TEST_SUITE("store::Connection") {

  TEST_CASE("integers, reals and text round-trip through binds") {
    Scratch s;
    const std::string with_nul("a\0b", 3);
    auto& insert = s.db.prepare("INSERT INTO t (i, r, s, u) VALUES (?, ?, ?, ?)");
    insert.bind(1, std::int64_t{-9'007'199'254'740'993})
        .bind(2, 2.5)
        .bind(3, "Jl. Ahmad Yani — berlubang")
        .bind(4, with_nul);
    insert.run();
    CHECK(s.db.last_insert_rowid() == 1);
    CHECK(s.db.changes() == 1);

    auto& bools = s.db.prepare("INSERT INTO t (i, r) VALUES (?, ?)");
    bools.bind(1, true).bind(2, 7u);
    bools.run();

    auto& select = s.db.prepare("SELECT i, r, s, u, typeof(r) FROM t ORDER BY id");
    REQUIRE(select.step());
    CHECK(select.column_int(0) == -9'007'199'254'740'993);
    CHECK(select.column_text(1) == "2.5");
    CHECK(select.column_text(2) == "Jl. Ahmad Yani — berlubang");
    CHECK(select.column_text(3) == with_nul);
    CHECK(select.column_text(4) == "real");
    REQUIRE(select.step());
    CHECK(select.column_int(0) == 1);
    CHECK(select.column_int(1) == 7);
    CHECK_FALSE(select.step());
  }

  TEST_CASE("blobs keep their zero bytes and an empty blob is not NULL") {
    Scratch s;
    const std::vector<std::uint8_t> bytes{0x00, 0x41, 0x00, 0x00, 0xff, 0x00};
    const std::vector<std::uint8_t> empty;
    auto& insert = s.db.prepare("INSERT INTO t (id, b) VALUES (?, ?)");
    insert.bind(1, 1).bind_blob(2, bytes);
    insert.run();
    insert.reset();
    insert.bind(1, 2).bind_blob(2, empty);
    insert.run();

    auto& select = s.db.prepare("SELECT b, typeof(b), length(b) FROM t ORDER BY id");
    REQUIRE(select.step());
    CHECK(select.column_blob(0) == bytes);
    CHECK(select.column_text(1) == "blob");
    CHECK(select.column_int(2) == 6);
    REQUIRE(select.step());
    CHECK_FALSE(select.column_is_null(0));
    CHECK(select.column_text(1) == "blob");
    CHECK(select.column_int(2) == 0);
    CHECK(select.column_blob(0).empty());
  }

  TEST_CASE("optional binds and columns map NULL to nullopt") {
    Scratch s;
    auto& insert = s.db.prepare("INSERT INTO t (id, i, s) VALUES (?, ?, ?)");
    insert.bind(1, 1).bind(2, std::optional<std::int64_t>{}).bind(3, std::optional<std::string>{});
    insert.run();
    insert.reset();
    insert.bind(1, 2)
        .bind(2, std::optional<std::int64_t>{0})
        .bind(3, std::optional<std::string>{""});
    insert.run();

    auto& select = s.db.prepare("SELECT i, s FROM t ORDER BY id");
    REQUIRE(select.step());
    CHECK(select.column_is_null(0));
    CHECK(select.column_optional_int(0) == std::nullopt);
    CHECK(select.column_optional_text(1) == std::nullopt);
    CHECK(select.column_blob(1).empty());
    REQUIRE(select.step());
    // Zero and the empty string are values, not NULL.
    CHECK(select.column_optional_int(0) == std::optional<std::int64_t>{0});
    CHECK(select.column_optional_text(1) == std::optional<std::string>{""});
  }

  TEST_CASE("prepare returns the cached statement, reset and without bindings") {
    Scratch s;
    s.db.exec("INSERT INTO t (id, i) VALUES (1, 10), (2, 20), (3, 30)");
    const std::string sql = "SELECT id, ? FROM t ORDER BY id";
    auto& first = s.db.prepare(sql);
    first.bind(1, "bound");
    REQUIRE(first.step());
    CHECK(first.column_int(0) == 1);
    CHECK(first.column_text(1) == "bound");

    // Taken again mid-iteration: the same object, back at the first row and
    // with the old binding cleared.
    auto& again = s.db.prepare(sql);
    CHECK(&again == &first);
    REQUIRE(again.step());
    CHECK(again.column_int(0) == 1);
    CHECK(again.column_is_null(1));

    auto& other = s.db.prepare("SELECT count(*) FROM t");
    CHECK(&other != &first);

    // An uncached statement is a separate object each time.
    auto one = s.db.prepare_uncached(sql);
    auto two = s.db.prepare_uncached(sql);
    CHECK(one.get() != two.get());
    CHECK(one.get() != &first);
    REQUIRE(one->step());
    REQUIRE(one->step());
    REQUIRE(two->step());
    CHECK(one->column_int(0) == 2);
    CHECK(two->column_int(0) == 1);
  }

  TEST_CASE("query_int reads a single integer") {
    Scratch s;
    CHECK(s.db.query_int("SELECT count(*) FROM t") == 0);
    s.db.exec("INSERT INTO t (id) VALUES (1), (2)");
    CHECK(s.db.changes() == 2);
    CHECK(s.db.query_int("SELECT count(*) FROM t") == 2);
    CHECK(s.db.query_int("SELECT id FROM t WHERE id > 100") == 0);
    s.db.exec("PRAGMA user_version = 7");
    CHECK(s.db.query_int("PRAGMA user_version") == 7);
  }

  TEST_CASE("a constraint violation throws SqliteError with its extended code") {
    Scratch s;
    auto& insert = s.db.prepare("INSERT INTO t (u) VALUES (?)");
    insert.bind(1, "x");
    insert.run();
    insert.reset();
    insert.bind(1, "x");
    try {
      insert.run();
      FAIL("a duplicate was accepted");
    } catch (const SqliteError& e) {
      CHECK(e.code() == SQLITE_CONSTRAINT_UNIQUE);
      CHECK_FALSE(e.is_transient());
      CHECK(std::string(e.what()).find("UNIQUE") != std::string::npos);
      CHECK(std::string(e.what()).find("INSERT INTO t") != std::string::npos);
    }
    // The statement is usable again after the failure.
    insert.reset();
    insert.bind(1, "y");
    insert.run();
    CHECK(s.db.query_int("SELECT count(*) FROM t") == 2);
  }

  TEST_CASE("bad SQL throws from exec and prepare with SQLITE_ERROR") {
    Scratch s;
    try {
      s.db.exec("INSERT INTO nowhere VALUES (1)");
      FAIL("exec accepted a missing table");
    } catch (const SqliteError& e) {
      CHECK(e.code() == SQLITE_ERROR);
      CHECK_FALSE(e.is_transient());
      CHECK(std::string(e.what()).find("nowhere") != std::string::npos);
    }
    CHECK_THROWS_AS(s.db.prepare("SELEC 1"), SqliteError);
    CHECK_THROWS_AS(s.db.prepare_uncached("SELECT * FROM nowhere"), SqliteError);
    // A failed prepare leaves nothing behind in the cache.
    CHECK_THROWS_AS(s.db.prepare("SELEC 1"), SqliteError);
  }

  TEST_CASE("a full database is a transient SQLITE_FULL") {
    Scratch s;
    s.db.exec("INSERT INTO t (id, s) VALUES (1, 'kept')");
    const auto pages = s.db.query_int("PRAGMA page_count");
    s.db.exec("PRAGMA max_page_count = " + std::to_string(pages + 1));
    auto& insert = s.db.prepare("INSERT INTO t (b) VALUES (zeroblob(?))");
    insert.bind(1, 64 * 1024);
    try {
      insert.run();
      FAIL("64 KiB fitted into one spare page");
    } catch (const SqliteError& e) {
      CHECK((e.code() & 0xff) == SQLITE_FULL);
      CHECK(e.is_transient());
    }
    CHECK(s.db.query_int("SELECT count(*) FROM t") == 1);
    // Room again: the connection keeps working.
    s.db.exec("PRAGMA max_page_count = 1000000");
    insert.reset();
    insert.bind(1, 64 * 1024);
    insert.run();
    CHECK(s.db.query_int("SELECT count(*) FROM t") == 2);
  }

  TEST_CASE("is_transient is true only for faults that clear by themselves") {
    for (const int code : {SQLITE_FULL, SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED,
                           SQLITE_IOERR, SQLITE_IOERR_FSYNC, SQLITE_IOERR_WRITE, SQLITE_NOMEM,
                           SQLITE_CANTOPEN, SQLITE_PROTOCOL, SQLITE_READONLY}) {
      CAPTURE(code);
      CHECK(SqliteError(code, "x").is_transient());
    }
    for (const int code :
         {SQLITE_ERROR, SQLITE_CONSTRAINT, SQLITE_CONSTRAINT_FOREIGNKEY, SQLITE_CORRUPT,
          SQLITE_MISUSE, SQLITE_MISMATCH, SQLITE_NOTADB, SQLITE_SCHEMA}) {
      CAPTURE(code);
      CHECK_FALSE(SqliteError(code, "x").is_transient());
    }
    const SqliteError e(SQLITE_IOERR_FSYNC, "fsync failed");
    CHECK(e.code() == SQLITE_IOERR_FSYNC);
    CHECK(std::string(e.what()) == "fsync failed");
  }

  TEST_CASE("check passes OK, ROW and DONE and throws for anything else") {
    CHECK_NOTHROW(check(nullptr, SQLITE_OK, "ok"));
    CHECK_NOTHROW(check(nullptr, SQLITE_ROW, "row"));
    CHECK_NOTHROW(check(nullptr, SQLITE_DONE, "done"));
    try {
      check(nullptr, SQLITE_BUSY, "opening the queue");
      FAIL("SQLITE_BUSY passed");
    } catch (const SqliteError& e) {
      CHECK(e.code() == SQLITE_BUSY);
      CHECK(std::string(e.what()).find("opening the queue") != std::string::npos);
    }
  }

  TEST_CASE("a read-only connection reads but refuses writes") {
    TempDir dir;
    const auto path = dir.file("ro.db");
    {
      Connection rw(path, OpenMode::read_write_create);
      rw.exec("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER); "
              "INSERT INTO t VALUES (1)");
    }
    Connection ro(path, OpenMode::read_only);
    CHECK(ro.query_int("SELECT x FROM t") == 1);
    try {
      ro.exec("INSERT INTO t VALUES (2)");
      FAIL("a read-only connection wrote");
    } catch (const SqliteError& e) {
      CHECK((e.code() & 0xff) == SQLITE_READONLY);
    }
    auto& update = ro.prepare("UPDATE t SET x = ?");
    update.bind(1, 5);
    CHECK_THROWS_AS(update.run(), SqliteError);
    CHECK_THROWS_AS(ro.exec("CREATE TABLE u (y)"), SqliteError);
    CHECK(ro.query_int("SELECT x FROM t") == 1);
    CHECK(ro.query_int("SELECT count(*) FROM t") == 1);
  }

  TEST_CASE("a missing file cannot be opened read-only") {
    TempDir dir;
    const auto path = dir.file("absent.db");
    try {
      Connection ro(path, OpenMode::read_only);
      FAIL("opened a file that does not exist");
    } catch (const SqliteError& e) {
      CHECK((e.code() & 0xff) == SQLITE_CANTOPEN);
      CHECK(std::string(e.what()).find(path.string()) != std::string::npos);
    }
    CHECK_FALSE(std::filesystem::exists(path));
    // read_write_create creates it.
    Connection rw(path, OpenMode::read_write_create);
    rw.exec("PRAGMA synchronous = OFF; CREATE TABLE t (x)");
    CHECK(std::filesystem::exists(path));
  }
}

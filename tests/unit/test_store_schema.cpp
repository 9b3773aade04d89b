#include <laporsms/store/schema.hpp>
#include <laporsms/store/store.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "store_test_util.hpp"

using namespace laporsms::store;
using store_test::TempDir;

namespace {

// Every table, index and its SQL, in a stable order: the whole schema as text.
std::string schema_text(Connection& db) {
  auto stmt = db.prepare_uncached(
      "SELECT type || ' ' || name || ' ' || coalesce(sql, '') FROM sqlite_master ORDER BY name");
  std::string text;
  while (stmt->step()) {
    text += stmt->column_text(0);
    text += '\n';
  }
  return text;
}

// SQLite's plan for `sql`, its detail lines joined.
std::string plan_of(Connection& db, const std::string& sql) {
  auto stmt = db.prepare_uncached("EXPLAIN QUERY PLAN " + sql);
  std::string plan;
  while (stmt->step()) {
    plan += stmt->column_text(3);
    plan += '\n';
  }
  return plan;
}

} // namespace

TEST_SUITE("store::schema") {

  TEST_CASE("pruning a report's SMS finds them by index, never by a table scan") {
    TempDir dir;
    Connection db(dir.file("plan.db"), OpenMode::read_write_create);
    migrate(db);
    for (const char* sql : {"DELETE FROM inbound WHERE report_id = 1",
                            "UPDATE inbound SET text = '', raw = x'' WHERE report_id = 1",
                            "DELETE FROM inbound_parts WHERE inbound_id IN "
                            "(SELECT id FROM inbound WHERE report_id = 1)"}) {
      CAPTURE(sql);
      const auto plan = plan_of(db, sql);
      CAPTURE(plan);
      CHECK(plan.find("SCAN") == std::string::npos);
    }
  }

  TEST_CASE("a report is found by its tracking id through the index, never by a table scan") {
    TempDir dir;
    Connection db(dir.file("plan.db"), OpenMode::read_write_create);
    migrate(db);
    const auto plan = plan_of(
        db, "SELECT id FROM reports WHERE tracking_id = '1916449' ORDER BY id DESC LIMIT 1");
    CAPTURE(plan);
    CHECK(plan.find("reports_tracking") != std::string::npos);
    CHECK(plan.find("SCAN reports") == std::string::npos);
  }

  TEST_CASE("a report is found by its ref through the id the ref gives; nothing indexes refs") {
    TempDir dir;
    Connection db(dir.file("plan11.db"), OpenMode::read_write_create);
    migrate(db);
    const auto plan = plan_of(db, "SELECT 1 FROM reports WHERE id = 7 AND ref = 'MTR4K7Q'");
    CAPTURE(plan);
    CHECK(plan.find("INTEGER PRIMARY KEY") != std::string::npos);
    CHECK(db.query_int("SELECT count(*) FROM pragma_index_list('reports') i, "
                       "pragma_index_info(i.name) c WHERE c.name = 'ref'") == 0);
  }

  TEST_CASE("a row whose report or tracking id is not known yet has no index entry") {
    TempDir dir;
    Connection db(dir.file("partial.db"), OpenMode::read_write_create);
    migrate(db);
    for (const auto& [index, condition] :
         {std::pair{"inbound_report", "report_id IS NOT NULL"},
          std::pair{"reports_tracking", "tracking_id IS NOT NULL"}}) {
      CAPTURE(index);
      const auto sql = store_test::query_text(
          db,
          fmt::format("SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = '{}'", index));
      REQUIRE(sql);
      CHECK(sql->find(condition) != std::string::npos);
    }
  }

  TEST_CASE("a new file is migrated to the current version") {
    TempDir dir;
    Connection db(dir.file("new.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
    REQUIRE(db.query_int("PRAGMA user_version") == 0);
    migrate(db);
    CHECK(current_schema_version() >= 1);
    CHECK(db.query_int("PRAGMA user_version") == current_schema_version());
    for (const char* table : {"reports", "inbound", "outbound", "outbound_parts", "upstream_jobs",
                              "upstream_attempts", "status_history"}) {
      CAPTURE(table);
      CHECK(db.query_int(std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                     "AND name = '") +
                         table + "'") == 1);
    }
    // Not left inside a transaction.
    CHECK(sqlite3_get_autocommit(db.handle()) != 0);
  }

  TEST_CASE("a second migrate changes nothing") {
    TempDir dir;
    const auto path = dir.file("twice.db");
    std::string before;
    {
      Connection db(path, OpenMode::read_write_create);
      db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
      migrate(db);
      db.exec("INSERT INTO reports (ref, msisdn, link, text, rahasia, anonim, state, "
              "received_at, updated_at) VALUES ('MTR2222', '628123', 'l', 'x', 1, 1, "
              "'received', 1, 1)");
      before = schema_text(db);
      migrate(db);
      CHECK(schema_text(db) == before);
    }
    // Also across a reopen, as at the next start.
    Connection db(path, OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
    migrate(db);
    CHECK(db.query_int("PRAGMA user_version") == current_schema_version());
    CHECK(schema_text(db) == before);
    CHECK(db.query_int("SELECT count(*) FROM reports WHERE ref = 'MTR2222'") == 1);
  }

  TEST_CASE("version 2 to 3: replies already in doubt are left to an operator, receipts kept") {
    TempDir dir;
    Connection db(dir.file("v2.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
    migrate(db, 2);
    REQUIRE(db.query_int("PRAGMA user_version") == 2);
    db.exec("INSERT INTO outbound (id, kind, link, msisdn, text, state, submit_started_at, "
            "created_at, updated_at) VALUES (1, 'help', 'l', '628123', 'x', 'unknown', 5, 1, 9), "
            "(2, 'help', 'l', '628123', 'y', 'queued', NULL, 2, 2)");
    db.exec("INSERT INTO early_receipts (message_id, state, received_at) VALUES ('m1', "
            "'delivered', 7)");
    migrate(db);
    CHECK(db.query_int("PRAGMA user_version") == current_schema_version());
    // Version 2 kept no handset for receipts nor the parts accepted before a
    // lost response: judging its replies in doubt could resend them.
    CHECK(db.query_int("SELECT resends FROM outbound WHERE id = 1") == 1);
    CHECK(db.query_int("SELECT resends FROM outbound WHERE id = 2") == 0);
    CHECK(db.query_int("SELECT count(*) FROM early_receipts WHERE message_id = 'm1' AND "
                       "msisdn = '' AND excerpt = ''") == 1);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'outbound_in_doubt'") == 1);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'outbound_claim'") == 0);
  }

  TEST_CASE("version 4 to 5: parts and kept receipts learn their link") {
    TempDir dir;
    Connection db(dir.file("v4.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    migrate(db, 4);
    db.exec("INSERT INTO outbound (id, kind, link, msisdn, text, state, created_at, updated_at) "
            "VALUES (1, 'help', 'telkomsel', '628123', 'x', 'submitted', 1, 1)");
    db.exec("INSERT INTO outbound_parts (outbound_id, part, message_id, state, updated_at) "
            "VALUES (1, 1, 'm1', 'submitted', 1)");
    db.exec("INSERT INTO early_receipts (message_id, state, received_at, msisdn, excerpt) "
            "VALUES ('e1', 'delivered', 7, '628123', 'Hal')");
    migrate(db);
    CHECK(db.query_int("PRAGMA user_version") == current_schema_version());
    CHECK(db.query_int("SELECT count(*) FROM outbound_parts WHERE link = 'telkomsel' AND "
                       "message_id = 'm1'") == 1);
    CHECK(db.query_int("SELECT count(*) FROM early_receipts WHERE link = '' AND message_id = "
                       "'e1' AND msisdn = '628123' AND excerpt = 'Hal' AND received_at = 7") == 1);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'early_receipts_msisdn'") ==
          1);
  }

  TEST_CASE("version 6 to 7: rows kept, checked states, the newest id never given again") {
    TempDir dir;
    Connection db(dir.file("v6.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db, 6);
    db.exec("INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
            "received_at, updated_at, silent) VALUES (1, 'MTR1', '628123', 'l', 'satu', 1, 1, "
            "'forwarded', 1, 1, 0), (2, 'MTR2', '628124', 'l', 'dua', 1, 0, 'received', 2, 2, 1)");
    // Report 3 was the newest, and pruned: its id must stay used.
    db.exec("INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
            "received_at, updated_at) VALUES (3, 'MTR3', '628125', 'l', 'tiga', 1, 1, 'closed', "
            "3, 3)");
    db.exec("DELETE FROM reports WHERE id = 3");
    db.exec("INSERT INTO outbound (id, report_id, kind, link, msisdn, text, state, created_at, "
            "updated_at, claimed_at, resends) VALUES (7, 1, 'received', 'l', '628123', 'x', "
            "'queued', 1, 1, 5, 1)");
    db.exec("INSERT INTO outbound_parts (outbound_id, part, message_id, state, updated_at, link) "
            "VALUES (7, 1, 'm1', 'submitted', 1, 'l')");
    db.exec("INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, "
            "updated_at) VALUES (2, 'pending', 3, 9, 2, 2)");
    db.exec("INSERT INTO inbound (link, received_at, source_addr, msisdn, destination_addr, "
            "data_coding, esm_class, raw, text, command, report_id) VALUES ('l', 1, '08123', "
            "'628123', '1708', 0, 0, x'00', 'satu', 'report', 1)");
    migrate(db);
    REQUIRE(db.query_int("PRAGMA user_version") == current_schema_version());
    CHECK(db.query_int("PRAGMA foreign_keys") == 1);
    CHECK(db.query_int("SELECT count(*) FROM reports WHERE id = 2 AND ref = 'MTR2' AND "
                       "anonim = 0 AND silent = 1 AND state = 'received'") == 1);
    CHECK(db.query_int("SELECT count(*) FROM outbound WHERE id = 7 AND claimed_at = 5 AND "
                       "resends = 1") == 1);
    CHECK(db.query_int("SELECT count(*) FROM outbound_parts WHERE message_id = 'm1'") == 1);
    CHECK(db.query_int("SELECT attempts FROM upstream_jobs WHERE report_id = 2") == 3);
    // The foreign keys name the new tables.
    CHECK(db.query_int("SELECT count(*) FROM pragma_foreign_key_check") == 0);
    CHECK_THROWS(db.exec("INSERT INTO upstream_jobs (report_id, state, next_attempt_at, "
                         "created_at, updated_at) VALUES (99, 'pending', 1, 1, 1)"));
    db.exec("INSERT INTO reports (ref, msisdn, link, text, rahasia, anonim, state, received_at, "
            "updated_at) VALUES ('MTR4', '628126', 'l', 'empat', 1, 1, 'received', 4, 4)");
    CHECK(db.query_int("SELECT id FROM reports WHERE ref = 'MTR4'") == 4);
  }

  TEST_CASE("version 9 to 10: attempts accepted before it are still read from their rows") {
    TempDir dir;
    Connection db(dir.file("v9.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    migrate(db, 9);
    db.exec("INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
            "tracking_id, received_at, updated_at) VALUES (1, 'MTR1', '628123', 'l', 'satu', 1, "
            "1, 'forwarded', '555', 1, 1)");
    db.exec("INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, "
            "updated_at) VALUES (1, 'done', 2, 9, 1, 9)");
    db.exec("INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome, error) "
            "VALUES (1, 2, 3, 'temporary', 'HTTP 503'), (1, 7, 9, 'delivered', NULL)");
    db.exec("INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, "
            "updated_at) VALUES (1, 'rate_limited', 'l', '628123', 'x', 'delivered', 1, 1), "
            "(NULL, 'help', 'l', '628123', 'y', 'delivered', 2, 2)");
    migrate(db);
    REQUIRE(db.query_int("PRAGMA user_version") == current_schema_version());
    CHECK(db.query_int("SELECT count(*) FROM upstream_attempt_log WHERE report_id = 1") == 2);
    CHECK(db.query_int("SELECT finished_at FROM upstream_attempt_log WHERE report_id = 1 AND "
                       "outcome = 'delivered'") == 9);
    CHECK(db.query_int("SELECT delivered_at IS NULL FROM upstream_jobs WHERE report_id = 1") == 1);
    // The replies already stored are in the new indexes.
    CHECK(db.query_int("SELECT count(*) FROM outbound INDEXED BY outbound_rate_limited WHERE "
                       "kind = 'rate_limited' AND msisdn = '628123'") == 1);
    CHECK(db.query_int("SELECT count(*) FROM outbound INDEXED BY outbound_stray_to WHERE "
                       "report_id IS NULL AND msisdn = '628123'") == 1);
  }

  TEST_CASE("version 10 to 11: reports kept with their refs, the newest id never given again") {
    TempDir dir;
    Connection db(dir.file("v10.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    db.exec("PRAGMA foreign_keys = ON");
    migrate(db, 10);
    db.exec("INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
            "tracking_id, received_at, updated_at, silent, status_polled_at) VALUES (1, 'MTR1', "
            "'628123', 'l', 'satu', 1, 1, 'forwarded', '555', 1, 1, 0, 4), (2, 'MTR2', '628124', "
            "'l', 'dua', 1, 0, 'received', NULL, 2, 2, 1, NULL), (3, 'MTR3', '628125', 'l', "
            "'tiga', 1, 1, 'closed', NULL, 3, 3, 0, NULL)");
    db.exec("DELETE FROM reports WHERE id = 3"); // the newest, pruned: its id stays used
    db.exec("INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, "
            "updated_at) VALUES (2, 'pending', 1, 9, 2, 2)");
    db.exec("INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, "
            "updated_at) VALUES (1, 'received', 'l', '628123', 'x', 'delivered', 1, 1)");
    migrate(db);
    REQUIRE(db.query_int("PRAGMA user_version") == current_schema_version());
    CHECK(db.query_int("PRAGMA foreign_keys") == 1);
    CHECK(db.query_int("SELECT count(*) FROM reports WHERE id = 1 AND ref = 'MTR1' AND "
                       "tracking_id = '555' AND status_polled_at = 4") == 1);
    CHECK(db.query_int("SELECT count(*) FROM reports WHERE id = 2 AND ref = 'MTR2' AND "
                       "anonim = 0 AND silent = 1 AND state = 'received'") == 1);
    CHECK(db.query_int("SELECT count(*) FROM pragma_foreign_key_check") == 0);
    for (const char* index :
         {"reports_msisdn", "reports_state", "reports_poll", "reports_tracking"}) {
      CAPTURE(index);
      CHECK(db.query_int(fmt::format("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                                     "name = '{}' AND tbl_name = 'reports'",
                                     index)) == 1);
    }
    db.exec("INSERT INTO reports (ref, msisdn, link, text, rahasia, anonim, state, received_at, "
            "updated_at) VALUES ('MTR4', '628126', 'l', 'empat', 1, 1, 'received', 4, 4)");
    CHECK(db.query_int("SELECT id FROM reports WHERE ref = 'MTR4'") == 4);
    CHECK_THROWS(db.exec("INSERT INTO reports (ref, msisdn, link, text, rahasia, anonim, state, "
                         "received_at, updated_at) VALUES ('MTR5', '628127', 'l', 'lima', 1, 1, "
                         "'nonsense', 5, 5)"));
  }

  TEST_CASE("a database near its size cap still migrates: the cap applies after") {
    TempDir dir;
    const auto path = dir.file("capped.db");
    {
      Connection db(path, OpenMode::read_write_create);
      db.exec("PRAGMA synchronous = OFF");
      migrate(db, 6);
      // About 1.5 MiB of reports: building the table anew needs twice that
      // for a moment, more than the 2 MiB cap.
      db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
              "INSERT INTO reports (ref, msisdn, link, text, rahasia, anonim, state, received_at, "
              "updated_at) SELECT 'MTR' || i, '628123', 'l', printf('%.1000c', 'x'), 1, 1, "
              "'closed', i, i FROM n");
      db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    REQUIRE(std::filesystem::file_size(path) < 2 * 1024 * 1024);
    StoreOptions options;
    options.path = path;
    options.max_size_mb = 2;
    Store store(options);
    const auto version =
        store.execute_blocking([](Connection& db) { return db.query_int("PRAGMA user_version"); });
    CHECK(version == current_schema_version());
    const auto rows = store.execute_blocking(
        [](Connection& db) { return db.query_int("SELECT count(*) FROM reports"); });
    CHECK(rows == 1000);
  }

  TEST_CASE("replies are found by number only where they are few: limits and doubt") {
    TempDir dir;
    Connection db(dir.file("plan10.db"), OpenMode::read_write_create);
    migrate(db);
    const auto limited = plan_of(db, "SELECT 1 FROM outbound WHERE kind = 'rate_limited' AND "
                                     "msisdn = '628123' AND created_at > 5 LIMIT 1");
    CAPTURE(limited);
    CHECK(limited.find("outbound_rate_limited") != std::string::npos);
    const auto help = plan_of(db, "SELECT 1 FROM outbound WHERE report_id IS NULL AND msisdn = "
                                  "'628123' AND kind = 'help' AND created_at > 5 LIMIT 1");
    CAPTURE(help);
    CHECK(help.find("outbound_stray_to") != std::string::npos);
    CHECK(help.find("SCAN") == std::string::npos);

    // A report's replies, the bulk of all, have no entry by number.
    db.exec(
        "INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
        "received_at, updated_at) VALUES (1, 'R1', '628123', 'l', 't', 0, 0, 'received', 1, 1)");
    for (const char* kind : {"received", "forwarded", "status_changed"}) {
      db.exec(fmt::format("INSERT INTO outbound (kind, link, msisdn, text, state, created_at, "
                          "updated_at, report_id) VALUES ('{}', 'l', '628123', 'x', 'queued', 1, "
                          "1, 1)",
                          kind));
    }
    CHECK(db.query_int("SELECT count(*) FROM outbound INDEXED BY outbound_stray_to "
                       "WHERE report_id IS NULL AND msisdn = '628123'") == 0);
    CHECK(db.query_int("SELECT count(*) FROM outbound INDEXED BY outbound_rate_limited "
                       "WHERE kind = 'rate_limited' AND msisdn = '628123'") == 0);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND "
                       "sql LIKE '%outbound(msisdn%' AND sql NOT LIKE '%WHERE%'") == 0);
  }

  TEST_CASE("a report's attempts are read from both homes by index") {
    TempDir dir;
    Connection db(dir.file("plan10a.db"), OpenMode::read_write_create);
    migrate(db);
    for (const char* sql :
         {"SELECT started_at, finished_at, outcome, error FROM upstream_attempt_log "
          "WHERE report_id = 7 ORDER BY finished_at",
          // laporctl stats' form, per report of the period
          "SELECT r.id, coalesce((SELECT j.delivered_at FROM upstream_jobs j WHERE j.report_id = "
          "r.id), (SELECT min(a.finished_at) FROM upstream_attempts a WHERE a.report_id = r.id "
          "AND a.outcome = 'delivered')) FROM reports r WHERE r.id = 7"}) {
      CAPTURE(sql);
      const auto plan = plan_of(db, sql);
      CAPTURE(plan);
      for (const char* table :
           {"SCAN upstream_attempts\n", "SCAN upstream_jobs\n", "SCAN a\n", "SCAN j\n"}) {
        CHECK(plan.find(table) == std::string::npos);
      }
    }
  }

  TEST_CASE("the hot queues are read through their partial indexes") {
    TempDir dir;
    Connection db(dir.file("plan7.db"), OpenMode::read_write_create);
    migrate(db);
    const auto claim = plan_of(db, "SELECT id FROM outbound INDEXED BY outbound_queue WHERE "
                                   "state = 'queued' AND link = 'l' AND claimed_at IS NULL "
                                   "ORDER BY id LIMIT 10");
    CAPTURE(claim);
    CHECK(claim.find("USING INDEX outbound_queue") != std::string::npos);
    CHECK(claim.find("TEMP B-TREE") == std::string::npos);
    const auto due = plan_of(db, "SELECT min(next_attempt_at) FROM upstream_jobs WHERE "
                                 "state = 'pending'");
    CAPTURE(due);
    CHECK(due.find("upstream_due") != std::string::npos);
    const auto poll =
        plan_of(db, "SELECT id FROM reports INDEXED BY reports_poll WHERE state = 'forwarded' AND "
                    "tracking_id IS NOT NULL AND coalesce(status_polled_at, 0) < 5 "
                    "ORDER BY coalesce(status_polled_at, 0), id LIMIT 8");
    CAPTURE(poll);
    CHECK(poll.find("reports_poll") != std::string::npos);
    CHECK(poll.find("TEMP B-TREE") == std::string::npos);
    for (const char* sql : {"SELECT count(*) FROM outbound WHERE state = 'unknown'",
                            "SELECT id FROM outbound WHERE updated_at < 5 AND state IN "
                            "('delivered', 'expired', 'undeliverable') AND report_id IS NULL"}) {
      CAPTURE(sql);
      const auto plan = plan_of(db, sql);
      CAPTURE(plan);
      CHECK(plan.find("INDEX outbound_") != std::string::npos); // not the whole table
    }
    // A delivered reply is in no queue index.
    db.exec("INSERT INTO outbound (kind, link, msisdn, text, state, created_at, updated_at, "
            "report_id) VALUES ('received', 'l', '628123', 'x', 'delivered', 1, 1, NULL)");
    CHECK(db.query_int("SELECT count(*) FROM outbound INDEXED BY outbound_queue "
                       "WHERE state = 'queued'") == 0);
  }

  TEST_CASE("a schema newer than this build is refused with a clear message") {
    TempDir dir;
    const auto path = dir.file("newer.db");
    const int newer = current_schema_version() + 1;
    {
      Connection db(path, OpenMode::read_write_create);
      db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
      db.exec("PRAGMA user_version = " + std::to_string(newer));
    }
    {
      Connection db(path, OpenMode::read_write_create);
      db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
      try {
        migrate(db);
        FAIL("a newer schema was accepted");
      } catch (const SchemaError& e) {
        const std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("newer") != std::string::npos);
        CHECK(what.find(std::to_string(newer)) != std::string::npos);
        CHECK(what.find(std::to_string(current_schema_version())) != std::string::npos);
      }
      // Nothing was touched.
      CHECK(db.query_int("PRAGMA user_version") == newer);
      CHECK(db.query_int("SELECT count(*) FROM sqlite_master") == 0);
    }
    // The Store refuses to start on it as well.
    CHECK_THROWS_AS(Store(StoreOptions{.path = path, .synchronous = Synchronous::normal}),
                    SchemaError);
  }

  TEST_CASE("a failed migration leaves the file as it was") {
    TempDir dir;
    Connection db(dir.file("clash.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF"); // no fsyncs: fast tests
    // A table in the way makes the first migration fail half-way.
    db.exec("CREATE TABLE status_history (x INTEGER)");
    CHECK_THROWS_AS(migrate(db), SqliteError);
    CHECK(db.query_int("PRAGMA user_version") == 0);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master WHERE name = 'reports'") == 0);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master") == 1);
    CHECK(sqlite3_get_autocommit(db.handle()) != 0);
  }

  TEST_CASE("a full disk during migration is transient and leaves the file unmigrated") {
    TempDir dir;
    Connection db(dir.file("full.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF; PRAGMA max_page_count = 2");
    try {
      migrate(db);
      FAIL("the schema fitted into two pages");
    } catch (const SqliteError& e) {
      CHECK((e.code() & 0xff) == SQLITE_FULL);
      CHECK(e.is_transient());
    }
    CHECK(db.query_int("PRAGMA user_version") == 0);
    CHECK(db.query_int("SELECT count(*) FROM sqlite_master") == 0);
    CHECK(sqlite3_get_autocommit(db.handle()) != 0);
    // Once there is room, the same file migrates.
    db.exec("PRAGMA max_page_count = 1000000");
    migrate(db);
    CHECK(db.query_int("PRAGMA user_version") == current_schema_version());
  }
}

#include <laporsms/store/backup.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/store.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <thread>

#include "store_test_util.hpp"

using namespace laporsms::store;
using store_test::TempDir;

namespace {

std::int64_t reports_in(const std::filesystem::path& path) {
  Connection db(read_only_uri(path), OpenMode::read_only);
  return db.query_int("SELECT count(*) FROM reports");
}

// Overwrites `length` bytes at `offset` of the file with 0xA5.
void scribble(const std::filesystem::path& path, std::streamoff offset, std::size_t length) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(offset);
  const std::string junk(length, '\xA5');
  file.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  REQUIRE(file.good());
}

} // namespace

TEST_SUITE("store::backup") {

  TEST_CASE("a backup taken while the writer files reports holds every report filed before it") {
    TempDir dir;
    const auto live = dir.file("laporsms.db");
    Store store(StoreOptions{.path = live});
    std::atomic<int> filed{0};
    std::atomic<bool> writing{true};
    // The daemon's writer keeps filing while the backup is made.
    std::thread writer([&] {
      for (int i = 0; writing && i < 100000; ++i) {
        store.execute_blocking([i](Connection& db) {
          return store_test::file_report(db, fmt::format("62812{:08}", i),
                                         fmt::format("jalan rusak nomor {} di kelurahan", i),
                                         store_test::k_t0 + i);
        });
        filed = i + 1;
      }
    });
    while (filed < 200) {
      std::this_thread::yield();
    }
    const int before = filed.load();
    const auto target = dir.file("backup.db");
    const auto summary = backup_database(live, target);
    writing = false;
    writer.join();

    CHECK(summary.reports >= before);
    CHECK(summary.reports <= filed.load());
    CHECK(reports_in(target) == summary.reports);
    CHECK(summary.pages > 0);
    CHECK(summary.bytes == static_cast<std::int64_t>(std::filesystem::file_size(target)));
    // One file, no WAL beside it, 0640, and sound.
    CHECK_FALSE(std::filesystem::exists(dir.file("backup.db-wal")));
    CHECK_FALSE(std::filesystem::exists(dir.file(".backup.db.partial")));
    {
      Connection copy(target, OpenMode::read_write_create);
      auto& mode = copy.prepare("PRAGMA journal_mode");
      REQUIRE(mode.step());
      CHECK(mode.column_text(0) == "delete");
      mode.reset();
    }
    struct stat st {};
    REQUIRE(::stat(target.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0640);
    const auto verdict = check_database(target);
    CHECK(verdict.sound);
    CHECK(verdict.problems.empty());
    CHECK(verdict.schema_version == current_schema_version());
    CHECK(verdict.reports == summary.reports);
  }

  TEST_CASE("a second backup replaces the first only once it is whole") {
    TempDir dir;
    const auto live = dir.file("laporsms.db");
    const auto target = dir.file("backup.db");
    {
      Store store(StoreOptions{.path = live});
      store.execute_blocking([](Connection& db) {
        return store_test::file_report(db, "6281200000001", "sampah menumpuk di pasar",
                                       store_test::k_t0);
      });
    }
    CHECK(backup_database(live, target).reports == 1);
    // A source that is not there: the earlier backup is left as it was.
    CHECK_THROWS_WITH(backup_database(dir.file("missing.db"), target),
                      doctest::Contains("no database"));
    CHECK(reports_in(target) == 1);
    {
      Store store(StoreOptions{.path = live});
      store.execute_blocking([](Connection& db) {
        return store_test::file_report(db, "6281200000002", "lampu jalan mati dua minggu",
                                       store_test::k_t0 + 1);
      });
    }
    CHECK(backup_database(live, target).reports == 2);
    CHECK(reports_in(target) == 2);
  }

  TEST_CASE("check tells a damaged database, a foreign file and a newer schema from a sound one") {
    TempDir dir;
    const auto live = dir.file("laporsms.db");
    {
      Store store(StoreOptions{.path = live});
      for (int i = 0; i < 300; ++i) {
        store.execute_blocking([i](Connection& db) {
          return store_test::file_report(db, fmt::format("62813{:08}", i),
                                         fmt::format("saluran air tersumbat di gang {}", i),
                                         store_test::k_t0 + i);
        });
      }
    }
    const auto good = dir.file("good.db");
    backup_database(live, good);
    REQUIRE(check_database(good).sound);

    SUBCASE("pages scribbled over") {
      const auto bad = dir.file("bad.db");
      std::filesystem::copy_file(good, bad);
      const auto size = static_cast<std::streamoff>(std::filesystem::file_size(bad));
      // Somewhere in the middle: a table or index page, not the header.
      scribble(bad, size / 2, 3000);
      const auto verdict = check_database(bad);
      CHECK_FALSE(verdict.sound);
      CHECK_FALSE(verdict.problems.empty());
    }
    SUBCASE("not a database at all") {
      const auto text = dir.file("notes.db");
      std::ofstream(text) << std::string(8192, 'x');
      const auto verdict = check_database(text);
      CHECK_FALSE(verdict.sound);
      REQUIRE(verdict.problems.size() == 1);
      CHECK(verdict.problems.front().find("not a database") != std::string::npos);
    }
    SUBCASE("written by a later laporsms") {
      {
        Connection db(good, OpenMode::read_write_create);
        db.exec(fmt::format("PRAGMA user_version = {}", current_schema_version() + 1));
      }
      const auto verdict = check_database(good);
      CHECK_FALSE(verdict.sound);
      REQUIRE_FALSE(verdict.problems.empty());
      CHECK(verdict.problems.front().find("newer") != std::string::npos);
    }
    SUBCASE("a missing file is an error, not a verdict") {
      CHECK_THROWS_WITH(check_database(dir.file("missing.db")), doctest::Contains("no database"));
    }
  }
}

#include <laporsms/store/backup.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace laporsms::store {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t k_max_problems = 100;

void require_database(const fs::path& path) {
  if (!fs::exists(path)) {
    throw std::runtime_error("no database at " + path.string());
  }
}

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

// fsync of a file or a folder by name.
void sync_path(const fs::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    throw_errno("open " + path.string());
  }
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) {
    errno = saved;
    throw_errno("fsync " + path.string());
  }
}

void remove_quietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

// The copy is made under a name of its own in the target's folder, so the
// final rename is atomic and never crosses a file system.
fs::path partial_name(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".partial");
}

void copy_in_one_step(Connection& source, Connection& copy) {
  sqlite3_backup* backup = sqlite3_backup_init(copy.handle(), "main", source.handle(), "main");
  if (backup == nullptr) {
    check(copy.handle(), sqlite3_errcode(copy.handle()), "backup");
  }
  // -1: every page in one step, inside one read transaction of the source.
  // BUSY only comes while another connection recovers the WAL: wait a little.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 50; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
      break;
    }
    sqlite3_sleep(100);
  }
  const int finished = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    throw SqliteError(rc, fmt::format("backup: {} (code {})", sqlite3_errstr(rc), rc));
  }
  check(copy.handle(), finished, "backup");
}

} // namespace

BackupSummary backup_database(const fs::path& source_path, const fs::path& target) {
  const auto started = std::chrono::steady_clock::now();
  require_database(source_path);
  Connection source(read_only_uri(source_path), OpenMode::read_only);
  const auto partial = partial_name(target);
  const auto partial_journal = fs::path(partial.string() + "-journal");
  remove_quietly(partial);
  remove_quietly(partial_journal);
  // Created here, so it is 0640 from its first byte whatever the umask.
  const int fd = ::open(partial.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0640);
  if (fd < 0) {
    throw_errno("create " + partial.string());
  }
  ::close(fd);
  BackupSummary summary;
  try {
    {
      Connection copy(partial, OpenMode::read_write_create);
      copy_in_one_step(source, copy);
      // The pages carry the source's WAL mode; a backup is one file.
      copy.exec("PRAGMA journal_mode = DELETE");
      auto& quick = copy.prepare("PRAGMA quick_check");
      const auto verdict = quick.step() ? quick.column_text(0) : std::string("no answer");
      quick.reset();
      if (verdict != "ok") {
        throw std::runtime_error("the copy fails SQLite's quick check: " + verdict);
      }
      summary.pages = copy.query_int("PRAGMA page_count");
      summary.bytes = summary.pages * copy.query_int("PRAGMA page_size");
      summary.reports = copy.query_int("SELECT count(*) FROM reports");
    }
    sync_path(partial, O_RDONLY);
    fs::rename(partial, target);
    sync_path(target.parent_path().empty() ? fs::path(".") : target.parent_path(),
              O_RDONLY | O_DIRECTORY);
  } catch (...) {
    remove_quietly(partial);
    remove_quietly(partial_journal);
    throw;
  }
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

CheckReport check_database(const fs::path& path) {
  require_database(path);
  CheckReport report;
  const auto problem = [&report](std::string text) {
    report.sound = false;
    if (report.problems.size() < k_max_problems) {
      report.problems.push_back(std::move(text));
    }
  };
  try {
    Connection db(read_only_uri(path), OpenMode::read_only);
    report.schema_version = static_cast<int>(db.query_int("PRAGMA user_version"));
    if (report.schema_version > current_schema_version()) {
      problem(fmt::format("schema version {} is newer than this laporctl's {}: check it with the "
                          "laporctl of the laporsms that wrote it",
                          report.schema_version, current_schema_version()));
    }
    report.pages = db.query_int("PRAGMA page_count");
    auto integrity = db.prepare_uncached(fmt::format("PRAGMA integrity_check({})", k_max_problems));
    while (integrity->step()) {
      auto line = integrity->column_text(0);
      if (line != "ok") {
        problem(std::move(line));
      }
    }
    auto foreign = db.prepare_uncached("PRAGMA foreign_key_check");
    while (foreign->step()) {
      problem(fmt::format("foreign key: row {} of {} refers to a missing row of {}",
                          foreign->column_optional_int(1).value_or(0), foreign->column_text(0),
                          foreign->column_text(2)));
    }
    if (report.schema_version > 0 && report.sound) {
      report.reports = db.query_int("SELECT count(*) FROM reports");
    }
  } catch (const SqliteError& e) {
    // A file that is no database, or a page too damaged to read at all.
    problem(e.what());
  }
  return report;
}

} // namespace laporsms::store

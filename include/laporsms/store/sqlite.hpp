// A thin RAII layer over the SQLite C API: a connection, prepared statements
// cached by their SQL text, and errors that keep SQLite's code.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace laporsms::store {

// A failed SQLite call. `code` is the extended result code (SQLITE_FULL,
// SQLITE_BUSY, SQLITE_IOERR_*, ...), so callers can tell a full disk from a bug.
class SqliteError : public std::runtime_error {
public:
  SqliteError(int code, const std::string& what);
  int code() const { return m_code; }
  // True for faults that clear by themselves (full disk, locked, I/O error):
  // the SMSC should be told to retry, and the daemon keeps running.
  bool is_transient() const;

private:
  int m_code;
};

class Statement {
public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding is 1-based as in SQLite. Each returns *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, unsigned value) {
    return bind(index, static_cast<std::int64_t>(value));
  }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) {
    return bind(index, std::string_view(value));
  }
  Statement& bind_blob(int index, std::span<const std::uint8_t> value);
  Statement& bind_null(int index);
  template <typename T> Statement& bind(int index, const std::optional<T>& value) {
    if (value) {
      return bind(index, *value);
    }
    return bind_null(index);
  }

  // Steps once: true when a row is available, false when done.
  bool step();
  // Steps to completion (for statements that return no rows).
  void run();
  // Clears bindings and resets, ready for reuse.
  void reset();

  std::int64_t column_int(int index) const;
  std::string column_text(int index) const;
  std::optional<std::string> column_optional_text(int index) const;
  std::optional<std::int64_t> column_optional_int(int index) const;
  std::vector<std::uint8_t> column_blob(int index) const;
  bool column_is_null(int index) const;

private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt;
};

enum class OpenMode { read_write_create, read_only };

class Connection {
public:
  // `vfs` names a registered SQLite VFS (sqlite3_vfs_register); empty for
  // SQLite's default. Only tests pass one (tests/unit/powercut_vfs.hpp).
  Connection(const std::filesystem::path& path, OpenMode mode, const std::string& vfs = {});
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements that return nothing.
  void exec(std::string_view sql);
  // A cached prepared statement, reset and ready to bind. The reference stays
  // valid for the connection's life; do not hold it across another prepare
  // of the same SQL.
  Statement& prepare(std::string_view sql);
  // A one-off statement (not cached), for dynamic SQL.
  std::unique_ptr<Statement> prepare_uncached(std::string_view sql);
  std::int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() { return m_db; }

  // A single integer from a query such as "PRAGMA user_version".
  std::int64_t query_int(std::string_view sql);

private:
  sqlite3* m_db = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> m_cache;
};

// The URI that opens `path` read-only ("file:...?mode=ro"), with the
// characters a URI reserves escaped.
std::string read_only_uri(const std::filesystem::path& path);

// Throws SqliteError for a result code that is not OK/ROW/DONE.
void check(sqlite3* db, int rc, std::string_view context);

} // namespace laporsms::store

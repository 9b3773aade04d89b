#include <laporsms/store/sqlite.hpp>

#include <fmt/format.h>
#include <sqlite3.h>

namespace laporsms::store {

SqliteError::SqliteError(int code, const std::string& what)
    : std::runtime_error(what), m_code(code) {}

bool SqliteError::is_transient() const {
  switch (m_code & 0xff) {
  case SQLITE_FULL:
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
  case SQLITE_READONLY:
    return true;
  default:
    return false;
  }
}

void check(sqlite3* db, int rc, std::string_view context) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) {
    return;
  }
  const int extended = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw SqliteError(extended, fmt::format("{}: {} (code {})", context, msg, extended));
}

std::string read_only_uri(const std::filesystem::path& path) {
  std::string uri = "file:";
  for (const char c : path.string()) {
    if (c == '%' || c == '?' || c == '#') {
      uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro";
}

Statement::~Statement() {
  sqlite3_finalize(m_stmt);
}

Statement& Statement::bind(int index, std::int64_t value) {
  check(m_db, sqlite3_bind_int64(m_stmt, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check(m_db, sqlite3_bind_double(m_stmt, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  check(
      m_db,
      sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      "bind");
  return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> value) {
  // A zero-length blob must still be a blob, not NULL.
  static const std::uint8_t k_empty = 0;
  const void* data = value.empty() ? &k_empty : value.data();
  check(m_db, sqlite3_bind_blob64(m_stmt, index, data, value.size(), SQLITE_TRANSIENT), "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  check(m_db, sqlite3_bind_null(m_stmt, index), "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  const int extended = sqlite3_extended_errcode(m_db);
  const std::string what =
      fmt::format("{}: {} (code {})", sqlite3_sql(m_stmt), sqlite3_errmsg(m_db), extended);
  sqlite3_reset(m_stmt);
  throw SqliteError(extended, what);
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(m_stmt, index);
}

std::string Statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(m_stmt, index);
  const int size = sqlite3_column_bytes(m_stmt, index);
  if (text == nullptr) {
    return {};
  }
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::optional<std::string> Statement::column_optional_text(int index) const {
  if (column_is_null(index)) {
    return std::nullopt;
  }
  return column_text(index);
}

std::optional<std::int64_t> Statement::column_optional_int(int index) const {
  if (column_is_null(index)) {
    return std::nullopt;
  }
  return column_int(index);
}

std::vector<std::uint8_t> Statement::column_blob(int index) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
  const int size = sqlite3_column_bytes(m_stmt, index);
  if (data == nullptr || size <= 0) {
    return {};
  }
  return {data, data + size};
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

Connection::Connection(const std::filesystem::path& path, OpenMode mode, const std::string& vfs) {
  const int flags = mode == OpenMode::read_only
                        ? SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
  const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags | SQLITE_OPEN_NOMUTEX,
                                 vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    const std::string msg = m_db != nullptr ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close(m_db);
    m_db = nullptr;
    throw SqliteError(rc, fmt::format("cannot open database {}: {}", path.string(), msg));
  }
  sqlite3_extended_result_codes(m_db, 1);
  // Another process (laporctl, an operator's sqlite3) may hold a lock briefly.
  sqlite3_busy_timeout(m_db, mode == OpenMode::read_only ? 2000 : 200);
}

Connection::~Connection() {
  m_cache.clear();
  sqlite3_close(m_db);
}

void Connection::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string owned(sql);
  const int rc = sqlite3_exec(m_db, owned.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw SqliteError(sqlite3_extended_errcode(m_db), fmt::format("{} ({})", msg, owned));
  }
}

Statement& Connection::prepare(std::string_view sql) {
  auto it = m_cache.find(std::string(sql));
  if (it != m_cache.end()) {
    it->second->reset();
    return *it->second;
  }
  auto stmt = prepare_uncached(sql);
  auto& ref = *stmt;
  m_cache.emplace(std::string(sql), std::move(stmt));
  return ref;
}

std::unique_ptr<Statement> Connection::prepare_uncached(std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(m_db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  check(m_db, rc, sql);
  return std::make_unique<Statement>(m_db, raw);
}

std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(m_db);
}

int Connection::changes() const {
  return sqlite3_changes(m_db);
}

std::int64_t Connection::query_int(std::string_view sql) {
  auto& stmt = prepare(sql);
  const std::int64_t value = stmt.step() ? stmt.column_int(0) : 0;
  stmt.reset();
  return value;
}

} // namespace laporsms::store

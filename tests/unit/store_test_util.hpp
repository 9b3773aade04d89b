// Shared fixtures of the store's unit tests: a private temp directory per
// test, a migrated database in it, and small builders for inbound SMS.
#pragma once

#include <laporsms/store/intake.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/store/store.hpp>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "temp_dir.hpp"

namespace store_test {

using namespace laporsms::store;

// 2026-11-19T08:53:20Z: a plausible "now" for every test, in Unix ms.
inline constexpr std::int64_t k_t0 = 1'795'000'000'000;
inline constexpr std::int64_t k_hour_ms = 3600 * 1000;

using test_util::TempDir;

// A migrated database with the connection settings the Store uses, minus the
// fsyncs (synchronous=OFF) so that tests stay fast.
struct TestDb {
  TestDb() {
    db.exec("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON");
    migrate(db);
  }

  TempDir dir;
  Connection db{dir.file("laporsms.db"), OpenMode::read_write_create};
};

// The first column of the first row of `sql`: nullopt for NULL; throws when
// there is no row, so a test cannot pass by looking at the wrong row.
inline std::optional<std::string> query_text(Connection& db, const std::string& sql) {
  auto stmt = db.prepare_uncached(sql);
  if (!stmt->step()) {
    throw std::runtime_error("no row for: " + sql);
  }
  return stmt->column_optional_text(0);
}

inline std::int64_t count_rows(Connection& db, std::string_view table,
                               std::string_view where = "1") {
  return db.query_int(fmt::format("SELECT count(*) FROM {} WHERE {}", table, where));
}

// One row of the outbound table, as the tests look at it.
struct Reply {
  std::int64_t id = 0;
  std::optional<std::int64_t> report_id;
  std::string kind;
  std::string link;
  std::string msisdn;
  std::string text;
  std::string state;
  std::optional<std::int64_t> submit_started_at;
  std::optional<std::string> last_error;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> claimed_at;
};

inline std::vector<Reply> replies(Connection& db, std::string_view where = "1") {
  auto stmt = db.prepare_uncached(
      fmt::format("SELECT id, report_id, kind, link, msisdn, text, state, submit_started_at, "
                  "last_error, created_at, claimed_at FROM outbound WHERE {} ORDER BY id",
                  where));
  std::vector<Reply> rows;
  while (stmt->step()) {
    rows.push_back(Reply{stmt->column_int(0), stmt->column_optional_int(1), stmt->column_text(2),
                         stmt->column_text(3), stmt->column_text(4), stmt->column_text(5),
                         stmt->column_text(6), stmt->column_optional_int(7),
                         stmt->column_optional_text(8), stmt->column_int(9),
                         stmt->column_optional_int(10)});
  }
  return rows;
}

// The reply with `id`; throws when there is none, so a test cannot pass by
// looking at the wrong row.
inline Reply reply(Connection& db, std::int64_t id) {
  const auto rows = replies(db, fmt::format("id = {}", id));
  if (rows.size() != 1) {
    throw std::runtime_error(fmt::format("no reply {}", id));
  }
  return rows[0];
}

// The state column of the row of `table` whose `key` is `id` ("NULL" when
// null).
inline std::string state_of(Connection& db, std::string_view table, std::string_view key,
                            std::int64_t id) {
  return query_text(db, fmt::format("SELECT state FROM {} WHERE {} = {}", table, key, id))
      .value_or("NULL");
}

// Templates short enough to compare whole, with the placeholders the code fills.
inline ReplyTemplates test_templates() {
  ReplyTemplates t;
  t.received = "Diterima {ref}.";
  t.forwarded = "Laporan {ref} masuk LAPOR! #{tracking_id}.";
  t.status_changed = "Laporan #{tracking_id}: {status}. {note}";
  t.status_reply = "Laporan {ref} (#{tracking_id}): {status}, diperbarui {updated}.";
  t.help = "Format: LAPORYAI isi laporan.";
  t.empty_report = "Isi laporan belum ada.";
  t.unknown_ref = "Nomor {ref} tidak ditemukan.";
  t.rate_limited = "Terlalu banyak laporan.";
  t.failed = "Laporan {ref} gagal diteruskan.";
  return t;
}

inline IntakePolicy test_policy() {
  IntakePolicy policy;
  policy.ref_prefix = "MTR";
  policy.min_report_chars = 10;
  policy.max_reports_per_sender = 5;
  policy.sender_window_ms = k_hour_ms;
  policy.reply_to_short_numbers = false;
  policy.default_rahasia = false;
  policy.default_anonim = false;
  policy.replies = test_templates();
  return policy;
}

inline InboundSms make_sms(std::string_view msisdn, std::string_view text, std::int64_t at,
                           std::string_view link = "telkomsel") {
  InboundSms sms;
  sms.link = std::string(link);
  sms.received_at = at;
  sms.source_addr = std::string(msisdn);
  sms.msisdn = std::string(msisdn);
  sms.destination_addr = "1708";
  sms.raw.assign(text.begin(), text.end());
  sms.body = sms.raw;
  sms.text = std::string(text);
  // Distinct for every message built here, so that no test trips the
  // redelivery check by sending the same words twice.
  static std::atomic<std::int64_t> fingerprints{0};
  sms.fingerprint = ++fingerprints;
  return sms;
}

// Options for a Store on a database migrated here in `dir`, quickly (WAL,
// no fsyncs while migrating), committing with synchronous = normal: for
// stage tests, which look at what a stage wrote, not at its durability.
inline StoreOptions migrated_store_options(const TempDir& dir) {
  auto options = StoreOptions{.path = dir.file("laporsms.db"), .synchronous = Synchronous::normal};
  Connection db(options.path, OpenMode::read_write_create);
  db.exec("PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL");
  migrate(db);
  return options;
}

// Files a report from `msisdn` at `at` as the intake path would; returns the
// report id.
inline std::int64_t file_report(Connection& db, std::string_view msisdn, std::string_view text,
                                std::int64_t at, std::string_view link = "telkomsel") {
  const auto sms = make_sms(msisdn, "LAPORYAI " + std::string(text), at, link);
  const auto result = record_inbound(db, sms, test_policy());
  if (!result.report_id) {
    throw std::runtime_error("report not filed");
  }
  return *result.report_id;
}

} // namespace store_test

#include <laporsms/cli/queries.hpp>
#include <laporsms/sms/ref.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/util/clock.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

using namespace laporsms;
using nlohmann::json;

namespace {

constexpr std::int64_t k_minute = 60 * 1000;
constexpr std::int64_t k_hour = 60 * k_minute;
constexpr std::int64_t k_day = 24 * k_hour;

// Local midnight that starts 2026-11-29, whatever the machine's time zone.
std::int64_t local_midnight() {
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 10;
  tm.tm_mday = 29;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000;
}

const std::int64_t k_midnight = local_midnight();
const std::int64_t k_now = k_midnight + 10 * k_hour;

std::string local_time(std::int64_t ms) {
  return util::format_rfc3339(ms, util::local_utc_offset_minutes(ms));
}

// A migrated database in a private temp directory, filled with a small,
// known history; `db` is the read-only connection laporctl uses.
class QueriesDb {
public:
  QueriesDb() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "laporsms-cli-queries-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
    }
    m_dir = pattern;
    m_writer = std::make_unique<store::Connection>(m_dir / "laporsms.db",
                                                   store::OpenMode::read_write_create);
    // No fsync: the test's data need not survive a power cut, and it keeps the suite fast.
    m_writer->exec("PRAGMA synchronous = OFF");
    store::migrate(*m_writer);
  }
  ~QueriesDb() {
    db.reset();
    m_writer.reset();
    std::error_code ignored;
    std::filesystem::remove_all(m_dir, ignored);
  }
  QueriesDb(const QueriesDb&) = delete;
  QueriesDb& operator=(const QueriesDb&) = delete;

  void exec(const std::string& sql) { m_writer->exec(sql); }

  // A report the tests call `name`, with the ref its id gives under the
  // database's key (a ref is found through its id).
  std::int64_t report(const std::string& name, const std::string& state, std::int64_t received_at,
                      const std::string& tracking_id = "", const std::string& status = "") {
    const auto quoted = [](const std::string& s) {
      return s.empty() ? std::string("NULL") : "'" + s + "'";
    };
    const auto id = m_writer->query_int("SELECT coalesce(max(id), 0) + 1 FROM reports");
    const auto ref =
        sms::make_ref("MTR", static_cast<std::uint64_t>(id), store::deployment_ref_key(*m_writer));
    m_refs[name] = ref;
    m_names[ref] = name;
    exec(fmt::format("INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, "
                     "tracking_id, status, received_at, updated_at) VALUES ({}, '{}', "
                     "'628123456789', 'telkomsel', 'laporan {}', 1, 1, '{}', {}, {}, {}, {})",
                     id, ref, name, state, quoted(tracking_id), quoted(status), received_at,
                     received_at));
    return id;
  }
  std::string ref(const std::string& name) const { return m_refs.at(name); }
  // The name of the report whose ref is `ref`, or `ref` itself.
  std::string name_of(const json& ref) const {
    const auto text = ref.get<std::string>();
    const auto it = m_names.find(text);
    return it == m_names.end() ? text : it->second;
  }

  void inbound(std::optional<std::int64_t> report_id, std::int64_t at, const std::string& text,
               const std::string& msisdn = "628123456789") {
    exec(
        fmt::format("INSERT INTO inbound (link, received_at, source_addr, msisdn, "
                    "destination_addr, data_coding, esm_class, raw, text, command, report_id) "
                    "VALUES ('telkomsel', {}, '{}', '{}', '1708', 0, 0, X'00', '{}', 'report', {})",
                    at, msisdn, msisdn, text, report_id ? std::to_string(*report_id) : "NULL"));
  }

  void outbound(std::optional<std::int64_t> report_id, const std::string& kind,
                const std::string& state, std::int64_t at, const std::string& text) {
    exec(fmt::format("INSERT INTO outbound (report_id, kind, link, msisdn, text, state, "
                     "created_at, updated_at) VALUES ({}, '{}', 'telkomsel', '628123456789', "
                     "'{}', '{}', {}, {})",
                     report_id ? std::to_string(*report_id) : "NULL", kind, text, state, at,
                     at + 1000));
  }

  void job(std::int64_t report_id, const std::string& state, int attempts, std::int64_t at) {
    exec(fmt::format("INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, "
                     "created_at, updated_at) VALUES ({}, '{}', {}, {}, {}, {})",
                     report_id, state, attempts, at, at, at));
  }

  void open_read_only() {
    db = std::make_unique<store::Connection>(m_dir / "laporsms.db", store::OpenMode::read_only);
  }

  std::unique_ptr<store::Connection> db;

private:
  std::filesystem::path m_dir;
  std::unique_ptr<store::Connection> m_writer;
  std::map<std::string, std::string> m_refs;  // name → ref
  std::map<std::string, std::string> m_names; // ref → name
};

// Five reports in every state that matters, with their traffic.
struct History {
  std::int64_t forwarded = 0; // MTR2222, tracking id 1916449
  std::int64_t failed = 0;    // MTR3333
  std::int64_t received = 0;  // MTR4K7Q, the oldest not forwarded yet
  std::int64_t forwarding = 0;
  std::int64_t held = 0;
};

History fill(QueriesDb& q) {
  History h;
  q.exec("BEGIN");
  h.forwarded = q.report("MTR2222", "forwarded", k_now - 3 * k_day, "1916449", "Diproses");
  h.failed = q.report("MTR3333", "failed", k_now - 2 * k_day);
  h.received = q.report("MTR4K7Q", "received", k_now - 2 * k_hour);
  h.forwarding = q.report("MTR5555", "forwarding", k_now - 30 * k_minute);
  h.held = q.report("MTR6666", "held", k_now - 10 * k_minute);

  q.inbound(h.forwarded, k_now - 3 * k_day, "LAPORYAI laporan MTR2222");
  q.inbound(h.failed, k_now - 2 * k_day, "LAPORYAI laporan MTR3333");
  q.inbound(std::nullopt, k_midnight - 1000, "INFO", "628999000111"); // yesterday, just
  q.inbound(h.received, k_now - 2 * k_hour, "LAPORYAI laporan MTR4K7Q");
  q.inbound(h.forwarding, k_now - 30 * k_minute, "LAPORYAI laporan MTR5555");
  q.inbound(h.held, k_now - 10 * k_minute, "LAPORYAI laporan MTR6666");
  q.inbound(std::nullopt, k_midnight, "CEK 1916449"); // today, just

  q.outbound(h.forwarded, "received", "delivered", k_now - 3 * k_day + 1000, "diterima MTR2222");
  q.outbound(h.forwarded, "forwarded", "submitted", k_now - 3 * k_day + 60000, "tracking 1916449");
  q.outbound(h.failed, "failed", "unknown", k_now - 2 * k_day + 5000, "gagal MTR3333");
  q.outbound(h.received, "received", "queued", k_now - 2 * k_hour + 1000, "diterima MTR4K7Q");
  q.outbound(std::nullopt, "help", "queued", k_now - 5 * k_minute, "Format: LAPORYAI");

  q.job(h.forwarded, "done", 2, k_now - 3 * k_day);
  q.job(h.failed, "failed", 30, k_now - 2 * k_day);
  q.job(h.received, "pending", 3, k_now + 5 * k_minute);
  q.job(h.forwarding, "inflight", 1, k_now - 30 * k_minute);
  q.job(h.held, "held", 0, k_now - 10 * k_minute);

  // A failed attempt has its row; the accepted one is kept in its job's.
  q.exec(fmt::format("INSERT INTO upstream_attempts (report_id, started_at, finished_at, outcome, "
                     "error) VALUES ({0}, {1}, {2}, 'temporary', 'HTTP 503')",
                     h.forwarded, k_now - 3 * k_day + 100, k_now - 3 * k_day + 900));
  q.exec(fmt::format("UPDATE upstream_jobs SET delivered_started_at = {1}, delivered_at = {2} "
                     "WHERE report_id = {0}",
                     h.forwarded, k_now - 3 * k_day + 30000, k_now - 3 * k_day + 31000));
  q.exec(fmt::format("INSERT INTO status_history (report_id, status, note, at) VALUES "
                     "({0}, 'Diterima', NULL, {1}), ({0}, 'Diproses', 'diteruskan ke dinas', {2})",
                     h.forwarded, k_now - 2 * k_day, k_now - k_day));
  q.exec("COMMIT");
  q.open_read_only();
  return h;
}

// The names of `reports`, in order.
std::vector<std::string> refs_of(const QueriesDb& q, const json& reports) {
  std::vector<std::string> out;
  for (const auto& r : reports) {
    out.push_back(q.name_of(r["ref"]));
  }
  return out;
}

std::string lower(std::string text) {
  for (auto& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

using Refs = std::vector<std::string>;

} // namespace

TEST_SUITE("cli::queries") {
  TEST_CASE("queue_depths of an empty database are all zero") {
    QueriesDb q;
    q.open_read_only();
    const auto depths = cli::queue_depths(*q.db, k_now);
    CHECK(depths["upstream_pending"] == 0);
    CHECK(depths["upstream_failed"] == 0);
    CHECK(depths["outbound_pending"] == 0);
    CHECK(depths["oldest_unforwarded_age_s"] == 0);
    CHECK(depths["inbound_today"] == 0);
  }

  TEST_CASE("queue_depths counts each queue") {
    QueriesDb q;
    fill(q);
    const auto depths = cli::queue_depths(*q.db, k_now);
    CHECK(depths["upstream_pending"] == 2); // pending and inflight
    CHECK(depths["upstream_failed"] == 1);
    CHECK(depths["outbound_pending"] == 2);
    CHECK(depths["oldest_unforwarded_age_s"] == 2 * 3600); // MTR4K7Q, received 2 h ago
    CHECK(depths["inbound_today"] == 4);                   // since local midnight, inclusive
    CHECK(depths["held"] == 1);
    CHECK(depths["replies_unknown"] == 1);
  }

  TEST_CASE("list_reports gives the newest first") {
    QueriesDb q;
    fill(q);
    const auto reports = cli::list_reports(*q.db, cli::ReportFilter{});
    CHECK(refs_of(q, reports) == Refs{"MTR6666", "MTR5555", "MTR4K7Q", "MTR3333", "MTR2222"});
    const auto& oldest = reports[4];
    CHECK(oldest["tracking_id"] == "1916449");
    CHECK(oldest["msisdn"] == "628123456789");
    CHECK(oldest["state"] == "forwarded");
    CHECK(oldest["status"] == "Diproses");
    CHECK(oldest["text"] == "laporan MTR2222");
    CHECK(oldest["link"] == "telkomsel");
    CHECK(oldest["received_at"] == local_time(k_now - 3 * k_day));
    CHECK(reports[0]["tracking_id"].is_null());
    CHECK(reports[0]["status"].is_null());
  }

  TEST_CASE("list_reports filters by state") {
    QueriesDb q;
    fill(q);
    cli::ReportFilter filter;
    filter.state = "failed";
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR3333"});
    filter.state = "closed";
    CHECK(cli::list_reports(*q.db, filter).empty());
  }

  TEST_CASE("list_reports filters by since, inclusive") {
    QueriesDb q;
    fill(q);
    cli::ReportFilter filter;
    filter.since_ms = k_now - 30 * k_minute;
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR6666", "MTR5555"});
    filter.since_ms = k_now - 30 * k_minute + 1;
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR6666"});
    filter.state = "received";
    filter.since_ms = k_now - k_day;
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR4K7Q"});
  }

  TEST_CASE("list_reports keeps to the limit") {
    QueriesDb q;
    fill(q);
    cli::ReportFilter filter;
    filter.limit = 2;
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR6666", "MTR5555"});
    filter.limit = 1;
    filter.since_ms = k_now - 4 * k_day;
    CHECK(refs_of(q, cli::list_reports(*q.db, filter)) == Refs{"MTR6666"});
  }

  TEST_CASE("report_detail finds a report by its ref in lower case") {
    QueriesDb q;
    fill(q);
    const auto report = cli::report_detail(*q.db, lower(q.ref("MTR2222")));
    REQUIRE(report.is_object());
    CHECK(q.name_of(report["ref"]) == "MTR2222");
    CHECK(report["tracking_id"] == "1916449");
    REQUIRE(report["inbound"].size() == 1);
    CHECK(report["inbound"][0]["text"] == "LAPORYAI laporan MTR2222");
    CHECK(report["inbound"][0]["at"] == local_time(k_now - 3 * k_day));
    REQUIRE(report["attempts"].size() == 2);
    CHECK(report["attempts"][0]["outcome"] == "temporary");
    CHECK(report["attempts"][0]["error"] == "HTTP 503");
    CHECK(report["attempts"][1]["outcome"] == "delivered");
    CHECK(report["attempts"][1]["error"].is_null());
    REQUIRE(report["status_history"].size() == 2);
    CHECK(report["status_history"][0]["status"] == "Diterima");
    CHECK(report["status_history"][1]["note"] == "diteruskan ke dinas");
    REQUIRE(report["replies"].size() == 2);
    CHECK(report["replies"][0]["kind"] == "received");
    CHECK(report["replies"][0]["state"] == "delivered");
    CHECK(report["replies"][1]["kind"] == "forwarded");
    CHECK(report["upstream_job"]["state"] == "done");
    CHECK(report["upstream_job"]["attempts"] == 2);
  }

  TEST_CASE("report_detail finds a report by its tracking id") {
    QueriesDb q;
    fill(q);
    CHECK(q.name_of(cli::report_detail(*q.db, "1916449")["ref"]) == "MTR2222");
    CHECK(q.name_of(cli::report_detail(*q.db, "#1916449")["ref"]) == "MTR2222");
    const auto mixed = "Mtr" + lower(q.ref("MTR4K7Q").substr(3));
    CHECK(q.name_of(cli::report_detail(*q.db, mixed)["ref"]) == "MTR4K7Q");
  }

  TEST_CASE("report_detail of an unknown ref is null") {
    QueriesDb q;
    fill(q);
    CHECK(cli::report_detail(*q.db, "MTR9999").is_null());
    CHECK(cli::report_detail(*q.db, "").is_null());
    CHECK(cli::report_detail(*q.db, "' OR 1=1 --").is_null());
  }

  TEST_CASE("list_messages filters by direction, newest first") {
    QueriesDb q;
    fill(q);
    const auto in = cli::list_messages(*q.db, "in", 50);
    REQUIRE(in.size() == 7);
    for (const auto& m : in) {
      CHECK(m["direction"] == "in");
      CHECK(m["state"] == "stored");
    }
    CHECK(in[0]["text"] == "LAPORYAI laporan MTR6666");
    CHECK(in[0]["at"] == local_time(k_now - 10 * k_minute));
    CHECK(in[6]["text"] == "LAPORYAI laporan MTR2222");

    const auto out = cli::list_messages(*q.db, "out", 50);
    REQUIRE(out.size() == 5);
    for (const auto& m : out) {
      CHECK(m["direction"] == "out");
    }
    CHECK(out[0]["text"] == "Format: LAPORYAI");
    CHECK(out[0]["state"] == "queued");
    CHECK(out[0]["error"].is_null());
    CHECK(out[4]["state"] == "delivered");
    for (const auto& m : in) {
      CHECK(m["error"].is_null());
    }
  }

  TEST_CASE("list_messages says why a reply is unknown") {
    QueriesDb q;
    fill(q);
    q.exec("UPDATE outbound SET state = 'unknown', last_error = 'no response within 10 s' "
           "WHERE text = 'Format: LAPORYAI'");
    const auto out = cli::list_messages(*q.db, "out", 1);
    REQUIRE(out.size() == 1);
    CHECK(out[0]["state"] == "unknown");
    CHECK(out[0]["error"] == "no response within 10 s");
  }

  TEST_CASE("list_messages without a direction interleaves both by time") {
    QueriesDb q;
    fill(q);
    const auto all = cli::list_messages(*q.db, "", 50);
    std::vector<std::string> seen;
    for (const auto& m : all) {
      seen.push_back(m["direction"].get<std::string>() + " " + m["text"].get<std::string>());
    }
    CHECK(seen == Refs{"out Format: LAPORYAI", "in LAPORYAI laporan MTR6666",
                       "in LAPORYAI laporan MTR5555", "out diterima MTR4K7Q",
                       "in LAPORYAI laporan MTR4K7Q", "in CEK 1916449", "in INFO",
                       "out gagal MTR3333", "in LAPORYAI laporan MTR3333", "out tracking 1916449",
                       "out diterima MTR2222", "in LAPORYAI laporan MTR2222"});
  }

  TEST_CASE("list_messages keeps to the limit") {
    QueriesDb q;
    fill(q);
    const auto some = cli::list_messages(*q.db, "", 3);
    REQUIRE(some.size() == 3);
    CHECK(some[2]["text"] == "LAPORYAI laporan MTR5555");
    CHECK(cli::list_messages(*q.db, "out", 1).size() == 1);
  }

  TEST_CASE("list_messages of an empty database is an empty array") {
    QueriesDb q;
    q.open_read_only();
    const auto none = cli::list_messages(*q.db, "", 10);
    CHECK(none.is_array());
    CHECK(none.empty());
  }
}

#include <laporsms/sms/ref.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/recovery.hpp>
#include <laporsms/store/upstream.hpp>
#include <laporsms/util/clock.hpp>

#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;
using laporsms::sms::make_ref;

namespace {

constexpr std::string_view k_citizen = "628123456789";

// "2026-11-19 15:53": how the status reply shows a time, in local time.
std::string local_minute(std::int64_t unix_ms) {
  const auto full =
      laporsms::util::format_rfc3339(unix_ms, laporsms::util::local_utc_offset_minutes(unix_ms));
  return full.substr(0, 10) + " " + full.substr(11, 5);
}

IntakeResult send(Connection& db, std::string_view text, std::int64_t at,
                  const IntakePolicy& policy = test_policy(), std::string_view msisdn = k_citizen) {
  return record_inbound(db, make_sms(msisdn, text, at), policy);
}

std::vector<std::string> reply_kinds(Connection& db) {
  std::vector<std::string> kinds;
  for (const auto& reply : replies(db)) {
    kinds.push_back(reply.kind);
  }
  return kinds;
}

} // namespace

TEST_SUITE("store::intake") {

  TEST_CASE("a report is stored with its ref, a received reply and a pending job") {
    TestDb t;
    const auto sms = make_sms(k_citizen, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    const auto result = record_inbound(t.db, sms, test_policy());

    REQUIRE(result.report_id);
    const auto id = *result.report_id;
    CHECK(result.ref == make_ref("MTR", static_cast<std::uint64_t>(id), deployment_ref_key(t.db)));
    CHECK(result.replies_queued == 1);
    CHECK(result.job_queued);
    CHECK_FALSE(result.redelivery);
    CHECK(result.inbound_id > 0);

    const auto where = fmt::format("id = {}", id);
    CHECK(query_text(t.db, "SELECT ref FROM reports WHERE " + where) == result.ref);
    CHECK(query_text(t.db, "SELECT state FROM reports WHERE " + where) == "received");
    CHECK(query_text(t.db, "SELECT text FROM reports WHERE " + where) ==
          "jalan berlubang di Jl. Ahmad Yani");
    CHECK(query_text(t.db, "SELECT msisdn || ' ' || link FROM reports WHERE " + where) ==
          "628123456789 telkomsel");
    CHECK(t.db.query_int("SELECT received_at FROM reports WHERE " + where) == k_t0);

    const auto inbound = fmt::format("id = {}", result.inbound_id);
    CHECK(query_text(t.db, "SELECT command FROM inbound WHERE " + inbound) == "report");
    CHECK(t.db.query_int("SELECT report_id FROM inbound WHERE " + inbound) == id);
    {
      auto raw = t.db.prepare_uncached("SELECT raw FROM inbound WHERE " + inbound);
      REQUIRE(raw->step());
      CHECK(raw->column_blob(0) == sms.raw);
    }

    const auto rows = replies(t.db);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].kind == "received");
    CHECK(rows[0].text == "Diterima " + result.ref + ".");
    CHECK(rows[0].state == "queued");
    CHECK(rows[0].report_id == id);
    CHECK(rows[0].msisdn == k_citizen);
    CHECK(rows[0].link == "telkomsel");
    CHECK(rows[0].created_at == k_t0);
    CHECK_FALSE(rows[0].submit_started_at);

    const auto job = fmt::format("report_id = {}", id);
    CHECK(query_text(t.db, "SELECT state FROM upstream_jobs WHERE " + job) == "pending");
    CHECK(t.db.query_int("SELECT next_attempt_at FROM upstream_jobs WHERE " + job) == k_t0);
    CHECK(t.db.query_int("SELECT attempts FROM upstream_jobs WHERE " + job) == 0);
  }

  TEST_CASE("a report handed over is filed with its job inflight, and its reply claimed") {
    TestDb t;
    auto sms = make_sms(k_citizen, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    sms.hand_over_job = true;
    sms.reply_room = ReplyRoom::claimed;
    const auto result = record_inbound(t.db, sms, test_policy());
    REQUIRE(result.report_id);
    const auto id = *result.report_id;
    // The job, as claim_due_jobs would have claimed it: no claim needed.
    REQUIRE(result.job);
    CHECK(result.job->report_id == id);
    CHECK(result.job->ref == result.ref);
    CHECK(result.job->text == "jalan berlubang di Jl. Ahmad Yani");
    CHECK(result.job->msisdn == k_citizen);
    CHECK(result.job->link == "telkomsel");
    CHECK(result.job->received_at == k_t0);
    CHECK(result.job->attempts == 1);
    const auto job = fmt::format("report_id = {}", id);
    CHECK(query_text(t.db, "SELECT state FROM upstream_jobs WHERE " + job) == "inflight");
    CHECK(t.db.query_int("SELECT attempts FROM upstream_jobs WHERE " + job) == 1);
    CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}", id)) ==
          "forwarding");
    CHECK(claim_due_jobs(t.db, k_t0 + 1, 10).empty());
    // The received reply, queued claimed for the outbox's room.
    REQUIRE(result.replies.size() == 1);
    const auto rows = replies(t.db);
    REQUIRE(rows.size() == 1);
    CHECK(t.db.query_int(
              fmt::format("SELECT claimed_at FROM outbound WHERE id = {}", rows[0].id)) == k_t0);
    CHECK(result.replies[0].id == rows[0].id);
    CHECK(result.replies[0].text == rows[0].text);
    CHECK(result.replies[0].link == "telkomsel");
    CHECK(result.replies[0].msisdn == k_citizen);
    CHECK(result.replies[0].created_at == k_t0);
    // Room only: the outbox marks it started itself before it leaves.
    CHECK_FALSE(result.replies[0].started);
    CHECK_FALSE(rows[0].submit_started_at);
  }

  TEST_CASE("a reply whose submit is held is marked started in the intake's own commit") {
    TestDb t;
    auto sms = make_sms(k_citizen, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    sms.reply_room = ReplyRoom::started;
    const auto result = record_inbound(t.db, sms, test_policy());
    REQUIRE(result.replies.size() == 1);
    CHECK(result.replies[0].started);
    const auto rows = replies(t.db);
    REQUIRE(rows.size() == 1);
    // Started, with the outbox's part count, in this (fsync'd) commit: its
    // submit_sm leaves without a commit of its own.
    CHECK(rows[0].submit_started_at == k_t0);
    const auto parts = laporsms::sms::encode_reply(rows[0].text, 0).size();
    CHECK(t.db.query_int(fmt::format("SELECT parts FROM outbound WHERE id = {}", rows[0].id)) ==
          static_cast<std::int64_t>(parts));
    CHECK(t.db.query_int(
              fmt::format("SELECT claimed_at FROM outbound WHERE id = {}", rows[0].id)) == k_t0);
    // A crash before its submit_sm_resp was recorded leaves it in doubt, as
    // any reply marked started: never resent blindly.
    const auto recovered = recover_on_startup(t.db, k_t0 + 5);
    CHECK(recovered.replies_unknown == 1);
    CHECK(recovered.replies_requeued == 0);
  }

  TEST_CASE("without room reserved, or over the sender's limit, nothing is handed over") {
    TestDb t;
    const auto plain = send(t.db, "LAPORYAI lampu jalan mati di Jl. Sudirman", k_t0);
    CHECK_FALSE(plain.job);
    CHECK(plain.job_queued);
    CHECK(plain.replies.empty());
    CHECK(plain.replies_queued == 1);
    auto policy = test_policy();
    policy.max_reports_per_sender = 1;
    auto sms = make_sms(k_citizen, "LAPORYAI got mampet di Jl. Merdeka", k_t0 + 1000);
    sms.hand_over_job = true;
    const auto held = record_inbound(t.db, sms, policy);
    REQUIRE(held.report_id);
    CHECK_FALSE(held.job);
    CHECK_FALSE(held.job_queued);
    CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}",
                                       *held.report_id)) == "held");
    // INFO: a reply, no report.
    auto info = make_sms(k_citizen, "INFO", k_t0 + 2000);
    info.hand_over_job = true;
    info.reply_room = ReplyRoom::claimed;
    const auto help = record_inbound(t.db, info, test_policy());
    CHECK_FALSE(help.job);
    CHECK(help.replies.size() == 1); // a reply without a report is handed over too
  }

  TEST_CASE("refs follow the prefix and the row id, and differ") {
    TestDb t;
    auto policy = test_policy();
    policy.ref_prefix = "JKT";
    std::vector<std::string> refs;
    for (int i = 0; i < 3; ++i) {
      const auto result =
          send(t.db, fmt::format("LAPORYAI lampu jalan mati nomor {}", i), k_t0 + i, policy);
      REQUIRE(result.report_id);
      CHECK(result.ref == make_ref("JKT", static_cast<std::uint64_t>(*result.report_id),
                                   deployment_ref_key(t.db)));
      CHECK(result.ref.starts_with("JKT"));
      refs.push_back(result.ref);
    }
    CHECK(refs[0] != refs[1]);
    CHECK(refs[1] != refs[2]);
    CHECK(refs[0] != refs[2]);
  }

  TEST_CASE("RAHASIA, ANONIM and the policy defaults set the flags") {
    TestDb t;
    auto policy = test_policy();
    const auto plain = send(t.db, "LAPORYAI sampah menumpuk di pasar", k_t0, policy);
    const auto secret = send(t.db, "LAPORYAI RAHASIA pungutan liar di kelurahan", k_t0 + 1, policy);
    const auto anon = send(t.db, "laporyai anonim pungutan liar di sekolah", k_t0 + 2, policy);
    policy.default_anonim = true;
    const auto by_default = send(t.db, "LAPORYAI trotoar rusak parah", k_t0 + 3, policy);
    const auto flags = [&](const IntakeResult& r) {
      return query_text(t.db, fmt::format("SELECT rahasia || anonim FROM reports WHERE id = {}",
                                          r.report_id.value()));
    };
    CHECK(flags(plain) == "00");
    CHECK(flags(secret) == "10");
    CHECK(flags(anon) == "01");
    CHECK(flags(by_default) == "01");
    CHECK(query_text(t.db, fmt::format("SELECT text FROM reports WHERE id = {}",
                                       secret.report_id.value())) == "pungutan liar di kelurahan");
  }

  TEST_CASE("a sender over the limit is held without a job and told once a window") {
    TestDb t;
    auto policy = test_policy();
    policy.max_reports_per_sender = 2;
    std::vector<IntakeResult> results;
    for (int i = 0; i < 4; ++i) {
      results.push_back(
          send(t.db, fmt::format("LAPORYAI banjir di gang {} lagi", i), k_t0 + i * 1000, policy));
    }
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i);
      REQUIRE(results[i].report_id);
      const auto id = *results[i].report_id;
      const bool held = i >= 2;
      CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}", id)) ==
            (held ? "held" : "received"));
      CHECK(results[i].job_queued == !held);
      CHECK(count_rows(t.db, "upstream_jobs", fmt::format("report_id = {}", id)) == (held ? 0 : 1));
    }
    CHECK(results[2].replies_queued == 1);
    CHECK(results[3].replies_queued == 0);
    CHECK(reply_kinds(t.db) == std::vector<std::string>{"received", "received", "rate_limited"});
    const auto limited = replies(t.db, "kind = 'rate_limited'");
    REQUIRE(limited.size() == 1);
    CHECK(limited[0].text == "Terlalu banyak laporan.");
    CHECK(limited[0].report_id == results[2].report_id);

    // A window later the sender is welcome again, and a new flood is told again.
    const std::int64_t later = k_t0 + k_hour_ms + 10'000;
    for (int i = 0; i < 3; ++i) {
      const auto result =
          send(t.db, fmt::format("LAPORYAI jembatan retak bagian {}", i), later + i, policy);
      CHECK(result.job_queued == (i < 2));
    }
    CHECK(count_rows(t.db, "outbound", "kind = 'rate_limited'") == 2);
    CHECK(count_rows(t.db, "reports", "state = 'held'") == 3);
    // Another sender is not affected by this one's flood.
    const auto other =
        send(t.db, "LAPORYAI pohon tumbang di jalan", later + 5, policy, "628111111111");
    CHECK(other.job_queued);
  }

  TEST_CASE("an unknown message gets help at most once a window") {
    TestDb t;
    const auto first = send(t.db, "halo pak", k_t0);
    const auto second = send(t.db, "halo pak?", k_t0 + 60'000);
    CHECK(first.replies_queued == 1);
    CHECK(second.replies_queued == 0);
    CHECK_FALSE(first.report_id);
    CHECK(count_rows(t.db, "inbound", "command = 'unknown'") == 2);
    CHECK(count_rows(t.db, "reports") == 0);
    const auto helps = replies(t.db);
    REQUIRE(helps.size() == 1);
    CHECK(helps[0].kind == "help");
    CHECK(helps[0].text == "Format: LAPORYAI isi laporan.");
    CHECK_FALSE(helps[0].report_id);

    // Another sender gets its own help; the first sender again after a window.
    CHECK(send(t.db, "halo", k_t0 + 1, test_policy(), "628222222222").replies_queued == 1);
    CHECK(send(t.db, "halo lagi", k_t0 + k_hour_ms + 1).replies_queued == 1);
    CHECK(count_rows(t.db, "outbound", "kind = 'help'") == 3);
  }

  TEST_CASE("INFO always gets help") {
    TestDb t;
    CHECK(send(t.db, "halo", k_t0).replies_queued == 1); // help for an unknown
    CHECK(send(t.db, "INFO", k_t0 + 1).replies_queued == 1);
    CHECK(send(t.db, "info", k_t0 + 2).replies_queued == 1);
    CHECK(send(t.db, "BANTUAN", k_t0 + 3).replies_queued == 1);
    CHECK(count_rows(t.db, "outbound", "kind = 'help'") == 4);
    CHECK(count_rows(t.db, "inbound", "command = 'help'") == 3);
    CHECK(count_rows(t.db, "reports") == 0);
    CHECK(count_rows(t.db, "upstream_jobs") == 0);
  }

  TEST_CASE("a report without enough text gets empty_report") {
    TestDb t;
    for (const char* text : {"LAPORYAI", "LAPORYAI pendek", "LAPORYAI RAHASIA"}) {
      CAPTURE(text);
      const auto result = send(t.db, text, k_t0);
      CHECK(result.replies_queued == 1);
      CHECK_FALSE(result.report_id);
      CHECK_FALSE(result.job_queued);
    }
    CHECK(count_rows(t.db, "inbound", "command = 'empty_report'") == 3);
    CHECK(count_rows(t.db, "reports") == 0);
    const auto rows = replies(t.db);
    REQUIRE(rows.size() == 3);
    for (const auto& row : rows) {
      CHECK(row.kind == "empty_report");
      CHECK(row.text == "Isi laporan belum ada.");
    }
  }

  TEST_CASE("CEK by ref or tracking id answers from what the gateway knows") {
    TestDb t;
    const auto filed = send(t.db, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    REQUIRE(filed.report_id);
    const auto id = *filed.report_id;
    std::string lower = filed.ref;
    for (auto& c : lower) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }

    // Not forwarded yet: no tracking id, the state described in words.
    const auto by_ref = send(t.db, "CEK " + lower, k_t0 + 1000);
    CHECK(by_ref.replies_queued == 1);
    auto answers = replies(t.db, "kind = 'status_reply'");
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].text == "Laporan " + filed.ref + " (#-): " + describe_state("received") +
                                 ", diperbarui " + local_minute(k_t0) + ".");
    CHECK(answers[0].report_id == id);
    CHECK(describe_state("received") == "Diterima");

    const std::int64_t updated = k_t0 + 2 * k_hour_ms;
    t.db.exec(fmt::format("UPDATE reports SET state = 'forwarded', tracking_id = '1916449', "
                          "status = 'Diproses', status_updated_at = {} WHERE id = {}",
                          updated, id));
    const std::string expected =
        "Laporan " + filed.ref + " (#1916449): Diproses, diperbarui " + local_minute(updated) + ".";
    for (const char* text : {"CEK 1916449", "CEK #1916449", "STATUS 1916449"}) {
      CAPTURE(text);
      CHECK(send(t.db, text, updated + 1000).replies_queued == 1);
      const auto last = replies(t.db).back();
      CHECK(last.kind == "status_reply");
      CHECK(last.text == expected);
      CHECK(last.report_id == id);
    }
    // By ref again, in upper case, now with the upstream status.
    send(t.db, "cek " + filed.ref, updated + 2000);
    CHECK(replies(t.db).back().text == expected);
    CHECK(count_rows(t.db, "inbound", "command = 'status'") == 5);
  }

  TEST_CASE("CEK of a ref or tracking id nobody knows gets unknown_ref") {
    TestDb t;
    send(t.db, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    const std::string unknown_ref = make_ref("MTR", 999, deployment_ref_key(t.db));
    for (const std::string& argument : {unknown_ref, std::string("77777"), std::string("#77777")}) {
      CAPTURE(argument);
      const auto result = send(t.db, "CEK " + argument, k_t0 + 1000);
      CHECK(result.replies_queued == 1);
      const auto last = replies(t.db).back();
      CHECK(last.kind == "unknown_ref");
      CHECK(last.text == "Nomor " + argument + " tidak ditemukan.");
      CHECK_FALSE(last.report_id);
    }
    CHECK(count_rows(t.db, "outbound", "kind = 'status_reply'") == 0);
  }

  TEST_CASE("a short or alphanumeric sender is stored but never answered") {
    TestDb t;
    const auto from_short = [&](std::string_view sender, std::string_view text, std::int64_t at,
                                const IntakePolicy& policy) {
      auto sms = make_sms(sender, text, at);
      sms.short_or_alphanumeric_sender = true;
      return record_inbound(t.db, sms, policy);
    };
    const auto policy = test_policy();
    const auto report =
        from_short("TELKOMSEL", "LAPORYAI promo paket internet murah", k_t0, policy);
    REQUIRE(report.report_id);
    CHECK(report.job_queued);
    CHECK(report.replies_queued == 0);
    CHECK(query_text(t.db, fmt::format("SELECT state FROM reports WHERE id = {}",
                                       *report.report_id)) == "received");
    CHECK(from_short("12345", "INFO", k_t0 + 1, policy).replies_queued == 0);
    CHECK(from_short("12345", "halo", k_t0 + 2, policy).replies_queued == 0);
    CHECK(from_short("12345", "LAPORYAI", k_t0 + 3, policy).replies_queued == 0);
    CHECK(from_short("12345", "CEK " + report.ref, k_t0 + 4, policy).replies_queued == 0);
    CHECK(count_rows(t.db, "inbound") == 5);
    CHECK(count_rows(t.db, "outbound") == 0);

    auto answering = test_policy();
    answering.reply_to_short_numbers = true;
    CHECK(from_short("12345", "INFO", k_t0 + 5, answering).replies_queued == 1);
    CHECK(reply_kinds(t.db) == std::vector<std::string>{"help"});
  }

  TEST_CASE("a binary message is stored and nothing else") {
    TestDb t;
    auto sms = make_sms(k_citizen, "LAPORYAI ini terlihat seperti laporan", k_t0);
    sms.binary = true;
    sms.data_coding = 0x04;
    sms.raw = {0x00, 0x01, 0x02, 0xff, 0x00};
    const auto result = record_inbound(t.db, sms, test_policy());
    CHECK(result.inbound_id > 0);
    CHECK_FALSE(result.report_id);
    CHECK(result.replies_queued == 0);
    CHECK_FALSE(result.job_queued);
    CHECK(query_text(t.db, fmt::format("SELECT command FROM inbound WHERE id = {}",
                                       result.inbound_id)) == "binary");
    CHECK(t.db.query_int(fmt::format("SELECT length(raw) FROM inbound WHERE id = {}",
                                     result.inbound_id)) == 5);
    CHECK(count_rows(t.db, "reports") == 0);
    CHECK(count_rows(t.db, "outbound") == 0);
    CHECK(count_rows(t.db, "upstream_jobs") == 0);
  }

  TEST_CASE("a redelivered SMS is recognised and not stored twice") {
    TestDb t;
    const auto sms = make_sms(k_citizen, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    const auto first = record_inbound(t.db, sms, test_policy());
    REQUIRE(first.report_id);
    auto again = sms;
    again.received_at = k_t0 + 30'000;
    const auto second = record_inbound(t.db, again, test_policy());
    CHECK(second.redelivery);
    CHECK_FALSE(second.report_id);
    CHECK(second.replies_queued == 0);
    CHECK(count_rows(t.db, "inbound") == 1);
    CHECK(count_rows(t.db, "reports") == 1);
    CHECK(count_rows(t.db, "outbound") == 1);
    CHECK(count_rows(t.db, "upstream_jobs") == 1);
  }

  TEST_CASE("a report redelivered two days later, after a long outage, is still recognised") {
    TestDb t;
    const auto sms = make_sms(k_citizen, "LAPORYAI jalan berlubang di Jl. Ahmad Yani", k_t0);
    REQUIRE(record_inbound(t.db, sms, test_policy()).report_id);
    auto again = sms;
    again.received_at = k_t0 + 48 * k_hour_ms; // past the old 10 minutes, inside 72 h
    CHECK(record_inbound(t.db, again, test_policy()).redelivery);
    again.received_at = k_t0 + 73 * k_hour_ms; // past the horizon: a new report
    CHECK(record_inbound(t.db, again, test_policy()).report_id);
    CHECK(count_rows(t.db, "reports") == 2);
  }

  TEST_CASE("the redelivery horizon is per link") {
    TestDb t;
    auto policy = test_policy();
    policy.redelivery_horizon_ms["xl"] = 2 * k_hour_ms;
    const auto on_xl = make_sms(k_citizen, "LAPORYAI lampu jalan mati di gang tiga", k_t0, "xl");
    REQUIRE(record_inbound(t.db, on_xl, policy).report_id);
    auto later = on_xl;
    later.received_at = k_t0 + 3 * k_hour_ms;
    CHECK(record_inbound(t.db, later, policy).report_id); // xl's horizon has passed
    // The same octets from another link are not that link's redelivery.
    auto elsewhere = on_xl;
    elsewhere.link = "telkomsel";
    elsewhere.received_at = k_t0 + 3 * k_hour_ms + 1000;
    CHECK(record_inbound(t.db, elsewhere, policy).report_id);
  }

  TEST_CASE("a citizen who asks INFO or CEK again is answered again") {
    TestDb t;
    const auto info = make_sms(k_citizen, "INFO", k_t0);
    CHECK(record_inbound(t.db, info, test_policy()).replies_queued == 1);
    auto soon = info;
    soon.received_at = k_t0 + 5000; // seconds later: the SMSC repeating itself
    CHECK(record_inbound(t.db, soon, test_policy()).redelivery);
    auto later = info;
    later.received_at = k_t0 + 5 * 60 * 1000; // minutes later: the citizen asking again
    const auto again = record_inbound(t.db, later, test_policy());
    CHECK_FALSE(again.redelivery);
    CHECK(again.replies_queued == 1);
    CHECK(replies(t.db, "kind = 'help'").size() == 2);
  }

  TEST_CASE(
      "a second long SMS reusing the concatenation reference is filed; a resent part is not") {
    TestDb t;
    auto part = [](std::string_view text, std::uint8_t seq, std::int64_t at) {
      auto sms = make_sms(k_citizen, text, at);
      sms.concat = laporsms::sms::ConcatInfo{0x42, 2, seq};
      return sms;
    };
    const auto a1 = part("LAPORYAI jalan berlubang ", 1, k_t0);
    CHECK(record_inbound(t.db, a1, test_policy()).part_waiting);
    REQUIRE(
        record_inbound(t.db, part("di Jl. Ahmad Yani", 2, k_t0 + 1000), test_policy()).report_id);
    // The SMSC resends part 1 byte for byte: nothing new.
    auto resent = a1;
    resent.received_at = k_t0 + 2000;
    CHECK(record_inbound(t.db, resent, test_policy()).redelivery);
    // Five minutes on, the same sender's next long SMS with the same reference and count.
    CHECK(record_inbound(t.db, part("LAPORYAI lampu taman ", 1, k_t0 + 300'000), test_policy())
              .part_waiting);
    const auto second =
        record_inbound(t.db, part("mati sejak kemarin", 2, k_t0 + 301'000), test_policy());
    REQUIRE(second.report_id);
    CHECK(query_text(t.db, fmt::format("SELECT text FROM reports WHERE id = {}",
                                       *second.report_id)) == "lampu taman mati sejak kemarin");
    CHECK(count_rows(t.db, "reports") == 2);
  }

  TEST_CASE("queue_reply stores a queued reply") {
    TestDb t;
    const auto id = queue_reply(t.db, std::nullopt, "help", "xl", k_citizen, "teks", k_t0);
    const auto rows = replies(t.db);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].id == id);
    CHECK(rows[0].state == "queued");
    CHECK(rows[0].link == "xl");
    CHECK(rows[0].text == "teks");
    CHECK_FALSE(rows[0].report_id);
    CHECK(queue_reply(t.db, std::nullopt, "help", "xl", k_citizen, "teks", k_t0) > id);
  }

  TEST_CASE("refs are keyed by the deployment's secret, kept in its database") {
    TempDir dir;
    const auto path = dir.file("a.db");
    laporsms::sms::RefKey first;
    {
      Connection db(path, OpenMode::read_write_create);
      migrate(db);
      first = deployment_ref_key(db);
      CHECK(first.min_symbols == laporsms::sms::k_ref_min_symbols);
      CHECK(first.secret != laporsms::sms::RefKey{}.secret);
    }
    {
      Connection db(path, OpenMode::read_write_create);
      migrate(db);
      CHECK(deployment_ref_key(db).secret == first.secret); // made once, at the first start
    }
    Connection other(dir.file("b.db"), OpenMode::read_write_create);
    migrate(other);
    CHECK(deployment_ref_key(other).secret != first.secret);
    // A report's ref is neither the unkeyed one nor another deployment's.
    TestDb t;
    const auto result = send(t.db, "LAPORYAI jalan berlubang di depan pasar", k_t0);
    REQUIRE(result.report_id);
    const auto id = static_cast<std::uint64_t>(*result.report_id);
    CHECK(result.ref == make_ref("MTR", id, deployment_ref_key(t.db)));
    CHECK(result.ref != make_ref("MTR", id, laporsms::sms::RefKey{}));
    CHECK(result.ref != make_ref("MTR", id, deployment_ref_key(other)));
  }

  TEST_CASE(
      "a database that issued unkeyed refs makes wider keyed ones, which never meet the old") {
    TempDir dir;
    Connection db(dir.file("v5.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    migrate(db, 5);
    // 300 reports filed (some pruned since) under unkeyed 4-symbol refs.
    db.exec(
        "INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, received_at, "
        "updated_at) "
        "VALUES (300, '" +
        make_ref("MTR", 300, laporsms::sms::RefKey{}) +
        "', '628123', 'sim', 'x', 1, 1, 'closed', 1, 1)");
    REQUIRE(db.query_int("SELECT seq FROM sqlite_sequence WHERE name = 'reports'") == 300);
    migrate(db);
    const auto key = deployment_ref_key(db);
    CHECK(key.min_symbols == 5);
    CHECK(make_ref("MTR", 301, key).size() == 3 + 5);
  }

  TEST_CASE("a ref is never reused, also after the newest report was pruned") {
    TestDb t;
    send(t.db, "LAPORYAI laporan pertama, jalan berlubang", k_t0);
    const auto newest = send(t.db, "LAPORYAI laporan kedua, lampu mati", k_t0 + 1000, test_policy(),
                             "628123450002");
    REQUIRE(newest.report_id);
    // Retention deletes a closed report with its rows; the citizen keeps its ref.
    t.db.exec("DELETE FROM upstream_jobs");
    t.db.exec("DELETE FROM outbound");
    t.db.exec("UPDATE inbound SET report_id = NULL");
    t.db.exec(fmt::format("DELETE FROM reports WHERE id = {}", *newest.report_id));
    const auto next = send(t.db, "LAPORYAI laporan ketiga, got mampet", k_t0 + 2000, test_policy(),
                           "628123450003");
    REQUIRE(next.report_id);
    CHECK(*next.report_id > *newest.report_id);
    CHECK(next.ref != newest.ref);
  }
}

#include <laporsms/store/doubt.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/operator.hpp>
#include <laporsms/store/outbox.hpp>
#include <laporsms/store/recovery.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms::store;
using namespace store_test;

namespace {

constexpr std::int64_t k_minute_ms = 60 * 1000;
constexpr std::int64_t k_judge_ms = 10 * k_minute_ms;
constexpr std::string_view k_citizen = "628123456789";

DoubtPolicy policy() {
  DoubtPolicy p;
  p.judge_after_ms = k_judge_ms;
  p.created_after = k_t0 - 24 * k_hour_ms;
  return p;
}

std::int64_t queue(Connection& db, std::string_view text, std::int64_t at,
                   std::string_view msisdn = k_citizen) {
  return queue_reply(db, std::nullopt, "received", "telkomsel", msisdn, text, at);
}

// A reply whose submit_sm went out at `at` in `parts` parts and got no response.
std::int64_t in_doubt(Connection& db, std::string_view text, std::int64_t at,
                      std::vector<std::string> accepted = {}, std::size_t parts = 1,
                      std::string_view msisdn = k_citizen) {
  const auto id = queue(db, text, at, msisdn);
  const auto claimed = claim_outbound(db, "telkomsel", 10, at, at - k_hour_ms);
  REQUIRE(claimed.size() == 1);
  mark_submit_started(db, id, parts, at);
  record_submit_unknown(db, id, "telkomsel", accepted, parts, "no response within 10 s",
                        at + 10'000);
  return id;
}

// A reply to `msisdn` sent at `at`, whose receipt came back `state`.
std::int64_t receipted(Connection& db, std::string_view message_id, std::int64_t at,
                       std::string_view msisdn = k_citizen, std::string_view state = "delivered") {
  const auto id = queue(db, "balasan lain", at, msisdn);
  record_submitted(db, id, "telkomsel", {std::string(message_id)}, at + 1);
  REQUIRE(record_receipt(
      db, {"telkomsel", std::string(message_id), std::string(state), std::string(msisdn), ""},
      at + 2));
  return id;
}

std::int64_t resends(Connection& db, std::int64_t id) {
  return db.query_int(fmt::format("SELECT resends FROM outbound WHERE id = {}", id));
}

} // namespace

TEST_SUITE("store::doubt") {

  TEST_CASE("excerpt_matches allows what SMSCs do to a receipt's text: field") {
    const std::string_view text = "Terima kasih, laporan Anda kami terima dengan nomor MTRABCD.";
    CHECK(excerpt_matches("", text));
    CHECK(excerpt_matches("Terima kasih, lapora", text));
    CHECK(excerpt_matches("TERIMA KASIH, LAPORA", text)); // case folded
    CHECK(excerpt_matches("Terima kasih, lapora   ", text));
    CHECK_FALSE(excerpt_matches("Laporan MTRABCD suda", text));
    CHECK_FALSE(
        excerpt_matches("Terima kasih, lapora and more than the text holds at all....", text));
    // Non-ASCII: one character of the text is one character of the excerpt,
    // whatever the SMSC put there.
    CHECK(excerpt_matches("Jalan ? rusak", "Jalan \xE2\x82\xAC rusak"));
    CHECK(excerpt_matches("Jalan . rusak", "Jalan \xE2\x82\xAC rusak"));
    CHECK(excerpt_matches("Jalan x rusak", "Jalan \xE2\x82\xAC rusak"));
    CHECK_FALSE(excerpt_matches("Jalan x  rusak", "Jalan \xE2\x82\xAC rusak"));
  }

  TEST_CASE("a receipt for the handset that names no part settles the reply: not resent") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih, laporan Anda diterima.", k_t0);
    // The SMSC took it: its receipt comes, for a message id we never learnt.
    CHECK_FALSE(record_receipt(
        t.db, {"telkomsel", "sim0042", "delivered", std::string(k_citizen), "Terima kasih, lapora"},
        k_t0 + 20'000));
    receipted(t.db, "later", k_t0 + 30'000);

    // Not judged before its time.
    auto early = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_judge_ms, policy());
    CHECK(early.found_receipt.empty());
    CHECK(early.resent.empty());
    CHECK(reply(t.db, id).state == "unknown");

    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + 11 * k_minute_ms, policy());
    REQUIRE(result.found_receipt.size() == 1);
    CHECK(result.found_receipt[0].outbound_id == id);
    CHECK(result.found_receipt[0].state == "delivered");
    CHECK(result.resent.empty());
    const auto row = reply(t.db, id);
    CHECK(row.state == "delivered");
    CHECK(row.last_error.value_or("").find("receipt came") != std::string::npos);
    CHECK(query_text(t.db, fmt::format("SELECT message_id FROM outbound_parts WHERE "
                                       "outbound_id = {}",
                                       id)) == "sim0042");
    CHECK(count_rows(t.db, "early_receipts") == 0);
    CHECK(resends(t.db, id) == 1); // judged: never looked at again, never resent
    // Judged once: nothing more to do.
    const auto again = resolve_in_doubt(t.db, "telkomsel", k_t0 + 20 * k_minute_ms, policy());
    CHECK(again.found_receipt.empty());
    CHECK(again.resent.empty());
    CHECK(again.still_in_doubt == 0);
  }

  TEST_CASE("an undeliverable receipt settles it as undeliverable, still not resent") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih.", k_t0);
    record_receipt(t.db, {"telkomsel", "x1", "undeliverable", std::string(k_citizen), ""},
                   k_t0 + 20'000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + 11 * k_minute_ms, policy());
    REQUIRE(result.found_receipt.size() == 1);
    CHECK(reply(t.db, id).state == "undeliverable");
  }

  TEST_CASE("no receipt for it while a later reply to the number was delivered: queued again, "
            "once, oldest first") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih.", k_t0);
    const auto newer = queue(t.db, "antri", k_t0 + k_minute_ms);
    receipted(t.db, "later", k_t0 + 2 * k_minute_ms);

    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + 11 * k_minute_ms, policy());
    CHECK(result.found_receipt.empty());
    REQUIRE(result.resent.size() == 1);
    CHECK(result.resent[0].outbound_id == id);
    CHECK(result.resent[0].msisdn == k_citizen);
    const auto row = reply(t.db, id);
    CHECK(row.state == "queued");
    CHECK_FALSE(row.claimed_at);
    CHECK_FALSE(row.submit_started_at);
    CHECK(row.last_error.value_or("").find("sent again") != std::string::npos);
    CHECK(resends(t.db, id) == 1);
    const auto claimed =
        claim_outbound(t.db, "telkomsel", 10, k_t0 + 12 * k_minute_ms, k_t0 - k_hour_ms);
    REQUIRE(claimed.size() == 2);
    CHECK(claimed[0].id == id);
    CHECK(claimed[1].id == newer);

    // In doubt a second time: left for an operator, not resent again.
    mark_submit_started(t.db, id, 1, k_t0 + 12 * k_minute_ms);
    record_submit_unknown(t.db, id, "telkomsel", {}, 1, "no response",
                          k_t0 + 12 * k_minute_ms + 10'000);
    receipted(t.db, "later2", k_t0 + 13 * k_minute_ms);
    const auto second = resolve_in_doubt(t.db, "telkomsel", k_t0 + 30 * k_minute_ms, policy());
    CHECK(second.resent.empty());
    CHECK(second.found_receipt.empty());
    CHECK(reply(t.db, id).state == "unknown");
  }

  TEST_CASE("a later reply delivered that belongs to a report of the number counts as well") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih.", k_t0);
    const auto report =
        file_report(t.db, std::string(k_citizen), "jalan rusak", k_t0 + k_minute_ms);
    const auto later = replies(t.db, fmt::format("report_id = {}", report));
    REQUIRE(later.size() == 1);
    REQUIRE(later[0].id > id);
    record_submitted(t.db, later[0].id, "telkomsel", {"of-report"}, k_t0 + 2 * k_minute_ms);
    REQUIRE(record_receipt(t.db,
                           {"telkomsel", "of-report", "delivered", std::string(k_citizen), ""},
                           k_t0 + 3 * k_minute_ms));

    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + 11 * k_minute_ms, policy());
    REQUIRE(result.resent.size() == 1);
    CHECK(result.resent[0].outbound_id == id);
  }

  TEST_CASE("without a delivered later reply to the same number, a missing receipt proves "
            "nothing") {
    TestDb t;
    receipted(t.db, "before", k_t0 - k_minute_ms); // delivered once, before it
    const auto id = in_doubt(t.db, "Terima kasih.", k_t0);
    SUBCASE("a later reply to it without receipt (the handset may be off)") {
      const auto later = queue(t.db, "antri", k_t0 + k_minute_ms);
      record_submitted(t.db, later, "telkomsel", {"nope"}, k_t0 + k_minute_ms);
    }
    SUBCASE("a later reply to it that could not be delivered") {
      receipted(t.db, "undelivered", k_t0 + k_minute_ms, k_citizen, "undeliverable");
    }
    SUBCASE("later replies to other numbers delivered") {
      receipted(t.db, "other", k_t0 + k_minute_ms, "628111111111");
    }
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy());
    CHECK(result.resent.empty());
    CHECK(result.found_receipt.empty());
    CHECK(result.still_in_doubt == 1);
    CHECK(reply(t.db, id).state == "unknown");
  }

  TEST_CASE("an operator's resend replaces the automatic one") {
    TestDb t;
    const auto report = file_report(t.db, std::string(k_citizen), "jalan rusak", k_t0);
    const auto first = replies(t.db, fmt::format("report_id = {}", report));
    REQUIRE(first.size() == 1);
    const auto id = first[0].id;
    REQUIRE(claim_outbound(t.db, first[0].link, 10, k_t0, 0).size() == 1);
    mark_submit_started(t.db, id, 1, k_t0);
    record_submit_unknown(t.db, id, "telkomsel", {}, 1, "no response", k_t0 + 10'000);
    const auto copy = resend_last_reply(t.db, report, k_t0 + 20'000);
    REQUIRE(copy);
    receipted(t.db, "later", k_t0 + 30'000);
    const auto result = resolve_in_doubt(t.db, first[0].link, k_t0 + k_hour_ms, policy());
    CHECK(result.resent.empty());
    CHECK(reply(t.db, id).state == "unknown");
    CHECK(reply(t.db, *copy).state == "queued");
  }

  TEST_CASE("receipts that cannot be its own are not taken for it") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih, laporan Anda diterima.", k_t0);
    SUBCASE("another handset") {
      record_receipt(t.db, {"telkomsel", "o1", "delivered", "628999999999", ""}, k_t0 + 20'000);
    }
    SUBCASE("another text") {
      record_receipt(
          t.db, {"telkomsel", "o2", "delivered", std::string(k_citizen), "Laporan MTRABCD suda"},
          k_t0 + 20'000);
    }
    SUBCASE("from before it was sent") {
      record_receipt(t.db, {"telkomsel", "o3", "delivered", std::string(k_citizen), ""}, k_t0 - 1);
    }
    receipted(t.db, "later", k_t0 + 30'000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + 11 * k_minute_ms, policy());
    CHECK(result.found_receipt.empty());
    REQUIRE(result.resent.size() == 1);
    CHECK(result.resent[0].outbound_id == id);
    CHECK(count_rows(t.db, "early_receipts") == 1); // left for whoever it belongs to
  }

  TEST_CASE("a receipt that has only just come is left a moment to find its own part") {
    TestDb t;
    in_doubt(t.db, "Terima kasih.", k_t0);
    const auto now = k_t0 + 11 * k_minute_ms;
    record_receipt(t.db, {"telkomsel", "fresh", "delivered", std::string(k_citizen), ""},
                   now - 1000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", now, policy());
    CHECK(result.found_receipt.empty());
    CHECK(result.still_in_doubt == 1); // no later reply was receipted: waits
    const auto later = resolve_in_doubt(t.db, "telkomsel", now + 10'000, policy());
    CHECK(later.found_receipt.size() == 1);
  }

  TEST_CASE("receipts for only some parts of a long reply leave it to an operator") {
    TestDb t;
    const auto id = in_doubt(t.db, "bagian satu bagian dua", k_t0, {}, 2);
    record_receipt(t.db, {"telkomsel", "q1", "delivered", std::string(k_citizen), "bagian satu"},
                   k_t0 + 20'000);
    receipted(t.db, "later", k_t0 + 30'000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy());
    CHECK(result.found_receipt.empty());
    REQUIRE(result.found_part.size() == 1);
    CHECK(result.resent.empty());
    const auto row = reply(t.db, id);
    CHECK(row.state == "unknown");
    CHECK(row.last_error.value_or("").find("1 of its 2 parts") != std::string::npos);
    CHECK(resends(t.db, id) == 1);
    // Judged once.
    const auto again = resolve_in_doubt(t.db, "telkomsel", k_t0 + 2 * k_hour_ms, policy());
    CHECK(again.found_part.empty());
    CHECK(again.resent.empty());
  }

  TEST_CASE("a reply with a part the SMSC accepted is never resent; that part's receipt counts") {
    TestDb t;
    const auto id = in_doubt(t.db, "bagian satu bagian dua", k_t0, {"p1"}, 2);
    receipted(t.db, "later", k_t0 + 30'000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy());
    CHECK(result.resent.empty());
    CHECK(result.found_receipt.empty());
    // Part 1 delivered, part 2 in doubt: the reply is not delivered.
    CHECK(record_receipt(t.db, {"telkomsel", "p1", "delivered", std::string(k_citizen), ""},
                         k_t0 + 40'000));
    CHECK(reply(t.db, id).state == "unknown");
  }

  TEST_CASE("replies past reply_max_age are given up on, and other links are not judged") {
    TestDb t;
    const auto id = in_doubt(t.db, "Terima kasih.", k_t0);
    receipted(t.db, "later", k_t0 + 30'000);
    CHECK(resolve_in_doubt(t.db, "indosat", k_t0 + k_hour_ms, policy()).resent.empty());
    auto old = policy();
    old.created_after = k_t0 + 1;
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, old);
    CHECK(result.resent.empty());
    CHECK(result.given_up == 1);
    CHECK(reply(t.db, id).state == "unknown");
    CHECK(reply(t.db, id).last_error.value_or("").find("within reply_max_age") !=
          std::string::npos);
    // Given up for good.
    CHECK(resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy()).resent.empty());
  }

  TEST_CASE("a long reply the daemon died sending is never resent automatically") {
    TestDb t;
    const auto id = queue(t.db, "bagian satu bagian dua", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, 0).size() == 1);
    mark_submit_started(t.db, id, 2, k_t0);
    recover_on_startup(t.db, k_t0 + 5000);
    REQUIRE(reply(t.db, id).state == "unknown");
    receipted(t.db, "later", k_t0 + 30'000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy());
    CHECK(result.resent.empty());
    CHECK(resends(t.db, id) == 1);
  }

  TEST_CASE("a reply the daemon died sending is judged the same way") {
    TestDb t;
    const auto id = queue(t.db, "Terima kasih.", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, 0).size() == 1);
    mark_submit_started(t.db, id, 1, k_t0);
    recover_on_startup(t.db, k_t0 + 5000);
    REQUIRE(reply(t.db, id).state == "unknown");
    record_receipt(t.db, {"telkomsel", "r1", "delivered", std::string(k_citizen), "Terima kasih."},
                   k_t0 + 6000);
    const auto result = resolve_in_doubt(t.db, "telkomsel", k_t0 + k_hour_ms, policy());
    REQUIRE(result.found_receipt.size() == 1);
    CHECK(reply(t.db, id).state == "delivered");
  }

  TEST_CASE("a receipt's handset and excerpt are kept until a part or a reply in doubt takes it") {
    TestDb t;
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "m1", "expired", "628555", "Halo"}, k_t0));
    CHECK(query_text(t.db, "SELECT msisdn || '|' || excerpt || '|' || state FROM "
                           "early_receipts WHERE message_id = 'm1'") == "628555|Halo|expired");
  }
}

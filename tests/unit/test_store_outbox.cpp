#include <laporsms/store/intake.hpp>
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

std::int64_t queue(Connection& db, std::string_view link, std::string_view text, std::int64_t at) {
  return queue_reply(db, std::nullopt, "help", link, "628123456789", text, at);
}

std::string part_state(Connection& db, std::int64_t outbound_id, int part) {
  return query_text(db, fmt::format("SELECT state FROM outbound_parts WHERE outbound_id = {} "
                                    "AND part = {}",
                                    outbound_id, part))
      .value_or("NULL");
}

// A reply submitted in `message_ids.size()` parts.
std::int64_t submitted(Connection& db, const std::vector<std::string>& message_ids,
                       std::int64_t at = k_t0) {
  const auto id = queue(db, "telkomsel", "teks", at);
  const auto claimed = claim_outbound(db, "telkomsel", 10, at, at - k_hour_ms);
  REQUIRE(claimed.size() == 1);
  record_submitted(db, id, "telkomsel", message_ids, at + 1);
  return id;
}

} // namespace

TEST_SUITE("store::outbox") {

  TEST_CASE("claim_outbound takes the oldest queued replies of one link, up to the limit") {
    TestDb t;
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 5; ++i) {
      ids.push_back(queue(t.db, "telkomsel", fmt::format("teks {}", i), k_t0 + i));
    }
    const auto other = queue(t.db, "indosat", "lain", k_t0);
    CHECK(queued_count(t.db, "telkomsel") == 5);
    CHECK(queued_count(t.db, "indosat") == 1);

    const std::int64_t now = k_t0 + k_minute_ms;
    const auto first = claim_outbound(t.db, "telkomsel", 3, now, k_t0 - k_hour_ms);
    REQUIRE(first.size() == 3);
    for (std::size_t i = 0; i < first.size(); ++i) {
      CAPTURE(i);
      CHECK(first[i].id == ids[i]);
      CHECK(first[i].link == "telkomsel");
      CHECK(first[i].msisdn == "628123456789");
      CHECK(first[i].text == fmt::format("teks {}", i));
      CHECK(first[i].created_at == k_t0 + static_cast<std::int64_t>(i));
      const auto row = reply(t.db, ids[i]);
      CHECK(row.claimed_at == now);
      CHECK_FALSE(row.submit_started_at); // claimed is not started: nothing left yet
      CHECK(row.state == "queued");
    }
    // Claimed replies are not handed out twice.
    const auto second = claim_outbound(t.db, "telkomsel", 10, now + 1, k_t0 - k_hour_ms);
    REQUIRE(second.size() == 2);
    CHECK(second[0].id == ids[3]);
    CHECK(second[1].id == ids[4]);
    CHECK(claim_outbound(t.db, "telkomsel", 10, now + 2, k_t0 - k_hour_ms).empty());
    CHECK_FALSE(reply(t.db, other).claimed_at);

    const auto indosat = claim_outbound(t.db, "indosat", 10, now, k_t0 - k_hour_ms);
    REQUIRE(indosat.size() == 1);
    CHECK(indosat[0].id == other);
    CHECK(claim_outbound(t.db, "nowhere", 10, now, 0).empty());
  }

  TEST_CASE("claim_outbound expires replies that waited too long") {
    TestDb t;
    const auto old_one = queue(t.db, "telkomsel", "lama", k_t0 - 3 * k_hour_ms);
    const auto fresh = queue(t.db, "telkomsel", "baru", k_t0 - k_minute_ms);
    const auto other_link = queue(t.db, "indosat", "lama juga", k_t0 - 3 * k_hour_ms);
    const auto claimed = claim_outbound(t.db, "telkomsel", 10, k_t0, k_t0 - 2 * k_hour_ms);
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].id == fresh);
    const auto expired = reply(t.db, old_one);
    CHECK(expired.state == "expired");
    CHECK(expired.last_error.has_value());
    CHECK_FALSE(expired.submit_started_at);
    // Only the claimed link's queue is swept.
    CHECK(reply(t.db, other_link).state == "queued");
    // A claimed reply is not expired behind the sender's back.
    CHECK(
        claim_outbound(t.db, "telkomsel", 10, k_t0 + 10 * k_hour_ms, k_t0 + 5 * k_hour_ms).empty());
    CHECK(reply(t.db, fresh).state == "queued");
    CHECK(reply(t.db, fresh).claimed_at == k_t0);
  }

  TEST_CASE("a reply queued claimed, for an outbox that reserved room, is not claimed again") {
    TestDb t;
    const auto handed = queue_reply(t.db, std::nullopt, "help", "telkomsel", "628123", "a", k_t0,
                                    ReplyRoom::claimed);
    const auto queued = queue_reply(t.db, std::nullopt, "help", "telkomsel", "628124", "b", k_t0);
    const auto claimed = claim_outbound(t.db, "telkomsel", 10, k_t0 + 7, 0);
    REQUIRE(claimed.size() == 1);
    CHECK(claimed[0].id == queued);
    CHECK(t.db.query_int(fmt::format("SELECT claimed_at FROM outbound WHERE id = {}", handed)) ==
          k_t0);
    // Never started when the daemon stopped: back to the queue at start-up.
    recover_on_startup(t.db, k_t0 + 10);
    const auto again = claim_outbound(t.db, "telkomsel", 10, k_t0 + 11, 0);
    REQUIRE(again.size() == 2);
    CHECK(again[0].id == handed);
  }

  TEST_CASE("a reply queued started is neither claimed nor requeued: it may have left") {
    TestDb t;
    const auto started = queue_reply(t.db, std::nullopt, "help", "telkomsel", "628123", "a", k_t0,
                                     ReplyRoom::started);
    CHECK(claim_outbound(t.db, "telkomsel", 10, k_t0 + 7, 0).empty());
    CHECK(reply(t.db, started).submit_started_at == k_t0);
    const auto recovered = recover_on_startup(t.db, k_t0 + 10);
    CHECK(recovered.replies_unknown == 1);
    CHECK(recovered.replies_requeued == 0);
    CHECK(claim_outbound(t.db, "telkomsel", 10, k_t0 + 11, 0).empty());
  }

  TEST_CASE("record_submitted stores every part's message id") {
    TestDb t;
    const auto id = queue(t.db, "telkomsel", "panjang", k_t0);
    claim_outbound(t.db, "telkomsel", 10, k_t0, 0);
    record_submit_failed(t.db, id, "throttled", false, k_t0 + 1);
    claim_outbound(t.db, "telkomsel", 10, k_t0 + 2, 0);
    record_submitted(t.db, id, "telkomsel", {"msg-a", "msg-b", "msg-c"}, k_t0 + 3);

    const auto row = reply(t.db, id);
    CHECK(row.state == "submitted");
    CHECK_FALSE(row.last_error);
    CHECK(t.db.query_int(fmt::format("SELECT parts FROM outbound WHERE id = {}", id)) == 3);
    auto parts = t.db.prepare_uncached(fmt::format(
        "SELECT part, message_id, state, updated_at FROM outbound_parts WHERE outbound_id = {} "
        "ORDER BY part",
        id));
    for (const char* expected : {"msg-a", "msg-b", "msg-c"}) {
      REQUIRE(parts->step());
      CHECK(parts->column_text(1) == expected);
      CHECK(parts->column_text(2) == "submitted");
      CHECK(parts->column_int(3) == k_t0 + 3);
    }
    CHECK_FALSE(parts->step());
    CHECK(queued_count(t.db, "telkomsel") == 0);
  }

  TEST_CASE("a temporary refusal requeues the reply, a permanent one ends it") {
    TestDb t;
    const auto temp = queue(t.db, "telkomsel", "satu", k_t0);
    const auto perm = queue(t.db, "telkomsel", "dua", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, 0).size() == 2);
    record_submit_failed(t.db, temp, "ESME_RTHROTTLED", false, k_t0 + 1);
    record_submit_failed(t.db, perm, "ESME_RINVDSTADR", true, k_t0 + 1);

    const auto requeued = reply(t.db, temp);
    CHECK(requeued.state == "queued");
    CHECK_FALSE(requeued.submit_started_at);
    CHECK(requeued.last_error == "ESME_RTHROTTLED");
    const auto dead = reply(t.db, perm);
    CHECK(dead.state == "undeliverable");
    CHECK(dead.last_error == "ESME_RINVDSTADR");

    const auto again = claim_outbound(t.db, "telkomsel", 10, k_t0 + 2, 0);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == temp);
    CHECK(queued_count(t.db, "telkomsel") == 1);
  }

  TEST_CASE("a submit without an answer is marked unknown, never resent") {
    TestDb t;
    const auto id = queue(t.db, "telkomsel", "satu", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, 0).size() == 1);
    record_submit_unknown(t.db, id, "telkomsel", {}, 1, "response timeout", k_t0 + 10'000);
    const auto row = reply(t.db, id);
    CHECK(row.state == "unknown");
    CHECK(row.last_error == "response timeout");
    CHECK(claim_outbound(t.db, "telkomsel", 10, k_t0 + 20'000, 0).empty());
    CHECK(queued_count(t.db, "telkomsel") == 0);
  }

  TEST_CASE("a receipt for a single part delivers the reply") {
    TestDb t;
    const auto id = submitted(t.db, {"abc123"});
    CHECK(record_receipt(t.db, {"telkomsel", "abc123", "delivered", "", ""}, k_t0 + 5000));
    CHECK(reply(t.db, id).state == "delivered");
    CHECK(part_state(t.db, id, 1) == "delivered");
  }

  TEST_CASE("a receipt whose id is the submit_sm_resp's in the other base is matched") {
    TestDb t;
    const auto hex_id = submitted(t.db, {"1A2B"});
    CHECK(record_receipt(t.db, {"telkomsel", "6699", "delivered", "", ""}, k_t0 + 5000)); // 0x1A2B
    CHECK(reply(t.db, hex_id).state == "delivered");
    const auto decimal_id = submitted(t.db, {"1234567"});
    CHECK(record_receipt(t.db, {"telkomsel", "12d687", "undeliverable", "", ""}, k_t0 + 6000));
    CHECK(reply(t.db, decimal_id).state == "undeliverable");
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "99999", "delivered", "", ""}, k_t0 + 7000));
    CHECK(message_id_forms("10") == std::vector<std::string>{"10", "a", "A", "16"});
    CHECK(message_id_forms("msg-1") == std::vector<std::string>{"msg-1"});
  }

  TEST_CASE("a multipart reply is delivered only when every part is") {
    TestDb t;
    const auto id = submitted(t.db, {"p1", "p2", "p3"});
    CHECK(record_receipt(t.db, {"telkomsel", "p2", "delivered", "", ""}, k_t0 + 1));
    CHECK(reply(t.db, id).state == "submitted");
    CHECK(record_receipt(t.db, {"telkomsel", "p1", "delivered", "", ""}, k_t0 + 2));
    CHECK(reply(t.db, id).state == "submitted");
    CHECK(part_state(t.db, id, 3) == "submitted");
    CHECK(record_receipt(t.db, {"telkomsel", "p3", "delivered", "", ""}, k_t0 + 3));
    CHECK(reply(t.db, id).state == "delivered");
  }

  TEST_CASE("the worst state of the parts wins") {
    TestDb t;
    SUBCASE("undeliverable over expired and delivered") {
      const auto id = submitted(t.db, {"a1", "a2", "a3"});
      record_receipt(t.db, {"telkomsel", "a1", "delivered", "", ""}, k_t0 + 1);
      record_receipt(t.db, {"telkomsel", "a3", "undeliverable", "", ""}, k_t0 + 2);
      record_receipt(t.db, {"telkomsel", "a2", "expired", "", ""}, k_t0 + 3);
      CHECK(reply(t.db, id).state == "undeliverable");
    }
    SUBCASE("expired over unknown") {
      const auto id = submitted(t.db, {"b1", "b2"});
      record_receipt(t.db, {"telkomsel", "b1", "unknown", "", ""}, k_t0 + 1);
      record_receipt(t.db, {"telkomsel", "b2", "expired", "", ""}, k_t0 + 2);
      CHECK(reply(t.db, id).state == "expired");
    }
    SUBCASE("unknown over delivered") {
      const auto id = submitted(t.db, {"c1", "c2"});
      record_receipt(t.db, {"telkomsel", "c1", "delivered", "", ""}, k_t0 + 1);
      record_receipt(t.db, {"telkomsel", "c2", "unknown", "", ""}, k_t0 + 2);
      CHECK(reply(t.db, id).state == "unknown");
    }
    SUBCASE("a later delivered part does not undo a failure") {
      const auto id = submitted(t.db, {"d1", "d2"});
      record_receipt(t.db, {"telkomsel", "d1", "undeliverable", "", ""}, k_t0 + 1);
      record_receipt(t.db, {"telkomsel", "d2", "delivered", "", ""}, k_t0 + 2);
      CHECK(reply(t.db, id).state == "undeliverable");
      CHECK(part_state(t.db, id, 2) == "delivered");
    }
  }

  TEST_CASE("a receipt for a message id we never sent changes nothing") {
    TestDb t;
    const auto id = submitted(t.db, {"known"});
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "unknown-id", "delivered", "", ""}, k_t0 + 1));
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "", "delivered", "", ""}, k_t0 + 1));
    CHECK(reply(t.db, id).state == "submitted");
    CHECK(part_state(t.db, id, 1) == "submitted");
  }

  TEST_CASE("a receipt names a part only on the link that sent it") {
    TestDb t;
    // Two SMSCs hand out the same message id, each for its own reply.
    const auto ours = submitted(t.db, {"1001"});
    const auto theirs = queue(t.db, "indosat", "teks lain", k_t0);
    REQUIRE(claim_outbound(t.db, "indosat", 10, k_t0, k_t0 - k_hour_ms).size() == 1);
    record_submitted(t.db, theirs, "indosat", {"1001"}, k_t0 + 2);

    CHECK(record_receipt(t.db, {"indosat", "1001", "undeliverable", "", ""}, k_t0 + 5000));
    CHECK(reply(t.db, theirs).state == "undeliverable");
    CHECK(reply(t.db, ours).state == "submitted");
    CHECK(record_receipt(t.db, {"telkomsel", "1001", "delivered", "", ""}, k_t0 + 6000));
    CHECK(reply(t.db, ours).state == "delivered");
    CHECK(reply(t.db, theirs).state == "undeliverable");
    // A third link never sent 1001.
    CHECK_FALSE(record_receipt(t.db, {"xl", "1001", "delivered", "", ""}, k_t0 + 7000));
  }

  TEST_CASE("a reply carried by a fallback link takes its receipts from that link") {
    TestDb t;
    const auto id = queue(t.db, "telkomsel", "teks", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, k_t0 - k_hour_ms).size() == 1);
    record_submitted(t.db, id, "indosat", {"m-7"}, k_t0 + 1);
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "m-7", "delivered", "", ""}, k_t0 + 2));
    CHECK(reply(t.db, id).state == "submitted");
    CHECK(record_receipt(t.db, {"indosat", "m-7", "delivered", "", ""}, k_t0 + 3));
    CHECK(reply(t.db, id).state == "delivered");
  }

  TEST_CASE("a receipt that overtook its part is applied, in either base, from its own link") {
    TestDb t;
    const auto id = queue(t.db, "telkomsel", "teks", k_t0);
    REQUIRE(claim_outbound(t.db, "telkomsel", 10, k_t0, k_t0 - k_hour_ms).size() == 1);
    // The receipts come before submit_sm_resp was written: decimal, while
    // submit_sm_resp says hex; the other link's receipt is not ours.
    CHECK_FALSE(record_receipt(t.db, {"indosat", "6699", "undeliverable", "", ""}, k_t0 + 1));
    CHECK_FALSE(record_receipt(t.db, {"telkomsel", "6699", "delivered", "", ""}, k_t0 + 2));
    record_submitted(t.db, id, "telkomsel", {"1A2B"}, k_t0 + 3);
    CHECK(reply(t.db, id).state == "delivered");
    CHECK(count_rows(t.db, "early_receipts") == 1); // indosat's, for whoever it belongs to
  }
}

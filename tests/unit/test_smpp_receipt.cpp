#include <laporsms/smpp/pdu.hpp>
#include <laporsms/smpp/receipt.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace laporsms::smpp;

namespace {

std::vector<std::uint8_t> octets(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

ShortMessageFields receipt_text(std::string_view text) {
  ShortMessageFields fields;
  fields.esm_class = 0x04;
  fields.short_message = octets(text);
  return fields;
}

Tlv id_tlv(std::string_view id) {
  // receipted_message_id is a C-octet string: it travels with its NUL.
  auto value = octets(id);
  value.push_back(0);
  return Tlv{tlv_tag::receipted_message_id, std::move(value)};
}

Tlv state_tlv(std::uint8_t state) {
  return Tlv{tlv_tag::message_state, {state}};
}

std::string appendix_b(std::string_view id, std::string_view stat) {
  return "id:" + std::string(id) +
         " sub:001 dlvrd:001 submit date:2611291305 done date:2611291306 stat:" +
         std::string(stat) + " err:000 text:LAPORYAI jalan rusak";
}

} // namespace

TEST_SUITE("smpp::Receipt") {
  TEST_CASE("reads the text form of SMPP 3.4 appendix B") {
    const auto receipt = parse_receipt(receipt_text(appendix_b("7f3a9c01", "DELIVRD")));
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "7f3a9c01");
    CHECK(receipt->state == ReceiptState::delivered);
    CHECK(receipt->excerpt == "LAPORYAI jalan rusak");
  }

  TEST_CASE("the excerpt runs to the end of the text, blanks and all, and is empty without text:") {
    auto receipt =
        parse_receipt(receipt_text(std::string("id:9 stat:UNDELIV text:Terima kasih, lap") + '\0'));
    REQUIRE(receipt.has_value());
    CHECK(receipt->excerpt == "Terima kasih, lap");
    receipt = parse_receipt(receipt_text("id:9 stat:UNDELIV err:001"));
    REQUIRE(receipt.has_value());
    CHECK(receipt->excerpt.empty());
    receipt = parse_receipt(receipt_text("id:9 stat:DELIVRD subtext:abc"));
    REQUIRE(receipt.has_value());
    CHECK(receipt->excerpt.empty());
  }

  TEST_CASE("knows every stat word of appendix B") {
    const std::vector<std::pair<std::string_view, ReceiptState>> words = {
        {"DELIVRD", ReceiptState::delivered}, {"EXPIRED", ReceiptState::expired},
        {"DELETED", ReceiptState::deleted},   {"UNDELIV", ReceiptState::undeliverable},
        {"ACCEPTD", ReceiptState::accepted},  {"UNKNOWN", ReceiptState::unknown},
        {"REJECTD", ReceiptState::rejected},  {"ENROUTE", ReceiptState::enroute},
    };
    for (const auto& entry : words) {
      // Plain locals: clang 14 cannot capture structured bindings (CAPTURE).
      const auto word = entry.first;
      const auto state = entry.second;
      CAPTURE(word);
      const auto receipt = parse_receipt(receipt_text(appendix_b("42", word)));
      REQUIRE(receipt.has_value());
      CHECK(receipt->message_id == "42");
      CHECK(receipt->state == state);
    }
  }

  TEST_CASE("a stat word at the very end of the text is read") {
    const auto receipt = parse_receipt(receipt_text("id:77 sub:001 dlvrd:000 stat:EXPIRED"));
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "77");
    CHECK(receipt->state == ReceiptState::expired);
  }

  TEST_CASE("an unknown stat word gives no receipt") {
    CHECK_FALSE(parse_receipt(receipt_text(appendix_b("42", "BOGUS12"))).has_value());
    CHECK_FALSE(parse_receipt(receipt_text("id:42 sub:001 dlvrd:001 stat: err:000")).has_value());
  }

  TEST_CASE("reads the receipted_message_id and message_state TLVs") {
    ShortMessageFields fields;
    fields.esm_class = 0x04;
    fields.tlvs = {id_tlv("0a1b2c3d"), state_tlv(2)};
    const auto receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "0a1b2c3d");
    CHECK(receipt->state == ReceiptState::delivered);
  }

  TEST_CASE("a receipted_message_id without its NUL is read all the same") {
    ShortMessageFields fields;
    fields.tlvs = {Tlv{tlv_tag::receipted_message_id, octets("abc")}, state_tlv(5)};
    const auto receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "abc");
    CHECK(receipt->state == ReceiptState::undeliverable);
  }

  TEST_CASE("maps every message_state value of SMPP 3.4 5.2.28") {
    const std::vector<std::pair<std::uint8_t, ReceiptState>> values = {
        {1, ReceiptState::enroute}, {2, ReceiptState::delivered},     {3, ReceiptState::expired},
        {4, ReceiptState::deleted}, {5, ReceiptState::undeliverable}, {6, ReceiptState::accepted},
        {7, ReceiptState::unknown}, {8, ReceiptState::rejected},
    };
    for (const auto& entry : values) {
      const auto value = entry.first;
      const auto state = entry.second;
      CAPTURE(static_cast<int>(value));
      ShortMessageFields fields;
      fields.tlvs = {id_tlv("m1"), state_tlv(value)};
      const auto receipt = parse_receipt(fields);
      REQUIRE(receipt.has_value());
      CHECK(receipt->state == state);
    }
  }

  TEST_CASE("a message_state outside 1..8 gives no receipt without a text form") {
    for (const std::uint8_t value : {std::uint8_t{0}, std::uint8_t{9}, std::uint8_t{0xFF}}) {
      CAPTURE(static_cast<int>(value));
      ShortMessageFields fields;
      fields.tlvs = {id_tlv("m1"), state_tlv(value)};
      CHECK_FALSE(parse_receipt(fields).has_value());
    }
  }

  TEST_CASE("a message_state of the wrong length falls back to the text form") {
    auto fields = receipt_text(appendix_b("m1", "REJECTD"));
    fields.tlvs = {id_tlv("m1"), Tlv{tlv_tag::message_state, {2, 0}}};
    const auto receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->state == ReceiptState::rejected);
  }

  TEST_CASE("the TLVs win over the text form") {
    auto fields = receipt_text(appendix_b("from-text", "DELIVRD"));
    fields.tlvs = {id_tlv("from-tlv"), state_tlv(5)};
    const auto receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "from-tlv");
    CHECK(receipt->state == ReceiptState::undeliverable);
  }

  TEST_CASE("TLV and text form complete each other") {
    // The id only in the TLV, the state only in the text.
    auto fields = receipt_text("sub:001 dlvrd:001 stat:DELIVRD err:000");
    fields.tlvs = {id_tlv("tlv-id")};
    auto receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "tlv-id");
    CHECK(receipt->state == ReceiptState::delivered);

    // The state only in the TLV, the id only in the text.
    fields = receipt_text("id:text-id sub:001 dlvrd:000 err:000");
    fields.tlvs = {state_tlv(3)};
    receipt = parse_receipt(fields);
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "text-id");
    CHECK(receipt->state == ReceiptState::expired);
  }

  TEST_CASE("a missing message id gives no receipt") {
    CHECK_FALSE(parse_receipt(receipt_text("sub:001 dlvrd:001 submit date:2611291305 "
                                           "done date:2611291306 stat:DELIVRD err:000"))
                    .has_value());
    CHECK_FALSE(parse_receipt(receipt_text(appendix_b("", "DELIVRD"))).has_value());
    ShortMessageFields fields;
    fields.tlvs = {state_tlv(2)};
    CHECK_FALSE(parse_receipt(fields).has_value());
    fields.tlvs = {Tlv{tlv_tag::receipted_message_id, {0}}, state_tlv(2)};
    CHECK_FALSE(parse_receipt(fields).has_value());
  }

  TEST_CASE("a missing state gives no receipt") {
    CHECK_FALSE(
        parse_receipt(receipt_text("id:42 sub:001 dlvrd:001 submit date:2611291305 err:000"))
            .has_value());
    ShortMessageFields fields;
    fields.tlvs = {id_tlv("42")};
    CHECK_FALSE(parse_receipt(fields).has_value());
  }

  TEST_CASE("an empty message gives no receipt") {
    CHECK_FALSE(parse_receipt(ShortMessageFields{}).has_value());
  }

  TEST_CASE("keys match in any letter case, as SMPP 3.4 Appendix B spells Text:") {
    const auto receipt = parse_receipt(receipt_text(
        "id:9 sub:001 dlvrd:001 submit date:2611291305 done date:2611291306 Stat:DELIVRD "
        "err:000 Text:Laporan MTR4K7Q"));
    REQUIRE(receipt);
    CHECK(receipt->message_id == "9");
    CHECK(receipt->state == ReceiptState::delivered);
    CHECK(receipt->excerpt == "Laporan MTR4K7Q");
    const auto upper = parse_receipt(receipt_text("ID:AB12 STAT:UNDELIV TEXT:Halo"));
    REQUIRE(upper);
    CHECK(upper->message_id == "AB12");
    CHECK(upper->excerpt == "Halo");
  }

  TEST_CASE("keys are matched whole") {
    // "sub_id:" and "xstat:" are not "id:" and "stat:".
    CHECK_FALSE(parse_receipt(receipt_text("sub_id:99 stat:DELIVRD")).has_value());
    CHECK_FALSE(parse_receipt(receipt_text("id:99 xstat:DELIVRD")).has_value());
    const auto receipt = parse_receipt(receipt_text("sub_id:99 id:100 stat:DELIVRD"));
    REQUIRE(receipt.has_value());
    CHECK(receipt->message_id == "100");
  }

  TEST_CASE("is_receipt reads the message type bits of esm_class") {
    CHECK(is_receipt(0x04));       // SMSC delivery receipt
    CHECK(is_receipt(0x20));       // intermediate delivery notification
    CHECK(is_receipt(0x44));       // a receipt with a user data header
    CHECK(is_receipt(0x84));       // a receipt with reply path set
    CHECK_FALSE(is_receipt(0x00)); // an ordinary MO
    CHECK_FALSE(is_receipt(0x40)); // an MO with a user data header
    CHECK_FALSE(is_receipt(0x08)); // SME delivery acknowledgement
    CHECK_FALSE(is_receipt(0x10)); // SME manual/user acknowledgement
    CHECK_FALSE(is_receipt(0x18)); // conversation abort
  }

  TEST_CASE("final_outbound_state names the outbound state a final receipt leads to") {
    CHECK(final_outbound_state(ReceiptState::delivered) == "delivered");
    CHECK(final_outbound_state(ReceiptState::expired) == "expired");
    CHECK(final_outbound_state(ReceiptState::deleted) == "undeliverable");
    CHECK(final_outbound_state(ReceiptState::undeliverable) == "undeliverable");
    CHECK(final_outbound_state(ReceiptState::rejected) == "undeliverable");
    CHECK(final_outbound_state(ReceiptState::unknown) == "unknown");
  }

  TEST_CASE("final_outbound_state is empty for states that are not final") {
    CHECK_FALSE(final_outbound_state(ReceiptState::enroute).has_value());
    CHECK_FALSE(final_outbound_state(ReceiptState::accepted).has_value());
  }
}

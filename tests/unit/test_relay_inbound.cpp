#include <laporsms/relay/inbound.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/sms/charset.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace laporsms;
using relay::make_inbound;
using sms::DefaultCoding;

namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::int64_t k_now = 1795932300LL * 1000;

Bytes ascii(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

Bytes concat(Bytes head, const Bytes& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

smpp::ShortMessageFields mo(std::string source, Bytes short_message, std::uint8_t data_coding = 0,
                            std::uint8_t esm_class = 0) {
  smpp::ShortMessageFields fields;
  fields.source = smpp::Address{1, 1, std::move(source)};
  fields.destination = smpp::Address{3, 0, "1708"};
  fields.data_coding = data_coding;
  fields.esm_class = esm_class;
  fields.short_message = std::move(short_message);
  return fields;
}

} // namespace

TEST_SUITE("relay::make_inbound") {
  TEST_CASE("copies where and when the message came from") {
    const auto fields = mo("628123456789", ascii("LAPORYAI jalan rusak"));
    const auto sms = make_inbound("telkomsel", DefaultCoding::gsm7, fields, k_now);
    CHECK(sms.link == "telkomsel");
    CHECK(sms.received_at == k_now);
    CHECK(sms.source_addr == "628123456789");
    CHECK(sms.msisdn == "628123456789");
    CHECK(sms.destination_addr == "1708");
    CHECK(sms.data_coding == 0);
    CHECK(sms.esm_class == 0);
    CHECK(sms.raw == ascii("LAPORYAI jalan rusak"));
    CHECK(sms.text == "LAPORYAI jalan rusak");
    CHECK_FALSE(sms.had_invalid);
    CHECK_FALSE(sms.binary);
    CHECK_FALSE(sms.short_or_alphanumeric_sender);
  }

  TEST_CASE("data_coding 0 is read as GSM 03.38 with the extension table") {
    // '@' is septet 0x00, '$' 0x02, and the euro sign is escape 0x1B then 0x65.
    const Bytes gsm = {'H',  'a', 'r',  'g', 'a', ' ', 0x02, '5', ' ', 0x1B,
                       0x65, ' ', 0x00, ' ', 'p', 'a', 's',  'a', 'r'};
    const auto sms = make_inbound("xl", DefaultCoding::gsm7, mo("628111", gsm), k_now);
    CHECK(sms.text == "Harga $5 \xE2\x82\xAC @ pasar");
    CHECK_FALSE(sms.had_invalid);
  }

  TEST_CASE("data_coding 0 follows the link's default coding") {
    const Bytes latin1 = {'c', 'a', 'f', 0xE9};
    const auto sms = make_inbound("xl", DefaultCoding::latin1, mo("628111222333", latin1), k_now);
    CHECK(sms.text == "caf\xC3\xA9");
  }

  TEST_CASE("data_coding 8 is read as UCS-2") {
    // "Hi €" and a CJK character, big-endian.
    const Bytes ucs2 = {0x00, 'H', 0x00, 'i', 0x00, ' ', 0x20, 0xAC, 0x4E, 0x2D};
    const auto sms = make_inbound("isat", DefaultCoding::gsm7, mo("628123456789", ucs2, 8), k_now);
    CHECK(sms.text == "Hi \xE2\x82\xAC\xE4\xB8\xAD");
    CHECK(sms.raw == ucs2);
    CHECK(sms.data_coding == 8);
    CHECK_FALSE(sms.had_invalid);
  }

  TEST_CASE("an odd UCS-2 byte is marked invalid") {
    const Bytes ucs2 = {0x00, 'O', 0x00, 'K', 0x00};
    const auto sms = make_inbound("isat", DefaultCoding::gsm7, mo("628123456789", ucs2, 8), k_now);
    CHECK(sms.had_invalid);
    CHECK(sms.text.substr(0, 2) == "OK");
  }

  TEST_CASE("the message_payload TLV is preferred over short_message") {
    auto fields = mo("628123456789", ascii("ignored"));
    const auto payload =
        ascii("LAPORYAI lampu jalan di Jl. Ahmad Yani mati sejak seminggu, mohon segera "
              "diperbaiki karena rawan kecelakaan pada malam hari dan banyak anak sekolah "
              "lewat sana setiap pagi; sudah dilaporkan ke kelurahan tetapi belum ada tindakan "
              "sama sekali sampai sekarang.");
    fields.tlvs.push_back(smpp::Tlv{smpp::tlv_tag::message_payload, payload});
    const auto sms = make_inbound("telkomsel", DefaultCoding::gsm7, fields, k_now);
    CHECK(sms.raw == payload);
    CHECK(sms.text == std::string(payload.begin(), payload.end()));
  }

  TEST_CASE("the message_payload TLV alone carries the text") {
    auto fields = mo("628123456789", {});
    fields.tlvs.push_back(smpp::Tlv{smpp::tlv_tag::message_payload, ascii("INFO")});
    const auto sms = make_inbound("telkomsel", DefaultCoding::gsm7, fields, k_now);
    CHECK(sms.text == "INFO");
  }

  TEST_CASE("the user data header is stripped when esm_class has UDHI") {
    const Bytes udh = {0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}; // part 1 of 2, reference 42
    const auto raw = concat(udh, ascii("LAPORYAI bagian satu"));
    const auto sms =
        make_inbound("telkomsel", DefaultCoding::gsm7, mo("628123456789", raw, 0, 0x40), k_now);
    CHECK(sms.text == "LAPORYAI bagian satu");
    CHECK(sms.raw == raw); // stored as received, header included
    CHECK(sms.esm_class == 0x40);
    CHECK_FALSE(sms.had_invalid);
  }

  TEST_CASE("the user data header is stripped from UCS-2 and from message_payload") {
    const Bytes udh = {0x06, 0x08, 0x04, 0x01, 0x00, 0x03, 0x03}; // 16-bit reference, part 3 of 3
    const Bytes ucs2 = {0x00, 'o', 0x00, 'k'};
    auto fields = mo("628123456789", {}, 8, 0x40);
    fields.tlvs.push_back(smpp::Tlv{smpp::tlv_tag::message_payload, concat(udh, ucs2)});
    const auto sms = make_inbound("telkomsel", DefaultCoding::gsm7, fields, k_now);
    CHECK(sms.text == "ok");
    CHECK_FALSE(sms.had_invalid);
  }

  TEST_CASE("without UDHI a leading 0x05 is text, not a header") {
    const auto raw = concat(Bytes{'A'}, ascii("BC"));
    const auto sms = make_inbound("xl", DefaultCoding::gsm7, mo("628123456789", raw), k_now);
    CHECK(sms.text == "ABC");
  }

  TEST_CASE("a broken user data header is marked invalid and the raw bytes kept") {
    // UDHL says 9 octets, but only 4 follow.
    const Bytes broken = {0x09, 0x00, 0x03, 0x2A, 0x01};
    const auto sms =
        make_inbound("xl", DefaultCoding::gsm7, mo("628123456789", broken, 0, 0x40), k_now);
    CHECK(sms.had_invalid);
    CHECK(sms.raw == broken);
    CHECK_FALSE(sms.binary);

    // A concatenation IE whose sequence is above its total.
    const Bytes bad_concat = concat(Bytes{0x05, 0x00, 0x03, 0x2A, 0x02, 0x03}, ascii("x"));
    const auto other =
        make_inbound("xl", DefaultCoding::gsm7, mo("628123456789", bad_concat, 0, 0x40), k_now);
    CHECK(other.had_invalid);
    CHECK(other.raw == bad_concat);
  }

  TEST_CASE("UDHI on an empty message is marked invalid") {
    const auto sms =
        make_inbound("xl", DefaultCoding::gsm7, mo("628123456789", {}, 0, 0x40), k_now);
    CHECK(sms.had_invalid);
    CHECK(sms.raw.empty());
  }

  TEST_CASE("8-bit data is binary with no text") {
    const Bytes data = {0xDE, 0xAD, 0xBE, 0xEF};
    const auto sms = make_inbound("xl", DefaultCoding::gsm7, mo("628123456789", data, 4), k_now);
    CHECK(sms.binary);
    CHECK(sms.text.empty());
    CHECK(sms.raw == data);
  }

  TEST_CASE("a national 08 sender is normalised to 628") {
    const auto sms =
        make_inbound("telkomsel", DefaultCoding::gsm7, mo("08123456789", ascii("INFO")), k_now);
    CHECK(sms.source_addr == "08123456789");
    CHECK(sms.msisdn == "628123456789");
    CHECK_FALSE(sms.short_or_alphanumeric_sender);

    const auto plus = make_inbound("telkomsel", DefaultCoding::gsm7,
                                   mo("+62 812-3456-789", ascii("INFO")), k_now);
    CHECK(plus.msisdn == "628123456789");
    CHECK(plus.source_addr == "+62 812-3456-789");
  }

  TEST_CASE("short and alphanumeric senders are flagged") {
    for (const std::string sender : {"1708", "123456", "TELKOMSEL", "Info-XL", ""}) {
      CAPTURE(sender);
      const auto sms = make_inbound("xl", DefaultCoding::gsm7, mo(sender, ascii("INFO")), k_now);
      CHECK(sms.short_or_alphanumeric_sender);
      CHECK(sms.msisdn == sender); // kept as it is
    }
    const auto seven = make_inbound("xl", DefaultCoding::gsm7, mo("1234567", ascii("INFO")), k_now);
    CHECK_FALSE(seven.short_or_alphanumeric_sender);
  }
}

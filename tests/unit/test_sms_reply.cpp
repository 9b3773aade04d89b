#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/sms/udh.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace laporsms::sms;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string repeat(std::string_view s, std::size_t n) {
  std::string out;
  for (std::size_t k = 0; k < n; ++k) {
    out += s;
  }
  return out;
}

// The body of `part` (after any UDH) decoded back to UTF-8.
std::string body_text(const EncodedPart& part) {
  std::span<const std::uint8_t> body = part.short_message;
  if (part.esm_class & k_esm_udhi) {
    const auto ud = split_user_data(part.short_message);
    REQUIRE(ud.has_value());
    body = ud->body;
  }
  const auto d = decode_text(part.data_coding, body);
  CHECK_FALSE(d.had_invalid);
  return d.utf8;
}

std::string reassemble(const std::vector<EncodedPart>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += body_text(p);
  }
  return out;
}

// Octets on the air interface: GSM septets are packed after the UDH and its
// fill bits.
std::size_t air_octets(const EncodedPart& part) {
  if (part.data_coding != 0) {
    return part.short_message.size();
  }
  const std::size_t udh = (part.esm_class & k_esm_udhi) ? part.short_message[0] + 1u : 0u;
  const std::size_t septets = part.short_message.size() - udh;
  const std::size_t bits = udh * 8 + (udh ? udh_fill_bits(udh) : 0) + septets * 7;
  return (bits + 7) / 8;
}

void check_concat_headers(const std::vector<EncodedPart>& parts, std::uint8_t reference) {
  for (std::size_t k = 0; k < parts.size(); ++k) {
    CAPTURE(k);
    CHECK(parts[k].esm_class == k_esm_udhi);
    const auto ud = split_user_data(parts[k].short_message);
    REQUIRE(ud.has_value());
    REQUIRE(ud->concat.has_value());
    CHECK(ud->udh_length == 6);
    CHECK(ud->concat->reference == reference);
    CHECK(ud->concat->total == parts.size());
    CHECK(ud->concat->sequence == k + 1);
    CHECK(air_octets(parts[k]) <= 140);
  }
}

} // namespace

TEST_SUITE("sms::reply") {

  TEST_CASE("a short GSM reply is one part of unpacked septets") {
    const auto parts = encode_reply("Laporan MTR4K7Q diterima @ 1708", 7);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 0);
    CHECK(parts[0].esm_class == 0);
    CHECK(parts[0].short_message == Bytes{'L', 'a', 'p', 'o',  'r', 'a', 'n', ' ', 'M', 'T', 'R',
                                          '4', 'K', '7', 'Q',  ' ', 'd', 'i', 't', 'e', 'r', 'i',
                                          'm', 'a', ' ', 0x00, ' ', '1', '7', '0', '8'});
  }

  TEST_CASE("extension characters become escape pairs and national ones their septets") {
    const auto parts = encode_reply("{€} é £", 0);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 0);
    CHECK(parts[0].short_message ==
          Bytes{0x1B, 0x28, 0x1B, 0x65, 0x1B, 0x29, ' ', 0x05, ' ', 0x01});
    CHECK(reassemble(parts) == "{€} é £");
  }

  TEST_CASE("a character outside GSM makes the whole reply UCS-2") {
    const auto parts = encode_reply("Hai 😀 中", 0);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 8);
    CHECK(parts[0].esm_class == 0);
    CHECK(parts[0].short_message == Bytes{0x00, 'H', 0x00, 'a', 0x00, 'i', 0x00, ' ', 0xD8, 0x3D,
                                          0xDE, 0x00, 0x00, ' ', 0x4E, 0x2D});
    CHECK(reassemble(parts) == "Hai 😀 中");
  }

  TEST_CASE("ill-formed UTF-8 is sent as U+FFFD in UCS-2") {
    const auto parts = encode_reply("ok\xC3", 0);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 8);
    CHECK(parts[0].short_message == Bytes{0x00, 'o', 0x00, 'k', 0xFF, 0xFD});
  }

  TEST_CASE("an empty reply is one empty GSM part") {
    const auto parts = encode_reply("", 0);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 0);
    CHECK(parts[0].esm_class == 0);
    CHECK(parts[0].short_message.empty());
  }

  TEST_CASE("exactly 160 septets fit one SMS, 161 take two") {
    auto parts = encode_reply(repeat("a", 160), 1);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].short_message.size() == 160);
    CHECK(air_octets(parts[0]) == 140);

    parts = encode_reply(repeat("€", 80), 1); // 80 escape pairs: 160 septets
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].short_message.size() == 160);

    parts = encode_reply(repeat("a", 161), 0x42);
    REQUIRE(parts.size() == 2);
    check_concat_headers(parts, 0x42);
    CHECK(parts[0].short_message.size() == 6 + 153);
    CHECK(parts[1].short_message.size() == 6 + 8);
    CHECK(Bytes(parts[0].short_message.begin(), parts[0].short_message.begin() + 6) ==
          Bytes{0x05, 0x00, 0x03, 0x42, 0x02, 0x01});
    CHECK(Bytes(parts[1].short_message.begin(), parts[1].short_message.begin() + 6) ==
          Bytes{0x05, 0x00, 0x03, 0x42, 0x02, 0x02});
    CHECK(reassemble(parts) == repeat("a", 161));

    parts = encode_reply(repeat("a", 159) + "€", 0); // 161 septets by one escape pair
    REQUIRE(parts.size() == 2);
    CHECK(reassemble(parts) == repeat("a", 159) + "€");
  }

  TEST_CASE("parts hold 153 septets and 306 septets make exactly two") {
    auto parts = encode_reply(repeat("b", 306), 9);
    REQUIRE(parts.size() == 2);
    check_concat_headers(parts, 9);
    CHECK(parts[1].short_message.size() == 6 + 153);
    parts = encode_reply(repeat("b", 307), 9);
    REQUIRE(parts.size() == 3);
    check_concat_headers(parts, 9);
    CHECK(parts[2].short_message.size() == 6 + 1);
  }

  TEST_CASE("an escape pair is never split across parts") {
    const std::string text = repeat("a", 152) + "{" + repeat("a", 20);
    const auto parts = encode_reply(text, 3);
    REQUIRE(parts.size() == 2);
    check_concat_headers(parts, 3);
    CHECK(parts[0].short_message.size() == 6 + 152);
    CHECK(parts[1].short_message[6] == 0x1B);
    CHECK(parts[1].short_message[7] == 0x28);
    CHECK(reassemble(parts) == text);

    // The pair ending exactly on the limit stays whole in the first part.
    const std::string fits = repeat("a", 151) + "}" + repeat("a", 20);
    const auto p2 = encode_reply(fits, 3);
    REQUIRE(p2.size() == 2);
    CHECK(p2[0].short_message.size() == 6 + 153);
    CHECK(reassemble(p2) == fits);
  }

  TEST_CASE("exactly 70 UCS-2 units fit one SMS, 71 take two") {
    auto parts = encode_reply(repeat("中", 70), 0);
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].data_coding == 8);
    CHECK(parts[0].short_message.size() == 140);

    parts = encode_reply(repeat("中", 68) + "😀", 0); // 68 + 2 units
    REQUIRE(parts.size() == 1);

    parts = encode_reply(repeat("中", 71), 5);
    REQUIRE(parts.size() == 2);
    check_concat_headers(parts, 5);
    CHECK(parts[0].data_coding == 8);
    CHECK(parts[1].data_coding == 8);
    CHECK(parts[0].short_message.size() == 6 + 2 * 67);
    CHECK(parts[1].short_message.size() == 6 + 2 * 4);
    CHECK(reassemble(parts) == repeat("中", 71));
  }

  TEST_CASE("a surrogate pair is never split across parts") {
    const std::string text = repeat("中", 66) + "😀" + repeat("中", 10);
    const auto parts = encode_reply(text, 11);
    REQUIRE(parts.size() == 2);
    check_concat_headers(parts, 11);
    CHECK(parts[0].short_message.size() == 6 + 2 * 66);
    CHECK(parts[1].short_message[6] == 0xD8);
    CHECK(parts[1].short_message[7] == 0x3D);
    CHECK(reassemble(parts) == text);

    const std::string emoji_only = repeat("😀", 40); // 80 units
    const auto p2 = encode_reply(emoji_only, 11);
    REQUIRE(p2.size() == 2);
    CHECK(p2[0].short_message.size() == 6 + 2 * 66);
    CHECK(reassemble(p2) == emoji_only);
  }

  TEST_CASE("the default templates, filled, fit the expected number of parts") {
    const std::string forwarded =
        "Laporan MTR4K7Q sudah masuk LAPOR! dengan Tracking ID #1916449. "
        "Pantau: lapor.go.id/pengaduan/1916449 atau SMS CEK 1916449 ke 1708.";
    const auto parts = encode_reply(forwarded, 0);
    CHECK(parts.size() == 1);
    CHECK(parts[0].data_coding == 0);
    CHECK(reassemble(parts) == forwarded);
  }

  TEST_CASE("text beyond 255 parts is dropped") {
    const auto parts = encode_reply(repeat("x", 255 * 153 + 100), 0xFF);
    REQUIRE(parts.size() == 255);
    check_concat_headers(parts, 0xFF);
    CHECK(reassemble(parts) == repeat("x", 255 * 153));
  }

} // TEST_SUITE

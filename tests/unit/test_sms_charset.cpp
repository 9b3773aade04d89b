#include <laporsms/sms/charset.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace laporsms::sms;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()),
          reinterpret_cast<const std::uint8_t*>(s.data()) + s.size()};
}

DecodedText decode(std::uint8_t dc, const std::vector<std::uint8_t>& bytes,
                   DefaultCoding default_coding = DefaultCoding::gsm7) {
  return decode_text(dc, bytes, default_coding);
}

bool is_well_formed_utf8(std::string_view s) {
  for (std::size_t pos = 0; pos < s.size();) {
    const Utf8Step step = next_code_point(s, pos);
    if (!step.valid) {
      return false;
    }
    pos += step.length;
  }
  return true;
}

// Packs septets LSB first after `fill_bits` zero bits, as the air interface does.
std::vector<std::uint8_t> pack(const std::vector<std::uint8_t>& septets, unsigned fill_bits) {
  std::vector<std::uint8_t> out((fill_bits + 7 * septets.size() + 7) / 8, 0);
  std::size_t bit = fill_bits;
  for (const std::uint8_t s : septets) {
    for (unsigned k = 0; k < 7; ++k, ++bit) {
      if ((s >> k) & 1) {
        out[bit / 8] = static_cast<std::uint8_t>(out[bit / 8] | (1u << (bit % 8)));
      }
    }
  }
  return out;
}

} // namespace

TEST_SUITE("sms::charset") {

  TEST_CASE("GSM 03.38 basic table decodes letters, digits and the national characters") {
    const auto d = decode(0x00, bytes_of("Jalan Ahmad Yani 12, rusak!"));
    CHECK(d.utf8 == "Jalan Ahmad Yani 12, rusak!");
    CHECK_FALSE(d.had_invalid);
    CHECK_FALSE(d.binary);

    const std::vector<std::uint8_t> specials{
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x09, 0x0A, 0x0D, 0x10, 0x11, 0x18, 0x1C, 0x1E,
        0x1F, 0x24, 0x40, 0x5B, 0x5C, 0x5D, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x7F};
    CHECK(decode(0x00, specials).utf8 == "@£$¥èéÇ\n\rΔ_ΣÆßÉ¤¡ÄÖÑÜ§¿äöñüà");
  }

  TEST_CASE("every basic septet but the escape encodes back to itself") {
    for (unsigned septet = 0; septet < 128; ++septet) {
      if (septet == k_gsm_escape) {
        continue;
      }
      const auto d = decode(0x00, {static_cast<std::uint8_t>(septet)});
      REQUIRE_FALSE(d.had_invalid);
      const Utf8Step step = next_code_point(d.utf8, 0);
      REQUIRE(step.length == d.utf8.size());
      const GsmCode code = gsm7_encode(step.code_point);
      CHECK(code.length == 1);
      CHECK(code.septets[0] == septet);
    }
  }

  TEST_CASE("the extension table decodes every defined escape pair") {
    const std::vector<std::uint8_t> pairs{0x1B, 0x28, 0x1B, 0x29, 0x1B, 0x3C, 0x1B,
                                          0x3E, 0x1B, 0x3D, 0x1B, 0x2F, 0x1B, 0x40,
                                          0x1B, 0x14, 0x1B, 0x65, 0x1B, 0x0A};
    const auto d = decode(0x00, pairs);
    CHECK(d.utf8 == "{}[]~\\|^€\f");
    CHECK_FALSE(d.had_invalid);
    CHECK(decode(0x00, {'H', 'a', 'r', 'g', 'a', ' ', 0x1B, 0x65, '5'}).utf8 == "Harga €5");
  }

  TEST_CASE("escape edge cases follow TS 23.038 or become U+FFFD") {
    // An undefined extension code shows the basic character.
    auto d = decode(0x00, {0x1B, 'A'});
    CHECK(d.utf8 == "A");
    CHECK_FALSE(d.had_invalid);
    // Escape escape is reserved and shows a space.
    d = decode(0x00, {'a', 0x1B, 0x1B, 'b'});
    CHECK(d.utf8 == "a b");
    // A trailing escape has lost its partner.
    d = decode(0x00, {'a', 0x1B});
    CHECK(d.utf8 == "a\uFFFD");
    CHECK(d.had_invalid);
    // An escape followed by an octet above 0x7F.
    d = decode(0x00, {0x1B, 0x80, 'x'});
    CHECK(d.utf8 == "\uFFFDx");
    CHECK(d.had_invalid);
  }

  TEST_CASE("GSM octets above 0x7F become U+FFFD") {
    const auto d = decode(0x00, {'o', 'k', 0x80, 0xFF, '!'});
    CHECK(d.utf8 == "ok\uFFFD\uFFFD!");
    CHECK(d.had_invalid);
    const auto f = decode(0xF0, {0xC3, 0xA9});
    CHECK(f.utf8 == "\uFFFD\uFFFD");
    CHECK(f.had_invalid);
  }

  TEST_CASE("data_coding 0 follows the configured default coding") {
    const std::vector<std::uint8_t> text{'C', 'a', 'f', 0xE9, ' ', '$', 0x00};
    auto d = decode(0x00, text, DefaultCoding::latin1);
    CHECK(d.utf8 == std::string("Café $\0", 8));
    CHECK_FALSE(d.had_invalid);

    d = decode(0x00, text, DefaultCoding::ascii);
    CHECK(d.utf8 == std::string("Caf\uFFFD $\0", 9));
    CHECK(d.had_invalid);

    d = decode(0x00, text, DefaultCoding::gsm7);
    CHECK(d.utf8 == "Caf\uFFFD ¤@"); // GSM 0x24 is the currency sign
    CHECK(d.had_invalid);
  }

  TEST_CASE("IA5 and Latin-1 data codings") {
    auto d = decode(0x01, bytes_of("LAPORYAI {jalan} [rusak] @ $"));
    CHECK(d.utf8 == "LAPORYAI {jalan} [rusak] @ $");
    CHECK_FALSE(d.had_invalid);
    d = decode(0x01, {'a', 0xA0});
    CHECK(d.utf8 == "a\uFFFD");
    CHECK(d.had_invalid);

    d = decode(0x03, {'S', 'e', 'l', 'a', 'm', 'a', 't', ' ', 0xE0, 0xF1, 0xFF, 0xA0, 0x80});
    CHECK(d.utf8 == "Selamat àñÿ\u00A0\u0080");
    CHECK_FALSE(d.had_invalid);
    std::vector<std::uint8_t> all(256);
    for (unsigned b = 0; b < 256; ++b) {
      all[b] = static_cast<std::uint8_t>(b);
    }
    d = decode(0x03, all);
    CHECK_FALSE(d.had_invalid);
    std::size_t index = 0;
    for (std::size_t pos = 0; pos < d.utf8.size(); ++index) {
      const Utf8Step step = next_code_point(d.utf8, pos);
      REQUIRE(step.valid);
      CHECK(step.code_point == index);
      pos += step.length;
    }
    CHECK(index == 256);
  }

  TEST_CASE("UCS-2 reads UTF-16BE including surrogate pairs") {
    auto d = decode(0x08, {0x00, 'J', 0x00, 'a', 0x00, 'l', 0x00, 'a', 0x00, 'n', 0x4E, 0x2D, 0xD8,
                           0x3D, 0xDE, 0x00, 0x20, 0xAC});
    CHECK(d.utf8 == "Jalan中😀€");
    CHECK_FALSE(d.had_invalid);
    CHECK_FALSE(d.binary);
  }

  TEST_CASE("UCS-2 with lone surrogates or an odd length becomes U+FFFD") {
    // A high surrogate at the end.
    auto d = decode(0x08, {0x00, 'a', 0xD8, 0x3D});
    CHECK(d.utf8 == "a\uFFFD");
    CHECK(d.had_invalid);
    // A high surrogate followed by an ordinary character keeps the character.
    d = decode(0x08, {0xD8, 0x3D, 0x00, 'b'});
    CHECK(d.utf8 == "\uFFFDb");
    CHECK(d.had_invalid);
    // A low surrogate alone, and a pair in the wrong order.
    d = decode(0x08, {0xDE, 0x00, 0x00, 'c'});
    CHECK(d.utf8 == "\uFFFDc");
    d = decode(0x08, {0xDE, 0x00, 0xD8, 0x3D});
    CHECK(d.utf8 == "\uFFFD\uFFFD");
    // Two high surrogates, then a low: the second pairs up.
    d = decode(0x08, {0xD8, 0x3D, 0xD8, 0x3D, 0xDE, 0x00});
    CHECK(d.utf8 == "\uFFFD😀");
    // An odd trailing byte.
    d = decode(0x08, {0x00, 'a', 0x00});
    CHECK(d.utf8 == "a\uFFFD");
    CHECK(d.had_invalid);
    d = decode(0x08, {0x41});
    CHECK(d.utf8 == "\uFFFD");
  }

  TEST_CASE("8-bit data codings are binary") {
    for (const std::uint8_t dc :
         {0x02, 0x04, 0x14, 0x15, 0x24, 0x34, 0x44, 0xF4, 0xF5, 0xF6, 0xF7}) {
      CAPTURE(dc);
      const auto d = decode(dc, {'h', 'i', 0xFF});
      CHECK(d.binary);
      CHECK(d.utf8.empty());
      CHECK_FALSE(d.had_invalid);
    }
  }

  TEST_CASE("the message class group honours bit 2 and ignores the class bits") {
    for (const std::uint8_t dc : {0xF0, 0xF1, 0xF2, 0xF3}) {
      CAPTURE(dc);
      // GSM whatever the configured default: the coding says so explicitly.
      const auto d = decode(dc, {'a', 0x1B, 0x65, 0x00}, DefaultCoding::latin1);
      CHECK(d.utf8 == "a€@");
      CHECK_FALSE(d.binary);
    }
  }

  TEST_CASE("GSM DCS general and message waiting groups") {
    CHECK(decode(0x10, {'a', 0x00}).utf8 == "a@"); // class 0 (flash), GSM
    CHECK(decode(0x11, {'a', 0x00}).utf8 == "a@"); // class 1, GSM
    CHECK(decode(0x18, {0x00, 'a'}).utf8 == "a");  // class 0, UCS-2
    CHECK(decode(0x48, {0x20, 0xAC}).utf8 == "€"); // auto-deletion, UCS-2
    CHECK(decode(0xC0, {'a', 0x00}).utf8 == "a@"); // message waiting, discard
    CHECK(decode(0xD8, {'a', 0x00}).utf8 == "a@"); // message waiting, store
    CHECK(decode(0xE0, {0x00, 'a'}).utf8 == "a");  // message waiting, UCS-2
  }

  TEST_CASE("codings we cannot read are read as ASCII and flagged") {
    for (const std::uint8_t dc :
         {0x05, 0x06, 0x07, 0x09, 0x0A, 0x0D, 0x0E, 0x0C, 0x1C, 0x80, 0xBF}) {
      CAPTURE(dc);
      const auto d = decode(dc, {'o', 'k', 0xC8});
      CHECK(d.utf8 == "ok\uFFFD");
      CHECK(d.had_invalid);
      CHECK_FALSE(d.binary);
    }
  }

  TEST_CASE("every data coding gives well-formed UTF-8 from arbitrary bytes") {
    std::vector<std::uint8_t> noise;
    std::uint32_t x = 12345;
    for (int k = 0; k < 301; ++k) {
      x = x * 1103515245 + 12345;
      noise.push_back(static_cast<std::uint8_t>(x >> 16));
    }
    for (unsigned dc = 0; dc < 256; ++dc) {
      for (const auto def : {DefaultCoding::gsm7, DefaultCoding::latin1, DefaultCoding::ascii}) {
        const auto d = decode(static_cast<std::uint8_t>(dc), noise, def);
        CAPTURE(dc);
        CHECK(is_well_formed_utf8(d.utf8));
        CHECK((d.binary ? d.utf8.empty() : !d.utf8.empty()));
      }
    }
    CHECK(decode(0x00, {}).utf8.empty());
    CHECK(decode(0x08, {}).utf8.empty());
  }

  TEST_CASE("unpack_septets reads the classic packed example") {
    // "hellohello" packed, from TS 23.038's usual worked example.
    const std::vector<std::uint8_t> packed{0xE8, 0x32, 0x9B, 0xFD, 0x46, 0x97, 0xD9, 0xEC, 0x37};
    const auto septets = unpack_septets(packed, 10);
    CHECK(std::string(septets.begin(), septets.end()) == "hellohello");
    CHECK(decode(0x00, septets).utf8 == "hellohello");
  }

  TEST_CASE("unpack_septets honours fill bits") {
    const std::string text = "LAPORYAI jalan {rusak}";
    const std::vector<std::uint8_t> septets(text.begin(), text.end());
    for (unsigned fill = 0; fill < 7; ++fill) {
      CAPTURE(fill);
      CHECK(unpack_septets(pack(septets, fill), septets.size(), fill) == septets);
    }
  }

  TEST_CASE("unpack_septets never reads past the input") {
    const std::vector<std::uint8_t> packed{0xE8, 0x32, 0x9B}; // 24 bits: 3 whole septets
    CHECK(unpack_septets(packed, 100).size() == 3);
    CHECK(unpack_septets(packed, 100, 3).size() == 3);
    CHECK(unpack_septets(packed, 100, 4).size() == 2);
    CHECK(unpack_septets(packed, 2).size() == 2);
    CHECK(unpack_septets(packed, 100, 24).empty());
    CHECK(unpack_septets(packed, 100, 1000).empty());
    CHECK(unpack_septets({}, 5).empty());
  }

  TEST_CASE("gsm7_length counts septets and refuses what GSM cannot carry") {
    CHECK(gsm7_length("") == std::optional<std::size_t>(0));
    CHECK(gsm7_length("Laporan MTR4K7Q diterima.") == std::optional<std::size_t>(25));
    CHECK(gsm7_length("{}") == std::optional<std::size_t>(4));
    CHECK(gsm7_length("€5") == std::optional<std::size_t>(3));
    CHECK(gsm7_length("[~]\\|^\f") == std::optional<std::size_t>(14));
    CHECK(gsm7_length("èéÇΔ£¥") == std::optional<std::size_t>(6));
    CHECK(gsm7_length("@$_\n\r") == std::optional<std::size_t>(5));
    CHECK_FALSE(gsm7_length("😀"));
    CHECK_FALSE(gsm7_length("中"));
    CHECK_FALSE(gsm7_length("`"));
    CHECK_FALSE(gsm7_length("a\tb"));
    CHECK_FALSE(gsm7_length("ç")); // only the capital is in the table
    CHECK_FALSE(gsm7_length("\x1B"));
    CHECK_FALSE(gsm7_length("\xC3"));     // truncated
    CHECK_FALSE(gsm7_length("\xC0\xA0")); // overlong space
  }

  TEST_CASE("next_code_point is strict and consumes maximal ill-formed subparts") {
    auto step = next_code_point("\xF0\x9F\x98\x80", 0);
    CHECK(step.valid);
    CHECK(step.code_point == 0x1F600);
    CHECK(step.length == 4);

    step = next_code_point("\xC0\x80", 0); // overlong NUL
    CHECK_FALSE(step.valid);
    CHECK(step.length == 1);
    step = next_code_point("\xE0\x80\x80", 0); // overlong
    CHECK_FALSE(step.valid);
    CHECK(step.length == 1);
    step = next_code_point("\xED\xA0\x80", 0); // a surrogate
    CHECK_FALSE(step.valid);
    CHECK(step.length == 1);
    step = next_code_point("\xF4\x90\x80\x80", 0); // above U+10FFFF
    CHECK_FALSE(step.valid);
    step = next_code_point("\xE2\x82", 0); // truncated euro sign
    CHECK_FALSE(step.valid);
    CHECK(step.code_point == k_replacement_char);
    CHECK(step.length == 2);
    step = next_code_point("\xE2\x82x", 0);
    CHECK(step.length == 2);
    step = next_code_point("\x80", 0);
    CHECK_FALSE(step.valid);
    CHECK(step.length == 1);
    step = next_code_point("\xFF", 0);
    CHECK_FALSE(step.valid);
  }

  TEST_CASE("append_utf8 writes every length") {
    std::string out;
    for (const char32_t cp : {U'a', U'\u00E9', U'\u20AC', U'\U0001F600', U'\U0010FFFF'}) {
      append_utf8(out, cp);
    }
    CHECK(out == "aé€😀\U0010FFFF");
  }

} // TEST_SUITE

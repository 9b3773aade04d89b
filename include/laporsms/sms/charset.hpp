// SMS text as it travels over SMPP, to and from UTF-8: GSM 03.38 (3GPP TS
// 23.038) with its extension table, IA5/ASCII, Latin-1 and UCS-2/UTF-16BE.
// Pure functions over untrusted bytes: they never throw and never read past
// the input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::sms {

// How data_coding 0 ("SMSC default alphabet") is read; config key
// `default_data_coding` of each [[smsc]] link.
enum class DefaultCoding { gsm7, latin1, ascii };

struct DecodedText {
  std::string utf8;         // always well-formed UTF-8
  bool had_invalid = false; // some input became U+FFFD, or the coding is one we cannot read
  bool binary = false;      // 8-bit data, not text: `utf8` is empty
};

// Decodes a short_message (or message_payload) under `data_coding`:
//   0            per `default_coding`; GSM 03.38 is one septet per octet, as
//                SMPP carries it, with the 0x1B extension table
//   1            IA5/ASCII          3  Latin-1          8  UCS-2, read as UTF-16BE
//   2, 4         8-bit binary: binary = true, utf8 empty
//   0x10-0x7F    GSM DCS general/auto-deletion groups: alphabet bits 3..2
//                (GSM 7-bit, 8-bit, UCS-2); compressed text counts as binary
//   0xC0-0xDF    message waiting, GSM 7-bit     0xE0-0xEF  message waiting, UCS-2
//   0xF0-0xFF    bit 2 selects 8-bit (binary) or GSM 7-bit; class bits ignored
// Other values (JIS, Cyrillic, Hebrew, reserved) are read as ASCII with
// `had_invalid` set. Bytes that are not valid in the coding become U+FFFD and
// set `had_invalid`: GSM octets above 0x7F, lone surrogates, a trailing odd
// UCS-2 byte, a trailing escape septet.
DecodedText decode_text(std::uint8_t data_coding, std::span<const std::uint8_t> bytes,
                        DefaultCoding default_coding = DefaultCoding::gsm7);

// Unpacks `septet_count` septets of packed 7-bit GSM (least significant bit
// first, as on the air interface) that start after `fill_bits` padding bits.
// Returns fewer septets when `packed` ends first.
std::vector<std::uint8_t> unpack_septets(std::span<const std::uint8_t> packed,
                                         std::size_t septet_count, unsigned fill_bits = 0);

// The number of septets `utf8` takes in GSM 03.38 (extension characters
// count two), or nullopt when some character is not in the basic or the
// extension table, or `utf8` is not well-formed.
std::optional<std::size_t> gsm7_length(std::string_view utf8);

// --- Building blocks shared by the sms part ---

inline constexpr char32_t k_replacement_char = 0xFFFD;
inline constexpr std::uint8_t k_gsm_escape = 0x1B;

// One step of strict UTF-8 decoding at `pos` (< utf8.size()): the code point
// and the bytes it took. Overlong forms, surrogates, values above U+10FFFF
// and truncated sequences give U+FFFD with `valid` false and consume the
// maximal ill-formed subpart (at least one byte), as Unicode recommends.
struct Utf8Step {
  char32_t code_point = 0;
  std::size_t length = 0;
  bool valid = false;
};
Utf8Step next_code_point(std::string_view utf8, std::size_t pos);

// Appends `code_point` (a Unicode scalar value) as UTF-8.
void append_utf8(std::string& out, char32_t code_point);

// The GSM 03.38 encoding of one code point: one septet from the basic table,
// two (0x1B, then the extension code) from the extension table, or
// `length` 0 when it has none.
struct GsmCode {
  std::uint8_t length = 0;
  std::array<std::uint8_t, 2> septets{};
};
GsmCode gsm7_encode(char32_t code_point);

} // namespace laporsms::sms

// Replies as submit_sm short_messages: the alphabet, and the split into
// concatenated parts when the text does not fit one SMS.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace laporsms::sms {

inline constexpr std::size_t k_single_gsm7_septets = 160;
inline constexpr std::size_t k_single_ucs2_units = 70;
inline constexpr std::size_t k_part_gsm7_septets = 153; // 160 less the 6-octet UDH (7 septets)
inline constexpr std::size_t k_part_ucs2_units = 67;    // 70 less the 6-octet UDH (3 units)
inline constexpr std::size_t k_max_parts = 255;         // the UDH counts parts in one octet

struct EncodedPart {
  std::uint8_t data_coding = 0; // 0 GSM 03.38, 8 UCS-2
  std::uint8_t esm_class = 0;   // 0x40 when a UDH leads
  std::vector<std::uint8_t> short_message;
  bool operator==(const EncodedPart&) const = default;
};

// Encodes `utf8` as GSM 03.38 (data_coding 0, unpacked: one septet per
// octet, the SMSC packs them) when every character fits, else as UCS-2
// (data_coding 8, UTF-16BE with surrogate pairs). Ill-formed UTF-8 becomes
// U+FFFD (which forces UCS-2). One SMS holds 160 septets or 70 UTF-16 units;
// longer text goes in parts of at most 153 septets or 67 units, each led by a
// 6-octet UDH (IEI 0x00 with `concat_reference`), never splitting an escape
// pair or a surrogate pair. Text beyond k_max_parts parts is dropped. Always
// returns at least one part (an empty text gives one empty GSM part).
std::vector<EncodedPart> encode_reply(std::string_view utf8, std::uint8_t concat_reference);

} // namespace laporsms::sms

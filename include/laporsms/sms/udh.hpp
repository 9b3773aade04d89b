// The user data header (3GPP TS 23.040 §9.2.3.24) that leads a
// short_message when esm_class has UDHI (0x40): we read the concatenation
// information elements and step over the rest.
#pragma once

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace laporsms::sms {

// esm_class bit that says a user data header leads the short_message.
inline constexpr std::uint8_t k_esm_udhi = 0x40;

// Information element identifiers we read.
inline constexpr std::uint8_t k_iei_concat_8bit = 0x00;
inline constexpr std::uint8_t k_iei_concat_16bit = 0x08;

// One part of a concatenated message: parts that share `reference` (and
// sender) belong together; `sequence` counts from 1 to `total`.
struct ConcatInfo {
  std::uint16_t reference = 0;
  std::uint8_t total = 0;
  std::uint8_t sequence = 0;
  bool operator==(const ConcatInfo&) const = default;
};

struct UserData {
  std::optional<ConcatInfo> concat;   // when the header has a concatenation IE
  std::span<const std::uint8_t> body; // what follows the header, a view into the input
  std::size_t udh_length = 0;         // octets of the header, including the UDHL octet
};

// Splits `short_message` into its header and body. Reads IEI 0x00 (8-bit
// reference) and 0x08 (16-bit reference); when one repeats, the last wins, as
// TS 23.040 says. Other IEs are skipped. Fails with a short reason when the
// input is empty, UDHL or an IE runs past the end, a concatenation IE has the
// wrong length, `total` is 0, or `sequence` is 0 or above `total`.
tl::expected<UserData, std::string> split_user_data(std::span<const std::uint8_t> short_message);

// Padding bits between a header of `udh_length` octets and the first septet
// when 7-bit GSM text is packed after it, so that the text starts on a septet
// boundary (pass to unpack_septets).
constexpr unsigned udh_fill_bits(std::size_t udh_length) {
  return static_cast<unsigned>((7 - (udh_length * 8) % 7) % 7);
}

} // namespace laporsms::sms

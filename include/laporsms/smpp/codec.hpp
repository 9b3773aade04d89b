// SMPP 3.4 bytes <-> PDU value types. The only code that calls libsmpp34.
//
// Every frame is walked with bounds checks before libsmpp34 sees it, so a hostile frame gets a
// DecodeError (and the session a status to NACK with) instead of reaching the library's fixed
// buffers. libsmpp34 keeps its error state in process globals, so these functions are called
// from the io thread only.
#pragma once

#include <laporsms/smpp/pdu.hpp>

#include <tl/expected.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace laporsms::smpp {

inline constexpr std::uint32_t k_header_length = 16;
// The longest frame we read. SMPP 3.4 lets message_payload carry 64 KiB, so a whole long report
// can arrive in one deliver_sm; a little more leaves room for the header, fields and TLVs.
inline constexpr std::uint32_t k_max_command_length = 70 * 1024;
// A longer frame is read past and answered with generic_nack, the stream still in step; past
// this, command_length is not believed and the connection is dropped.
inline constexpr std::uint32_t k_max_skipped_length = 16 * 1024 * 1024;
// The longest frame we write: our own PDUs are single SMS parts, far below this.
inline constexpr std::uint32_t k_max_encoded_length = 8192;

// At most this many TLVs travel in one submit_sm, deliver_sm or data_sm, either way. libsmpp34
// writes a trace of every field into a fixed 2048-octet global, unbounded; two dozen TLVs
// would overrun it.
inline constexpr std::size_t k_max_tlvs = 16;

// Why a frame was refused. command_status, by cause:
//   invalid_command_length         a bad command_length, or a mandatory field runs past the end
//                                  of the frame, or octets follow a body that takes no TLVs
//   invalid_message_length         a C-octet string longer than its field (NUL beyond the
//                                  limit), sm_length beyond the body or above 254
//   invalid_optional_param_stream  a malformed TLV: header or value past the end, a length that
//                                  does not fit its tag, or more than k_max_tlvs
//   invalid_command_id             a command_id we do not handle
struct DecodeError {
  // What a generic_nack (or the *_resp) should carry.
  std::uint32_t command_status = status::invalid_command_length;
  std::uint32_t command_id = 0;      // as read from the header, 0 if unknown
  std::uint32_t sequence_number = 0; // as read from the header, 0 if unknown
  // true: the byte stream can no longer be trusted (bad command_length) -> drop the connection.
  bool fatal = false;
  // frame_length only: the frame is too long to read, but its command_length is believable; skip
  // this many octets after the first four, then answer generic_nack.
  std::uint32_t skip_length = 0;
  std::string detail; // for logs; never contains message text or passwords
};

// Reads command_length from the first 4 octets of a header; checks
// k_header_length <= len <= k_max_command_length. Shorter, or longer than k_max_skipped_length:
// fatal error with invalid_command_length. Between the two caps: a non-fatal error whose
// skip_length says how many octets to read past.
tl::expected<std::uint32_t, DecodeError>
frame_length(std::span<const std::uint8_t> first_four_octets);

// command_id and sequence_number from a frame's header (its first k_header_length octets,
// at least), for a frame read past without being decoded.
struct HeaderFields {
  std::uint32_t command_id = 0;
  std::uint32_t sequence_number = 0;
};
HeaderFields header_fields(std::span<const std::uint8_t, k_header_length> header);

// Decodes one whole frame (exactly command_length octets). Unknown command_id -> error
// invalid_command_id (not fatal). Body that does not parse -> error (not fatal) with
// invalid_message_length / invalid_command_length / invalid_optional_param_stream as fits.
// TLVs of submit_sm, deliver_sm and data_sm come back in wire order; TLVs on responses are
// checked for shape and dropped (the response types carry none). A non-zero status
// submit_sm_resp yields an empty message_id (SMPP 3.4 §4.4.2: not returned on error).
tl::expected<Pdu, DecodeError> decode(std::span<const std::uint8_t> frame);

// Encodes a PDU; fails (with a reason) when a field exceeds its wire size (system_id > 15,
// password > 8, short_message > 254, addr > 20, message_id > 64 ...), a C-octet string holds a
// NUL, a TLV's length does not fit its tag, or the frame would exceed k_max_encoded_length.
// For every PDU that encodes, decode(encode(x)) == x.
tl::expected<std::vector<std::uint8_t>, std::string> encode(const Pdu& pdu);

} // namespace laporsms::smpp

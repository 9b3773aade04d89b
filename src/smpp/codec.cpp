// SMPP 3.4 codec: the one place that includes libsmpp34 (see codec.hpp).
//
// decode() first walks the frame itself (every length bounded, every C-octet string
// NUL-terminated inside its field, every TLV sized for libsmpp34's fixed buffers), then lets
// smpp34_unpack fill the C struct and converts that to our value types. encode() checks every
// field against its wire size, fills the C struct and lets smpp34_pack write the octets.
//
// Where libsmpp34 cannot do what SMPP 3.4 (or a real SMSC) needs, this file does that part
// itself, each marked "libsmpp34 limitation" below:
//   - it refuses values the spec allows or peers send: sequence_number 0, command_status
//     outside its list (vendor codes 0x400-0x4FF), TON/NPI outside its lists, interface_version
//     other than 0x34. We hand it a placeholder and write the real octet back afterwards.
//   - its pack refuses a 254-octet short_message (off by one); we insert those octets.
//   - it cannot read a response with an empty body (its C-string reader runs strlen past the
//     end) nor TLVs on responses; we give it an explicit empty string / the body without them.
//   - its unpack prepends TLVs (reverse wire order); we put them back in order.
//   - its TLV buffer holds 1024 octets, where message_payload may carry 64 KiB; octet TLVs
//     longer than that are cut out of its input and read by the walk itself.
//   - it writes a trace of every field into a 2048-octet global without bounding it, so we
//     limit the number of TLVs (k_max_tlvs).
// smpp34_errno / smpp34_strerror are process globals: the codec is only called from the io
// thread, and reads them right after a failed call.
#include <laporsms/smpp/codec.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>

// Order matters: each libsmpp34 header relies on the ones before it.
// clang-format off
extern "C" {
#include <libsmpp34/smpp34.h>
#include <libsmpp34/smpp34_structs.h>
#include <libsmpp34/smpp34_params.h>
}
// clang-format on

namespace laporsms::smpp {

namespace {

using Bytes = std::span<const std::uint8_t>;
using EncodeResult = tl::expected<std::vector<std::uint8_t>, std::string>;

constexpr std::size_t k_status_offset = 8;
constexpr std::size_t k_sequence_offset = 12;
constexpr std::uint8_t k_smpp_version = 0x34;

std::uint16_t load_be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t load_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

void store_be32(std::uint8_t* p, std::uint32_t value) {
  p[0] = static_cast<std::uint8_t>(value >> 24);
  p[1] = static_cast<std::uint8_t>(value >> 16);
  p[2] = static_cast<std::uint8_t>(value >> 8);
  p[3] = static_cast<std::uint8_t>(value);
}

std::string hex_tag(std::uint16_t tag) {
  constexpr std::string_view digits = "0123456789ABCDEF";
  std::string text = "0x0000";
  for (std::size_t i = 0; i < 4; ++i) {
    text[5 - i] = digits[(tag >> (4 * i)) & 0xF];
  }
  return text;
}

std::string number(std::size_t value) {
  return std::to_string(value);
}

// --- libsmpp34's stricter value checks (libsmpp34 limitation) ---------------------------------

constexpr std::uint32_t k_placeholder_sequence = 1;
// Non-zero, so that libsmpp34 still treats the PDU as an error response (O_C_OCTET fields).
constexpr std::uint32_t k_placeholder_status = ESME_RUNKNOWNERR;
constexpr std::uint8_t k_placeholder_ton_npi = 0;

bool lib_accepts_ton(std::uint8_t ton) {
  return ton <= TON_Abbreviated;
} // def_list/addr_ton.list

bool lib_accepts_npi(std::uint8_t npi) { // def_list/addr_npi.list
  switch (npi) {
  case NPI_Unknown:
  case NPI_ISDN_E163_E164:
  case NPI_Data_X121:
  case NPI_Telex_F69:
  case NPI_Land_Mobile_E212:
  case NPI_National:
  case NPI_Private:
  case NPI_ERMES:
  case NPI_Internet_IP:
  case NPI_WAP_Client_Id:
    return true;
  default:
    return false;
  }
}

bool lib_accepts_status(std::uint32_t command_status) {
  if (command_status == status::ok) {
    return true;
  }
  // Ask libsmpp34 itself: it refuses exactly the statuses its list has no name for.
  std::array<char, SMALL_BUFF> name{};
  str_command_status(command_status, name.data());
  return name[0] != '\0';
}

// --- libsmpp34's error state ----------------------------------------------------------------

// Its trace echoes field values (numbers, passwords), so nothing we gave it may linger there.
void forget_trace() {
  std::memset(smpp34_strerror, 0, sizeof smpp34_strerror);
}

// Call right after a failed smpp34_pack/smpp34_unpack. Keeps the failing field's name and
// libsmpp34's reason, never the value the trace prints between them.
std::string library_failure(std::string_view operation) {
  const int lib_errno = smpp34_errno;
  const std::string_view trace(smpp34_strerror, strnlen(smpp34_strerror, sizeof smpp34_strerror));
  std::string_view entry = trace;
  if (const auto open = trace.rfind('['); open != std::string_view::npos) {
    entry = trace.substr(open + 1);
  }
  std::string field;
  for (const char c : entry.substr(0, entry.find(':'))) {
    const bool name_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '(' || c == ')';
    if (!name_char || field.size() == 40) {
      break;
    }
    field.push_back(c);
  }
  constexpr std::array<std::string_view, 6> reasons = {"Value length exceed buffer length",
                                                       "Data length is invalid (truncate)",
                                                       "Data length is invalid",
                                                       "Invalid value",
                                                       "Invalid command_id",
                                                       "Error in PDU length"};
  std::string_view reason = "no reason given";
  for (const std::string_view known : reasons) {
    if (entry.find(known) != std::string_view::npos) {
      reason = known;
      break;
    }
  }
  forget_trace();
  std::string text = "libsmpp34 ";
  text.append(operation).append(" failed at '").append(field).append("': ").append(reason);
  text.append(" (smpp34_errno ").append(std::to_string(lib_errno)).append(")");
  return text;
}

// --- TLV shapes, as libsmpp34 reads and writes them ------------------------------------------

// libsmpp34 moves some tags as integers (it reads/writes exactly 1, 2 or 4 value octets whatever
// the length field says, so any other length would desynchronise it) and the rest as octets
// into a fixed buffer. These tables mirror def_frame/{submit_sm,deliver_sm,data_sm}.tlv.
enum class TlvShape : std::uint8_t { u8, u16, u32, octets };

struct TlvKind {
  TlvShape shape = TlvShape::octets;
  std::uint16_t max_length = MAX_TLV_SIZE; // integers: the exact length

  bool fits(std::uint16_t length) const {
    return shape == TlvShape::octets ? length <= max_length : length == max_length;
  }
};

enum class TlvTable : std::uint8_t { submit_sm, deliver_sm, data_sm };

constexpr TlvKind k_u8{TlvShape::u8, 1};
constexpr TlvKind k_u16{TlvShape::u16, 2};
constexpr TlvKind k_u32{TlvShape::u32, 4};
constexpr TlvKind octets(std::uint16_t max) {
  return TlvKind{TlvShape::octets, max};
}

TlvKind submit_sm_tlv_kind(std::uint16_t tag) {
  switch (tag) {
  case TLVID_user_message_reference:
  case TLVID_source_port:
  case TLVID_destination_port:
  case TLVID_sar_msg_ref_num:
  case TLVID_sms_signal:
  case TLVID_its_session_info:
    return k_u16;
  case TLVID_source_addr_subunit:
  case TLVID_dest_addr_subunit:
  case TLVID_sar_total_segments:
  case TLVID_sar_segment_seqnum:
  case TLVID_more_messages_to_send:
  case TLVID_payload_type:
  case TLVID_privacy_indicator:
  case TLVID_callback_num_pres_ind:
  case TLVID_user_response_code:
  case TLVID_display_time:
  case TLVID_ms_validity:
  case TLVID_ms_msg_wait_facilities:
  case TLVID_number_of_messages:
  case TLVID_language_indicator:
  case TLVID_its_reply_type:
    return k_u8;
  case TLVID_callback_num:
    return octets(19);
  case TLVID_callback_num_atag:
    return octets(65);
  case TLVID_source_subaddress:
  case TLVID_dest_subaddress:
    return octets(23);
  case TLVID_alert_on_message_delivery:
    return octets(0);
  case TLVID_ussd_service_op:
    return octets(1);
  default:
    return octets(MAX_TLV_SIZE); // message_payload and everything unknown
  }
}

TlvKind deliver_sm_tlv_kind(std::uint16_t tag) {
  switch (tag) {
  case TLVID_user_message_reference:
  case TLVID_source_port:
  case TLVID_destination_port:
  case TLVID_sar_msg_ref_num:
  case TLVID_its_session_info:
    return k_u16;
  case TLVID_sar_total_segments:
  case TLVID_sar_segment_seqnum:
  case TLVID_user_response_code:
  case TLVID_privacy_indicator:
  case TLVID_payload_type:
  case TLVID_language_indicator:
  case TLVID_message_state:
  case TLVID_set_dpf:
  case TLVID_source_network_type:
    return k_u8;
  case TLVID_callback_num:
    return octets(19);
  case TLVID_source_subaddress:
  case TLVID_dest_subaddress:
    return octets(23);
  case TLVID_network_error_code:
    return octets(3);
  case TLVID_receipted_message_id:
    return octets(65);
  default:
    return octets(MAX_TLV_SIZE);
  }
}

TlvKind data_sm_tlv_kind(std::uint16_t tag) {
  switch (tag) {
  case TLVID_source_port:
  case TLVID_destination_port:
  case TLVID_dest_telematics_id:
  case TLVID_sar_msg_ref_num:
  case TLVID_user_message_reference:
  case TLVID_sms_signal:
  case TLVID_its_session_info:
    return k_u16;
  case TLVID_source_addr_subunit:
  case TLVID_source_network_type:
  case TLVID_source_bearer_type:
  case TLVID_source_telematics_id:
  case TLVID_dest_addr_subunit:
  case TLVID_dest_network_type:
  case TLVID_dest_bearer_type:
  case TLVID_sar_total_segments:
  case TLVID_sar_segment_seqnum:
  case TLVID_more_messages_to_send:
  case TLVID_payload_type:
  case TLVID_set_dpf:
  case TLVID_message_state:
  case TLVID_privacy_indicator:
  case TLVID_callback_num_pres_ind:
  case TLVID_user_response_code:
  case TLVID_display_time:
  case TLVID_ms_validity:
  case TLVID_ms_msg_wait_facilities:
  case TLVID_number_of_messages:
  case TLVID_language_indicator:
  case TLVID_its_reply_type:
    return k_u8;
  case TLVID_qos_time_to_live:
    return k_u32;
  case TLVID_receipted_message_id:
  case TLVID_callback_num_atag:
    return octets(65);
  case TLVID_network_error_code:
    return octets(3);
  case TLVID_callback_num:
    return octets(19);
  case TLVID_source_subaddress:
  case TLVID_dest_subaddress:
    return octets(23);
  case TLVID_alert_on_message_delivery:
    return octets(0);
  default:
    return octets(MAX_TLV_SIZE);
  }
}

TlvKind tlv_kind(TlvTable table, std::uint16_t tag) {
  switch (table) {
  case TlvTable::submit_sm:
    return submit_sm_tlv_kind(tag);
  case TlvTable::deliver_sm:
    return deliver_sm_tlv_kind(tag);
  case TlvTable::data_sm:
    break;
  }
  return data_sm_tlv_kind(tag);
}

// --- the walk: bounds-checks a frame before libsmpp34 sees it --------------------------------

struct Header {
  std::uint32_t command_length = 0;
  std::uint32_t command_id = 0;
  std::uint32_t command_status = 0;
  std::uint32_t sequence_number = 0;
};

// A TLV whose value is longer than libsmpp34's buffer (message_payload up to 64 KiB): where it
// stands among all the frame's TLVs, and where its header starts in the frame.
struct LongTlv {
  std::size_t index = 0;
  std::size_t offset = 0;
  std::uint16_t tag = 0;
  std::uint16_t length = 0;
};

// An octet the walk read, and where (offset 0 = not present; the header owns octets 0-15).
struct OctetAt {
  std::size_t offset = 0;
  std::uint8_t value = 0;
};

class Walker {
public:
  Walker(Bytes frame, const Header& header) : m_frame(frame), m_header(header) {}

  std::size_t remaining() const { return m_frame.size() - m_pos; }
  std::size_t position() const { return m_pos; }
  std::size_t tlv_count() const { return m_tlv_count; }
  // Octet TLVs too long for libsmpp34's buffer, in wire order (see LongTlv).
  const std::vector<LongTlv>& long_tlvs() const { return m_long_tlvs; }

  // A C-octet string of at most `capacity` octets including its NUL.
  bool c_string(std::size_t capacity, const char* field) {
    const std::size_t window = std::min(capacity, remaining());
    const void* nul = std::memchr(m_frame.data() + m_pos, 0, window);
    if (nul == nullptr) {
      if (window < capacity) {
        return fail(status::invalid_command_length,
                    std::string(field) + " runs past the end of the frame");
      }
      return fail(status::invalid_message_length,
                  std::string(field) + " longer than " + number(capacity - 1) + " octets");
    }
    m_pos +=
        static_cast<std::size_t>(static_cast<const std::uint8_t*>(nul) - (m_frame.data() + m_pos)) +
        1;
    return true;
  }

  bool octet(OctetAt& out, const char* field) {
    if (remaining() < 1) {
      return fail(status::invalid_command_length,
                  std::string(field) + " runs past the end of the frame");
    }
    out = OctetAt{m_pos, m_frame[m_pos]};
    ++m_pos;
    return true;
  }

  bool skip(std::size_t count, const char* fields) {
    if (remaining() < count) {
      return fail(status::invalid_command_length,
                  std::string(fields) + " run past the end of the frame");
    }
    m_pos += count;
    return true;
  }

  // sm_length and short_message.
  bool short_message() {
    OctetAt sm_length;
    if (!octet(sm_length, "sm_length")) {
      return false;
    }
    if (sm_length.value > SHORT_MESSAGE_LENGTH - 1) {
      return fail(status::invalid_message_length, "sm_length 255 above 254");
    }
    if (sm_length.value > remaining()) {
      return fail(status::invalid_message_length, "sm_length " + number(sm_length.value) +
                                                      " beyond the " + number(remaining()) +
                                                      " octets left in the body");
    }
    m_pos += sm_length.value;
    return true;
  }

  // The optional parameters up to the end of the frame. With a table, they go to libsmpp34 and
  // must fit its buffers; without, only their shape is checked (the codec drops them).
  bool tlvs(const TlvTable* table) {
    while (m_pos < m_frame.size()) {
      const std::size_t left = remaining();
      if (left < 4) {
        return fail(status::invalid_optional_param_stream,
                    number(left) + " stray octets where a TLV header should be");
      }
      const std::uint16_t tag = load_be16(m_frame.data() + m_pos);
      const std::uint16_t length = load_be16(m_frame.data() + m_pos + 2);
      if (length > left - 4) {
        return fail(status::invalid_optional_param_stream, "TLV " + hex_tag(tag) + " length " +
                                                               number(length) +
                                                               " runs past the end of the frame");
      }
      if (table != nullptr) {
        if (m_tlv_count + m_long_tlvs.size() + 1 > k_max_tlvs) {
          return fail(status::invalid_optional_param_stream,
                      "more than " + number(k_max_tlvs) + " TLVs");
        }
        const TlvKind kind = tlv_kind(*table, tag);
        if (kind.shape == TlvShape::octets && kind.max_length == MAX_TLV_SIZE &&
            length > MAX_TLV_SIZE) {
          m_long_tlvs.push_back(LongTlv{m_tlv_count + m_long_tlvs.size(), m_pos, tag, length});
          m_pos += 4 + std::size_t{length};
          continue;
        }
        ++m_tlv_count;
        if (!kind.fits(length)) {
          return fail(status::invalid_optional_param_stream, "TLV " + hex_tag(tag) + " length " +
                                                                 number(length) +
                                                                 " does not fit its tag");
        }
      }
      m_pos += 4 + std::size_t{length};
    }
    return true;
  }

  bool at_end(const char* what) {
    if (m_pos != m_frame.size()) {
      return fail(status::invalid_command_length,
                  number(remaining()) + " octets after the end of " + what);
    }
    return true;
  }

  DecodeError error() const { return m_error; }

private:
  bool fail(std::uint32_t command_status, std::string detail) {
    m_error.command_status = command_status;
    m_error.command_id = m_header.command_id;
    m_error.sequence_number = m_header.sequence_number;
    m_error.fatal = false;
    m_error.detail = command_name(m_header.command_id) + ": " + std::move(detail);
    return false;
  }

  Bytes m_frame;
  Header m_header;
  std::size_t m_pos = k_header_length;
  std::size_t m_tlv_count = 0; // the TLVs libsmpp34 reads
  std::vector<LongTlv> m_long_tlvs;
  DecodeError m_error;
};

// --- what smpp34_unpack gets ------------------------------------------------------------------

// The frame itself, or a patched copy when libsmpp34 needs placeholders, a shorter body or an
// explicit empty C-octet string. The copy is only made when something changes.
class LibInput {
public:
  explicit LibInput(Bytes frame) : m_data(frame.data()), m_size(frame.size()) {}
  LibInput(const LibInput&) = delete;
  LibInput& operator=(const LibInput&) = delete;

  const std::uint8_t* data() const { return m_data; }
  int size() const { return static_cast<int>(m_size); }

  void set_octet(std::size_t offset, std::uint8_t value) {
    copy_once();
    m_copy[offset] = value;
  }

  void set_u32(std::size_t offset, std::uint32_t value) {
    copy_once();
    store_be32(m_copy.data() + offset, value);
  }

  // Drops the octets from `size` on (TLVs libsmpp34 has no place for).
  void truncate(std::size_t size) {
    if (size == m_size) {
      return;
    }
    copy_once();
    m_size = size;
    store_be32(m_copy.data(), static_cast<std::uint32_t>(m_size));
  }

  // Removes `count` octets at `offset` (a TLV libsmpp34 has no room for).
  void cut(std::size_t offset, std::size_t count) {
    copy_once();
    std::memmove(m_copy.data() + offset, m_copy.data() + offset + count, m_size - offset - count);
    m_size -= count;
    store_be32(m_copy.data(), static_cast<std::uint32_t>(m_size));
  }

  // An empty C-octet string where the peer sent no body at all.
  void append_nul() {
    copy_once();
    m_copy[m_size] = 0;
    ++m_size;
    store_be32(m_copy.data(), static_cast<std::uint32_t>(m_size));
  }

  // The libsmpp34 limitation patches every PDU needs.
  void patch_header(const Header& header) {
    if (header.sequence_number == 0) {
      set_u32(k_sequence_offset, k_placeholder_sequence);
    }
    if (!lib_accepts_status(header.command_status)) {
      set_u32(k_status_offset, k_placeholder_status);
    }
  }

  void patch_address(const OctetAt& ton, const OctetAt& npi) {
    if (!lib_accepts_ton(ton.value)) {
      set_octet(ton.offset, k_placeholder_ton_npi);
    }
    if (!lib_accepts_npi(npi.value)) {
      set_octet(npi.offset, k_placeholder_ton_npi);
    }
  }

private:
  void copy_once() {
    if (!m_copied) {
      m_copy.assign(m_data, m_data + m_size);
      m_copy.push_back(0); // room for append_nul
      m_data = m_copy.data();
      m_copied = true;
    }
  }

  const std::uint8_t* m_data;
  std::size_t m_size;
  bool m_copied = false;
  std::vector<std::uint8_t> m_copy;
};

// Owns the TLV list smpp34_unpack hangs off a PDU struct (one malloc per TLV), also when the
// unpack fails half way.
class TlvListGuard {
public:
  explicit TlvListGuard(tlv_t*& head) : m_head(head) {}
  ~TlvListGuard() {
    destroy_tlv(m_head);
    m_head = nullptr;
  }
  TlvListGuard(const TlvListGuard&) = delete;
  TlvListGuard& operator=(const TlvListGuard&) = delete;

private:
  tlv_t*& m_head;
};

DecodeError header_error(const Header& header, std::uint32_t command_status, std::string detail) {
  DecodeError error;
  error.command_status = command_status;
  error.command_id = header.command_id;
  error.sequence_number = header.sequence_number;
  error.detail = std::move(detail);
  return error;
}

template <typename CStruct>
tl::expected<void, DecodeError> unpack(CStruct& out, const Header& header, const LibInput& in) {
  const int rc = smpp34_unpack(header.command_id, &out, in.data(), in.size());
  if (rc != 0) {
    // The walk should have refused anything libsmpp34 refuses; answer as for a body we
    // could not read.
    return tl::unexpected(
        header_error(header, status::invalid_command_length,
                     command_name(header.command_id) + ": " + library_failure("unpack")));
  }
  forget_trace();
  return {};
}

// --- C struct -> value types ------------------------------------------------------------------

template <std::size_t N> std::string text_of(const std::uint8_t (&field)[N]) {
  const char* chars = reinterpret_cast<const char*>(field);
  return std::string(chars, strnlen(chars, N));
}

tl::expected<std::vector<Tlv>, DecodeError> tlvs_from(const tlv_t* head, TlvTable table,
                                                      std::size_t count, const Header& header) {
  std::vector<Tlv> out(count);
  std::size_t index = count;
  // libsmpp34 limitation: it prepends every TLV it reads, so the list runs backwards.
  for (const tlv_t* node = head; node != nullptr; node = node->next) {
    if (index == 0) {
      index = count + 1; // more nodes than the walk counted
      break;
    }
    Tlv& tlv = out[--index];
    tlv.tag = node->tag;
    switch (tlv_kind(table, node->tag).shape) {
    case TlvShape::u8:
      tlv.value = {node->value.val08};
      break;
    case TlvShape::u16:
      tlv.value = {static_cast<std::uint8_t>(node->value.val16 >> 8),
                   static_cast<std::uint8_t>(node->value.val16)};
      break;
    case TlvShape::u32:
      tlv.value.resize(4);
      store_be32(tlv.value.data(), node->value.val32);
      break;
    case TlvShape::octets: {
      const std::size_t length = std::min<std::size_t>(node->length, sizeof node->value.octet);
      tlv.value.assign(node->value.octet, node->value.octet + length);
      break;
    }
    }
  }
  if (index != 0) {
    return tl::unexpected(header_error(header, status::invalid_optional_param_stream,
                                       command_name(header.command_id) +
                                           ": libsmpp34 returned a different number of TLVs (" +
                                           number(count) + " expected)"));
  }
  return out;
}

// --- decoders, one per body layout -------------------------------------------------------------

using DecodeResult = tl::expected<Pdu, DecodeError>;

template <typename CStruct>
DecodeResult decode_header_only(Bytes frame, const Header& header, Pdu result) {
  Walker walk(frame, header);
  if (!walk.at_end("the header")) {
    return tl::unexpected(walk.error());
  }
  LibInput in(frame);
  in.patch_header(header);
  CStruct c{};
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  return result;
}

template <typename CStruct> DecodeResult decode_bind_request(Bytes frame, const Header& header) {
  Walker walk(frame, header);
  OctetAt version;
  OctetAt ton;
  OctetAt npi;
  if (!(walk.c_string(16, "system_id") && walk.c_string(9, "password") &&
        walk.c_string(13, "system_type") && walk.octet(version, "interface_version") &&
        walk.octet(ton, "addr_ton") && walk.octet(npi, "addr_npi") &&
        walk.c_string(41, "address_range") && walk.at_end("address_range"))) {
    return tl::unexpected(walk.error());
  }
  LibInput in(frame);
  in.patch_header(header);
  in.patch_address(ton, npi);
  if (version.value != k_smpp_version) {
    in.set_octet(version.offset, k_smpp_version); // libsmpp34 limitation
  }
  CStruct c{};
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  BindRequest bind;
  bind.sequence_number = header.sequence_number;
  bind.mode = header.command_id == command_id::bind_transmitter ? BindMode::transmitter
              : header.command_id == command_id::bind_receiver  ? BindMode::receiver
                                                                : BindMode::transceiver;
  bind.system_id = text_of(c.system_id);
  bind.password = text_of(c.password);
  bind.system_type = text_of(c.system_type);
  bind.interface_version = version.value;
  bind.addr_ton = ton.value;
  bind.addr_npi = npi.value;
  bind.address_range = text_of(c.address_range);
  return bind;
}

template <typename CStruct> DecodeResult decode_bind_response(Bytes frame, const Header& header) {
  Walker walk(frame, header);
  LibInput in(frame);
  if (walk.remaining() == 0) {
    if (header.command_status == status::ok) {
      return tl::unexpected(
          header_error(header, status::invalid_command_length,
                       command_name(header.command_id) + ": status 0 without system_id"));
    }
    in.append_nul(); // libsmpp34 limitation: it would read system_id past the end
  } else {
    if (!walk.c_string(16, "system_id")) {
      return tl::unexpected(walk.error());
    }
    const std::size_t body_end = walk.position();
    if (!walk.tlvs(nullptr)) {
      return tl::unexpected(walk.error());
    }
    in.truncate(body_end); // BindResponse keeps no TLVs (sc_interface_version)
  }
  in.patch_header(header);
  CStruct c{};
  TlvListGuard guard(c.tlv);
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  BindResponse bind;
  bind.sequence_number = header.sequence_number;
  bind.command_status = header.command_status;
  bind.mode = header.command_id == command_id::bind_transmitter_resp ? BindMode::transmitter
              : header.command_id == command_id::bind_receiver_resp  ? BindMode::receiver
                                                                     : BindMode::transceiver;
  bind.system_id = text_of(c.system_id);
  return bind;
}

DecodeResult decode_outbind(Bytes frame, const Header& header) {
  Walker walk(frame, header);
  if (!(walk.c_string(16, "system_id") && walk.c_string(9, "password") &&
        walk.at_end("password"))) {
    return tl::unexpected(walk.error());
  }
  LibInput in(frame);
  in.patch_header(header);
  outbind_t c{};
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  Outbind outbind;
  outbind.sequence_number = header.sequence_number;
  outbind.system_id = text_of(c.system_id);
  outbind.password = text_of(c.password);
  return outbind;
}

// Runs libsmpp34's unpack over a message body that `walk` has checked, with
// the header and the address octets it refuses patched, and returns the TLVs
// in wire order; libsmpp34's own TLV list is freed before returning.
template <typename CStruct>
tl::expected<std::vector<Tlv>, DecodeError>
unpack_message(CStruct& c, Bytes frame, const Header& header, const Walker& walk, TlvTable table,
               const OctetAt& source_ton, const OctetAt& source_npi, const OctetAt& dest_ton,
               const OctetAt& dest_npi) {
  LibInput in(frame);
  in.patch_header(header);
  in.patch_address(source_ton, source_npi);
  in.patch_address(dest_ton, dest_npi);
  const std::vector<LongTlv>& long_tlvs = walk.long_tlvs();
  for (auto it = long_tlvs.rbegin(); it != long_tlvs.rend(); ++it) {
    in.cut(it->offset, 4 + std::size_t{it->length}); // back to front: offsets stay valid
  }
  TlvListGuard guard(c.tlv);
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  auto tlvs = tlvs_from(c.tlv, table, walk.tlv_count(), header);
  if (tlvs) {
    for (const LongTlv& held : long_tlvs) { // ascending index: each lands where it stood
      const std::uint8_t* value = frame.data() + held.offset + 4;
      tlvs->insert(tlvs->begin() + static_cast<std::ptrdiff_t>(held.index),
                   Tlv{held.tag, std::vector<std::uint8_t>(value, value + held.length)});
    }
  }
  return tlvs;
}

// submit_sm and deliver_sm; deliver_sm's schedule_delivery_time and validity_period must be
// empty (SMPP 3.4 §4.6.1, and libsmpp34 holds nothing else there).
template <typename CStruct, typename Value>
DecodeResult decode_short_message(Bytes frame, const Header& header, TlvTable table) {
  constexpr std::size_t time_capacity = sizeof(CStruct{}.schedule_delivery_time);
  Walker walk(frame, header);
  OctetAt source_ton;
  OctetAt source_npi;
  OctetAt dest_ton;
  OctetAt dest_npi;
  if (!(walk.c_string(SERVICE_TYPE_LENGTH, "service_type") &&
        walk.octet(source_ton, "source_addr_ton") && walk.octet(source_npi, "source_addr_npi") &&
        walk.c_string(ADDRESS_LENGTH, "source_addr") && walk.octet(dest_ton, "dest_addr_ton") &&
        walk.octet(dest_npi, "dest_addr_npi") &&
        walk.c_string(ADDRESS_LENGTH, "destination_addr") &&
        walk.skip(3, "esm_class, protocol_id, priority_flag") &&
        walk.c_string(time_capacity, "schedule_delivery_time") &&
        walk.c_string(time_capacity, "validity_period") &&
        walk.skip(4, "registered_delivery, replace_if_present_flag, data_coding, "
                     "sm_default_msg_id") &&
        walk.short_message() && walk.tlvs(&table))) {
    return tl::unexpected(walk.error());
  }
  CStruct c{};
  auto tlvs =
      unpack_message(c, frame, header, walk, table, source_ton, source_npi, dest_ton, dest_npi);
  if (!tlvs) {
    return tl::unexpected(tlvs.error());
  }
  Value sm;
  sm.sequence_number = header.sequence_number;
  sm.service_type = text_of(c.service_type);
  sm.source = Address{source_ton.value, source_npi.value, text_of(c.source_addr)};
  sm.destination = Address{dest_ton.value, dest_npi.value, text_of(c.destination_addr)};
  sm.esm_class = c.esm_class;
  sm.protocol_id = c.protocol_id;
  sm.priority_flag = c.priority_flag;
  sm.schedule_delivery_time = text_of(c.schedule_delivery_time);
  sm.validity_period = text_of(c.validity_period);
  sm.registered_delivery = c.registered_delivery;
  sm.replace_if_present_flag = c.replace_if_present_flag;
  sm.data_coding = c.data_coding;
  sm.sm_default_msg_id = c.sm_default_msg_id;
  sm.short_message.assign(c.short_message, c.short_message + c.sm_length);
  sm.tlvs = std::move(*tlvs);
  return sm;
}

DecodeResult decode_data_sm(Bytes frame, const Header& header) {
  constexpr TlvTable table = TlvTable::data_sm;
  Walker walk(frame, header);
  OctetAt source_ton;
  OctetAt source_npi;
  OctetAt dest_ton;
  OctetAt dest_npi;
  // libsmpp34 limitation: source_addr holds 20 characters (SMPP 3.4 allows 64 in data_sm).
  if (!(walk.c_string(SERVICE_TYPE_LENGTH, "service_type") &&
        walk.octet(source_ton, "source_addr_ton") && walk.octet(source_npi, "source_addr_npi") &&
        walk.c_string(sizeof(data_sm_t{}.source_addr), "source_addr") &&
        walk.octet(dest_ton, "dest_addr_ton") && walk.octet(dest_npi, "dest_addr_npi") &&
        walk.c_string(sizeof(data_sm_t{}.destination_addr), "destination_addr") &&
        walk.skip(3, "esm_class, registered_delivery, data_coding") && walk.tlvs(&table))) {
    return tl::unexpected(walk.error());
  }
  data_sm_t c{};
  auto tlvs =
      unpack_message(c, frame, header, walk, table, source_ton, source_npi, dest_ton, dest_npi);
  if (!tlvs) {
    return tl::unexpected(tlvs.error());
  }
  DataSm data;
  data.sequence_number = header.sequence_number;
  data.service_type = text_of(c.service_type);
  data.source = Address{source_ton.value, source_npi.value, text_of(c.source_addr)};
  data.destination = Address{dest_ton.value, dest_npi.value, text_of(c.destination_addr)};
  data.esm_class = c.esm_class;
  data.registered_delivery = c.registered_delivery;
  data.data_coding = c.data_coding;
  data.tlvs = std::move(*tlvs);
  return data;
}

// submit_sm_resp and data_sm_resp: a message_id, then TLVs we check and drop. Non-zero status:
// the body may be empty.
template <typename CStruct, typename Value>
DecodeResult decode_message_id_response(Bytes frame, const Header& header) {
  constexpr bool optional_id = std::is_same_v<Value, SubmitSmResp>; // O_C_OCTET in libsmpp34
  Walker walk(frame, header);
  LibInput in(frame);
  const bool error_status = header.command_status != status::ok;
  if (walk.remaining() == 0) {
    if (!error_status) {
      return tl::unexpected(
          header_error(header, status::invalid_command_length,
                       command_name(header.command_id) + ": status 0 without message_id"));
    }
    if (!optional_id) {
      in.append_nul(); // libsmpp34 limitation: it would read message_id past the end
    }
  } else {
    if (!walk.c_string(sizeof(CStruct{}.message_id), "message_id")) {
      return tl::unexpected(walk.error());
    }
    const std::size_t body_end = walk.position();
    if (!walk.tlvs(nullptr)) {
      return tl::unexpected(walk.error());
    }
    // libsmpp34 skips an optional message_id on error status, so it must not see one then.
    in.truncate(optional_id && error_status ? std::size_t{k_header_length} : body_end);
  }
  in.patch_header(header);
  CStruct c{};
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  Value response;
  response.sequence_number = header.sequence_number;
  response.command_status = header.command_status;
  response.message_id = text_of(c.message_id);
  return response;
}

DecodeResult decode_deliver_sm_resp(Bytes frame, const Header& header) {
  Walker walk(frame, header);
  // message_id is unused in deliver_sm_resp (always empty); be lenient about what peers put
  // there, and about a missing body.
  if (walk.remaining() != 0 &&
      !(walk.c_string(sizeof(submit_sm_resp_t{}.message_id), "message_id") && walk.tlvs(nullptr))) {
    return tl::unexpected(walk.error());
  }
  LibInput in(frame);
  if (frame.size() != k_header_length + 1) {
    // libsmpp34 limitation: it holds exactly one NUL there.
    in.truncate(k_header_length);
    in.append_nul();
  }
  in.patch_header(header);
  deliver_sm_resp_t c{};
  if (auto ok = unpack(c, header, in); !ok) {
    return tl::unexpected(ok.error());
  }
  return DeliverSmResp{header.sequence_number, header.command_status};
}

// --- encoders ------------------------------------------------------------------------------------

// Why a field cannot be encoded; never echoes its value.
std::optional<std::string> check_text(const std::string& value, std::size_t max,
                                      const char* field) {
  if (value.size() > max) {
    return std::string(field) + " longer than " + number(max) + " octets";
  }
  if (value.find('\0') != std::string::npos) {
    return std::string(field) + " holds a NUL octet";
  }
  return std::nullopt;
}

template <std::size_t N> void put_text(std::uint8_t (&field)[N], const std::string& value) {
  static_assert(N > 0);
  std::memcpy(field, value.data(), std::min(value.size(), N - 1));
  field[std::min(value.size(), N - 1)] = 0;
}

// What smpp34_pack should write, and the octets written over its output afterwards.
struct PackPlan {
  std::uint32_t command_id = 0;
  std::uint32_t command_status = status::ok;
  std::uint32_t sequence_number = 0;
  std::size_t length = k_header_length; // octets libsmpp34 writes
  std::array<OctetAt, 6> restore{};
  std::size_t restore_count = 0;

  // Keeps an octet libsmpp34 might refuse; returns what to give libsmpp34 instead.
  std::uint8_t keep(std::size_t offset, std::uint8_t value, bool lib_accepts,
                    std::uint8_t placeholder) {
    restore[restore_count++] = OctetAt{offset, value};
    return lib_accepts ? value : placeholder;
  }
};

template <typename CStruct> EncodeResult pack(CStruct& c, const PackPlan& plan) {
  c.command_length = 0; // libsmpp34 computes it
  c.command_id = plan.command_id;
  c.command_status =
      lib_accepts_status(plan.command_status) ? plan.command_status : k_placeholder_status;
  c.sequence_number = plan.sequence_number == 0 ? k_placeholder_sequence : plan.sequence_number;
  // libsmpp34 wants one octet more room than it writes (it checks `needed >= left`).
  std::vector<std::uint8_t> out(plan.length + 1);
  int written = 0;
  const int rc =
      smpp34_pack(plan.command_id, out.data(), static_cast<int>(out.size()), &written, &c);
  if (rc != 0) {
    return tl::unexpected(command_name(plan.command_id) + ": " + library_failure("pack"));
  }
  forget_trace();
  if (written < 0 || static_cast<std::size_t>(written) != plan.length) {
    return tl::unexpected(command_name(plan.command_id) + ": libsmpp34 wrote " +
                          number(static_cast<std::size_t>(std::max(written, 0))) +
                          " octets, expected " + number(plan.length));
  }
  out.resize(plan.length);
  store_be32(out.data() + k_status_offset, plan.command_status);
  store_be32(out.data() + k_sequence_offset, plan.sequence_number);
  for (std::size_t i = 0; i < plan.restore_count; ++i) {
    out[plan.restore[i].offset] = plan.restore[i].value;
  }
  return out;
}

EncodeResult too_long(std::uint32_t command_id, std::size_t length) {
  return tl::unexpected(command_name(command_id) + ": " + number(length) + " octets, more than " +
                        number(k_max_encoded_length));
}

// Links `tlvs` into libsmpp34's TLV chain in wire order, using `nodes` as storage.
std::optional<std::string> build_tlv_chain(const std::vector<Tlv>& tlvs, TlvTable table,
                                           std::span<tlv_t> nodes, tlv_t*& head,
                                           std::size_t& length) {
  if (tlvs.size() > nodes.size()) {
    return "more than " + number(nodes.size()) + " TLVs";
  }
  head = nullptr;
  for (std::size_t i = 0; i < tlvs.size(); ++i) {
    const Tlv& tlv = tlvs[i];
    const TlvKind kind = tlv_kind(table, tlv.tag);
    if (tlv.value.size() > kind.max_length ||
        !kind.fits(static_cast<std::uint16_t>(tlv.value.size()))) {
      return "TLV " + hex_tag(tlv.tag) + " length " + number(tlv.value.size()) +
             " does not fit its tag";
    }
    tlv_t& node = nodes[i];
    node.tag = tlv.tag;
    node.length = static_cast<std::uint16_t>(tlv.value.size());
    node.next = i + 1 < tlvs.size() ? &nodes[i + 1] : nullptr;
    const std::uint8_t* v = tlv.value.data();
    switch (kind.shape) {
    case TlvShape::u8:
      node.value.val08 = v[0];
      break;
    case TlvShape::u16:
      node.value.val16 = load_be16(v);
      break;
    case TlvShape::u32:
      node.value.val32 = load_be32(v);
      break;
    case TlvShape::octets:
      if (!tlv.value.empty()) {
        std::memcpy(node.value.octet, v, tlv.value.size());
      }
      break;
    }
    length += 4 + tlv.value.size();
  }
  if (!tlvs.empty()) {
    head = &nodes[0];
  }
  return std::nullopt;
}

EncodeResult refuse(std::uint32_t command_id, std::string reason) {
  return tl::unexpected(command_name(command_id) + ": " + std::move(reason));
}

template <typename CStruct>
EncodeResult encode_header_only(std::uint32_t command_id, std::uint32_t sequence_number,
                                std::uint32_t command_status) {
  PackPlan plan;
  plan.command_id = command_id;
  plan.command_status = command_status;
  plan.sequence_number = sequence_number;
  CStruct c{};
  return pack(c, plan);
}

template <typename CStruct>
EncodeResult encode_bind_request(const BindRequest& bind, std::uint32_t command_id) {
  for (const auto& problem :
       {check_text(bind.system_id, 15, "system_id"), check_text(bind.password, 8, "password"),
        check_text(bind.system_type, 12, "system_type"),
        check_text(bind.address_range, 40, "address_range")}) {
    if (problem) {
      return refuse(command_id, *problem);
    }
  }
  PackPlan plan;
  plan.command_id = command_id;
  plan.sequence_number = bind.sequence_number;
  const std::size_t version_at = k_header_length + bind.system_id.size() + 1 +
                                 bind.password.size() + 1 + bind.system_type.size() + 1;
  plan.length = version_at + 3 + bind.address_range.size() + 1;
  CStruct c{};
  put_text(c.system_id, bind.system_id);
  put_text(c.password, bind.password);
  put_text(c.system_type, bind.system_type);
  c.interface_version = plan.keep(version_at, bind.interface_version,
                                  bind.interface_version == k_smpp_version, k_smpp_version);
  c.addr_ton = plan.keep(version_at + 1, bind.addr_ton, lib_accepts_ton(bind.addr_ton),
                         k_placeholder_ton_npi);
  c.addr_npi = plan.keep(version_at + 2, bind.addr_npi, lib_accepts_npi(bind.addr_npi),
                         k_placeholder_ton_npi);
  put_text(c.address_range, bind.address_range);
  return pack(c, plan);
}

template <typename CStruct>
EncodeResult encode_bind_response(const BindResponse& bind, std::uint32_t command_id) {
  if (auto problem = check_text(bind.system_id, 15, "system_id")) {
    return refuse(command_id, *problem);
  }
  PackPlan plan;
  plan.command_id = command_id;
  plan.command_status = bind.command_status;
  plan.sequence_number = bind.sequence_number;
  plan.length = k_header_length + bind.system_id.size() + 1;
  CStruct c{};
  put_text(c.system_id, bind.system_id);
  return pack(c, plan);
}

// Fills the addresses of submit_sm / deliver_sm / data_sm; `at` is where source_addr_ton sits.
template <typename CStruct>
void put_addresses(CStruct& c, PackPlan& plan, std::size_t at, const Address& source,
                   const Address& destination) {
  c.source_addr_ton = plan.keep(at, source.ton, lib_accepts_ton(source.ton), k_placeholder_ton_npi);
  c.source_addr_npi =
      plan.keep(at + 1, source.npi, lib_accepts_npi(source.npi), k_placeholder_ton_npi);
  put_text(c.source_addr, source.addr);
  const std::size_t dest_at = at + 2 + source.addr.size() + 1;
  c.dest_addr_ton =
      plan.keep(dest_at, destination.ton, lib_accepts_ton(destination.ton), k_placeholder_ton_npi);
  c.dest_addr_npi = plan.keep(dest_at + 1, destination.npi, lib_accepts_npi(destination.npi),
                              k_placeholder_ton_npi);
  put_text(c.destination_addr, destination.addr);
}

template <typename CStruct>
EncodeResult encode_short_message(const ShortMessageFields& sm, std::uint32_t command_id,
                                  TlvTable table) {
  constexpr std::size_t time_max = sizeof(CStruct{}.schedule_delivery_time) - 1;
  for (const auto& problem :
       {check_text(sm.service_type, SERVICE_TYPE_LENGTH - 1, "service_type"),
        check_text(sm.source.addr, ADDRESS_LENGTH - 1, "source_addr"),
        check_text(sm.destination.addr, ADDRESS_LENGTH - 1, "destination_addr"),
        check_text(sm.schedule_delivery_time, time_max, "schedule_delivery_time"),
        check_text(sm.validity_period, time_max, "validity_period")}) {
    if (problem) {
      return refuse(command_id, *problem);
    }
  }
  constexpr std::size_t sm_max = SHORT_MESSAGE_LENGTH - 1;
  if (sm.short_message.size() > sm_max) {
    return refuse(command_id, "short_message longer than " + number(sm_max) + " octets");
  }
  PackPlan plan;
  plan.command_id = command_id;
  plan.sequence_number = sm.sequence_number;
  CStruct c{};
  const std::size_t ton_at = k_header_length + sm.service_type.size() + 1;
  put_text(c.service_type, sm.service_type);
  put_addresses(c, plan, ton_at, sm.source, sm.destination);
  c.esm_class = sm.esm_class;
  c.protocol_id = sm.protocol_id;
  c.priority_flag = sm.priority_flag;
  put_text(c.schedule_delivery_time, sm.schedule_delivery_time);
  put_text(c.validity_period, sm.validity_period);
  c.registered_delivery = sm.registered_delivery;
  c.replace_if_present_flag = sm.replace_if_present_flag;
  c.data_coding = sm.data_coding;
  c.sm_default_msg_id = sm.sm_default_msg_id;
  const std::size_t sm_length_at =
      ton_at + 2 + sm.source.addr.size() + 1 + 2 + sm.destination.addr.size() + 1 + 3 +
      sm.schedule_delivery_time.size() + 1 + sm.validity_period.size() + 1 + 4;
  // libsmpp34 limitation: its pack refuses sm_length 254 (it checks `length >= 254`), so that
  // one size is packed empty and the octets go in afterwards.
  const bool splice = sm.short_message.size() == sm_max;
  c.sm_length = static_cast<std::uint8_t>(splice ? 0 : sm.short_message.size());
  if (!splice && !sm.short_message.empty()) {
    std::memcpy(c.short_message, sm.short_message.data(), sm.short_message.size());
  }
  plan.length = sm_length_at + 1 + c.sm_length;
  std::array<tlv_t, k_max_tlvs> nodes; // filled as far as used; no need to clear 16 KiB
  if (auto problem = build_tlv_chain(sm.tlvs, table, nodes, c.tlv, plan.length)) {
    return refuse(command_id, *problem);
  }
  const std::size_t total = plan.length + (splice ? sm_max : 0);
  if (total > k_max_encoded_length) {
    return too_long(command_id, total);
  }
  auto out = pack(c, plan);
  if (out && splice) {
    std::vector<std::uint8_t>& bytes = *out;
    bytes[sm_length_at] = static_cast<std::uint8_t>(sm_max);
    bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(sm_length_at + 1),
                 sm.short_message.begin(), sm.short_message.end());
    store_be32(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
  }
  return out;
}

EncodeResult encode_data_sm(const DataSm& data) {
  constexpr std::uint32_t id = command_id::data_sm;
  constexpr std::size_t source_max = sizeof(data_sm_t{}.source_addr) - 1;
  constexpr std::size_t dest_max = sizeof(data_sm_t{}.destination_addr) - 1;
  for (const auto& problem :
       {check_text(data.service_type, SERVICE_TYPE_LENGTH - 1, "service_type"),
        check_text(data.source.addr, source_max, "source_addr"),
        check_text(data.destination.addr, dest_max, "destination_addr")}) {
    if (problem) {
      return refuse(id, *problem);
    }
  }
  PackPlan plan;
  plan.command_id = id;
  plan.sequence_number = data.sequence_number;
  data_sm_t c{};
  const std::size_t ton_at = k_header_length + data.service_type.size() + 1;
  put_text(c.service_type, data.service_type);
  put_addresses(c, plan, ton_at, data.source, data.destination);
  c.esm_class = data.esm_class;
  c.registered_delivery = data.registered_delivery;
  c.data_coding = data.data_coding;
  plan.length = ton_at + 2 + data.source.addr.size() + 1 + 2 + data.destination.addr.size() + 1 + 3;
  std::array<tlv_t, k_max_tlvs> nodes; // filled as far as used
  if (auto problem = build_tlv_chain(data.tlvs, TlvTable::data_sm, nodes, c.tlv, plan.length)) {
    return refuse(id, *problem);
  }
  if (plan.length > k_max_encoded_length) {
    return too_long(id, plan.length);
  }
  return pack(c, plan);
}

template <typename CStruct, typename Value>
EncodeResult encode_message_id_response(const Value& response, std::uint32_t command_id) {
  constexpr bool optional_id = std::is_same_v<Value, SubmitSmResp>;
  if (auto problem = check_text(response.message_id, 64, "message_id")) {
    return refuse(command_id, *problem);
  }
  const bool error_status = response.command_status != status::ok;
  if (optional_id && error_status && !response.message_id.empty()) {
    // SMPP 3.4 §4.4.2: no message_id on error; libsmpp34 would silently leave it out.
    return refuse(command_id, "message_id with a non-zero command_status");
  }
  PackPlan plan;
  plan.command_id = command_id;
  plan.command_status = response.command_status;
  plan.sequence_number = response.sequence_number;
  plan.length =
      k_header_length + (optional_id && error_status ? 0 : response.message_id.size() + 1);
  CStruct c{};
  put_text(c.message_id, response.message_id);
  return pack(c, plan);
}

EncodeResult encode_outbind(const Outbind& outbind) {
  constexpr std::uint32_t id = command_id::outbind;
  for (const auto& problem : {check_text(outbind.system_id, 15, "system_id"),
                              check_text(outbind.password, 8, "password")}) {
    if (problem) {
      return refuse(id, *problem);
    }
  }
  PackPlan plan;
  plan.command_id = id;
  plan.sequence_number = outbind.sequence_number;
  plan.length = k_header_length + outbind.system_id.size() + 1 + outbind.password.size() + 1;
  outbind_t c{};
  put_text(c.system_id, outbind.system_id);
  put_text(c.password, outbind.password);
  return pack(c, plan);
}

EncodeResult encode_one(const BindRequest& bind) {
  switch (bind.mode) {
  case BindMode::transmitter:
    return encode_bind_request<bind_transmitter_t>(bind, command_id::bind_transmitter);
  case BindMode::receiver:
    return encode_bind_request<bind_receiver_t>(bind, command_id::bind_receiver);
  case BindMode::transceiver:
    break;
  }
  return encode_bind_request<bind_transceiver_t>(bind, command_id::bind_transceiver);
}

EncodeResult encode_one(const BindResponse& bind) {
  switch (bind.mode) {
  case BindMode::transmitter:
    return encode_bind_response<bind_transmitter_resp_t>(bind, command_id::bind_transmitter_resp);
  case BindMode::receiver:
    return encode_bind_response<bind_receiver_resp_t>(bind, command_id::bind_receiver_resp);
  case BindMode::transceiver:
    break;
  }
  return encode_bind_response<bind_transceiver_resp_t>(bind, command_id::bind_transceiver_resp);
}

EncodeResult encode_one(const Unbind& p) {
  return encode_header_only<unbind_t>(command_id::unbind, p.sequence_number, status::ok);
}
EncodeResult encode_one(const UnbindResp& p) {
  return encode_header_only<unbind_resp_t>(command_id::unbind_resp, p.sequence_number,
                                           p.command_status);
}
EncodeResult encode_one(const EnquireLink& p) {
  return encode_header_only<enquire_link_t>(command_id::enquire_link, p.sequence_number,
                                            status::ok);
}
EncodeResult encode_one(const EnquireLinkResp& p) {
  return encode_header_only<enquire_link_resp_t>(command_id::enquire_link_resp, p.sequence_number,
                                                 p.command_status);
}
EncodeResult encode_one(const GenericNack& p) {
  return encode_header_only<generic_nack_t>(command_id::generic_nack, p.sequence_number,
                                            p.command_status);
}
EncodeResult encode_one(const SubmitSm& p) {
  return encode_short_message<submit_sm_t>(p, command_id::submit_sm, TlvTable::submit_sm);
}
EncodeResult encode_one(const DeliverSm& p) {
  return encode_short_message<deliver_sm_t>(p, command_id::deliver_sm, TlvTable::deliver_sm);
}
EncodeResult encode_one(const SubmitSmResp& p) {
  return encode_message_id_response<submit_sm_resp_t>(p, command_id::submit_sm_resp);
}
EncodeResult encode_one(const DeliverSmResp& p) {
  PackPlan plan;
  plan.command_id = command_id::deliver_sm_resp;
  plan.command_status = p.command_status;
  plan.sequence_number = p.sequence_number;
  plan.length = k_header_length + 1; // the unused message_id, empty
  deliver_sm_resp_t c{};
  return pack(c, plan);
}
EncodeResult encode_one(const DataSm& p) {
  return encode_data_sm(p);
}
EncodeResult encode_one(const DataSmResp& p) {
  return encode_message_id_response<data_sm_resp_t>(p, command_id::data_sm_resp);
}
EncodeResult encode_one(const Outbind& p) {
  return encode_outbind(p);
}

} // namespace

tl::expected<std::uint32_t, DecodeError>
frame_length(std::span<const std::uint8_t> first_four_octets) {
  DecodeError error;
  error.fatal = true;
  if (first_four_octets.size() < 4) {
    error.detail = "command_length needs 4 octets, got " + number(first_four_octets.size());
    return tl::unexpected(std::move(error));
  }
  const std::uint32_t length = load_be32(first_four_octets.data());
  if (length < k_header_length || length > k_max_command_length) {
    error.detail = "command_length " + std::to_string(length) + " outside " +
                   number(k_header_length) + ".." + number(k_max_command_length);
    if (length >= k_header_length && length <= k_max_skipped_length) {
      error.fatal = false;
      error.skip_length = length - 4;
    }
    return tl::unexpected(std::move(error));
  }
  return length;
}

HeaderFields header_fields(std::span<const std::uint8_t, k_header_length> header) {
  return {load_be32(header.data() + 4), load_be32(header.data() + k_sequence_offset)};
}

tl::expected<Pdu, DecodeError> decode(std::span<const std::uint8_t> frame) {
  Header header;
  if (frame.size() >= 8) {
    header.command_id = load_be32(frame.data() + 4);
  }
  if (frame.size() < k_header_length) {
    DecodeError error =
        header_error(header, status::invalid_command_length,
                     "frame of " + number(frame.size()) + " octets is shorter than a header");
    error.fatal = true;
    return tl::unexpected(std::move(error));
  }
  header.command_length = load_be32(frame.data());
  header.command_status = load_be32(frame.data() + k_status_offset);
  header.sequence_number = load_be32(frame.data() + k_sequence_offset);
  if (header.command_length != frame.size() || header.command_length > k_max_command_length) {
    DecodeError error = header_error(header, status::invalid_command_length,
                                     "command_length " + std::to_string(header.command_length) +
                                         " for a frame of " + number(frame.size()) + " octets");
    error.fatal = true;
    return tl::unexpected(std::move(error));
  }

  switch (header.command_id) {
  case command_id::bind_transmitter:
    return decode_bind_request<bind_transmitter_t>(frame, header);
  case command_id::bind_receiver:
    return decode_bind_request<bind_receiver_t>(frame, header);
  case command_id::bind_transceiver:
    return decode_bind_request<bind_transceiver_t>(frame, header);
  case command_id::bind_transmitter_resp:
    return decode_bind_response<bind_transmitter_resp_t>(frame, header);
  case command_id::bind_receiver_resp:
    return decode_bind_response<bind_receiver_resp_t>(frame, header);
  case command_id::bind_transceiver_resp:
    return decode_bind_response<bind_transceiver_resp_t>(frame, header);
  case command_id::outbind:
    return decode_outbind(frame, header);
  case command_id::unbind:
    return decode_header_only<unbind_t>(frame, header, Unbind{header.sequence_number});
  case command_id::unbind_resp:
    return decode_header_only<unbind_resp_t>(
        frame, header, UnbindResp{header.sequence_number, header.command_status});
  case command_id::enquire_link:
    return decode_header_only<enquire_link_t>(frame, header, EnquireLink{header.sequence_number});
  case command_id::enquire_link_resp:
    return decode_header_only<enquire_link_resp_t>(
        frame, header, EnquireLinkResp{header.sequence_number, header.command_status});
  case command_id::generic_nack:
    return decode_header_only<generic_nack_t>(
        frame, header, GenericNack{header.sequence_number, header.command_status});
  case command_id::submit_sm:
    return decode_short_message<submit_sm_t, SubmitSm>(frame, header, TlvTable::submit_sm);
  case command_id::submit_sm_resp:
    return decode_message_id_response<submit_sm_resp_t, SubmitSmResp>(frame, header);
  case command_id::deliver_sm:
    return decode_short_message<deliver_sm_t, DeliverSm>(frame, header, TlvTable::deliver_sm);
  case command_id::deliver_sm_resp:
    return decode_deliver_sm_resp(frame, header);
  case command_id::data_sm:
    return decode_data_sm(frame, header);
  case command_id::data_sm_resp:
    return decode_message_id_response<data_sm_resp_t, DataSmResp>(frame, header);
  default:
    break;
  }
  return tl::unexpected(header_error(header, status::invalid_command_id,
                                     "unsupported command_id " + command_name(header.command_id)));
}

tl::expected<std::vector<std::uint8_t>, std::string> encode(const Pdu& pdu) {
  return std::visit([](const auto& p) { return encode_one(p); }, pdu);
}

} // namespace laporsms::smpp

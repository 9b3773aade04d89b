// SMPP 3.4 PDUs as plain value types. No I/O here; smpp::codec turns these
// into bytes and back, and is the only code that touches libsmpp34.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace laporsms::smpp {

namespace command_id {
inline constexpr std::uint32_t generic_nack = 0x80000000;
inline constexpr std::uint32_t bind_receiver = 0x00000001;
inline constexpr std::uint32_t bind_receiver_resp = 0x80000001;
inline constexpr std::uint32_t bind_transmitter = 0x00000002;
inline constexpr std::uint32_t bind_transmitter_resp = 0x80000002;
inline constexpr std::uint32_t submit_sm = 0x00000004;
inline constexpr std::uint32_t submit_sm_resp = 0x80000004;
inline constexpr std::uint32_t deliver_sm = 0x00000005;
inline constexpr std::uint32_t deliver_sm_resp = 0x80000005;
inline constexpr std::uint32_t unbind = 0x00000006;
inline constexpr std::uint32_t unbind_resp = 0x80000006;
inline constexpr std::uint32_t bind_transceiver = 0x00000009;
inline constexpr std::uint32_t bind_transceiver_resp = 0x80000009;
inline constexpr std::uint32_t outbind = 0x0000000B;
inline constexpr std::uint32_t enquire_link = 0x00000015;
inline constexpr std::uint32_t enquire_link_resp = 0x80000015;
inline constexpr std::uint32_t data_sm = 0x00000103;
inline constexpr std::uint32_t data_sm_resp = 0x80000103;
} // namespace command_id

// command_status values we send or act on (SMPP 3.4 §5.1.3).
namespace status {
inline constexpr std::uint32_t ok = 0x00;
inline constexpr std::uint32_t invalid_message_length = 0x01;
inline constexpr std::uint32_t invalid_command_length = 0x02;
inline constexpr std::uint32_t invalid_command_id = 0x03;
inline constexpr std::uint32_t invalid_bind_status = 0x04;
inline constexpr std::uint32_t already_bound = 0x05;
inline constexpr std::uint32_t system_error = 0x08;
inline constexpr std::uint32_t bind_failed = 0x0D;
inline constexpr std::uint32_t invalid_password = 0x0E;
inline constexpr std::uint32_t invalid_system_id = 0x0F;
inline constexpr std::uint32_t message_queue_full = 0x14;
inline constexpr std::uint32_t throttled = 0x58;
inline constexpr std::uint32_t temporary_app_error = 0x64; // ESME_RX_T_APPN
inline constexpr std::uint32_t permanent_app_error = 0x65; // ESME_RX_P_APPN
inline constexpr std::uint32_t invalid_optional_param_stream = 0xC0;
inline constexpr std::uint32_t unknown_error = 0xFF;
} // namespace status

// TLV tags we read or write.
namespace tlv_tag {
inline constexpr std::uint16_t sar_msg_ref_num = 0x020C;
inline constexpr std::uint16_t sar_total_segments = 0x020E;
inline constexpr std::uint16_t sar_segment_seqnum = 0x020F;
inline constexpr std::uint16_t message_payload = 0x0424;
inline constexpr std::uint16_t message_state = 0x0427;
inline constexpr std::uint16_t receipted_message_id = 0x001E;
} // namespace tlv_tag

enum class BindMode : std::uint8_t { transmitter, receiver, transceiver };

struct Tlv {
  std::uint16_t tag = 0;
  std::vector<std::uint8_t> value;
  bool operator==(const Tlv&) const = default;
};

struct Address {
  std::uint8_t ton = 0;
  std::uint8_t npi = 0;
  std::string addr; // at most 20 characters on the wire
  bool operator==(const Address&) const = default;
};

struct BindRequest {
  std::uint32_t sequence_number = 0;
  BindMode mode = BindMode::transceiver;
  std::string system_id;   // at most 15
  std::string password;    // at most 8
  std::string system_type; // at most 12
  std::uint8_t interface_version = 0x34;
  std::uint8_t addr_ton = 0;
  std::uint8_t addr_npi = 0;
  std::string address_range; // at most 40
  bool operator==(const BindRequest&) const = default;
};

struct BindResponse {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  BindMode mode = BindMode::transceiver;
  std::string system_id; // the SMSC's
  bool operator==(const BindResponse&) const = default;
};

struct Unbind {
  std::uint32_t sequence_number = 0;
  bool operator==(const Unbind&) const = default;
};

struct UnbindResp {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  bool operator==(const UnbindResp&) const = default;
};

struct EnquireLink {
  std::uint32_t sequence_number = 0;
  bool operator==(const EnquireLink&) const = default;
};

struct EnquireLinkResp {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  bool operator==(const EnquireLinkResp&) const = default;
};

struct GenericNack {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  bool operator==(const GenericNack&) const = default;
};

// The body shared by submit_sm and deliver_sm (SMPP 3.4 §4.4.1, §4.6.1).
struct ShortMessageFields {
  std::uint32_t sequence_number = 0;
  std::string service_type; // at most 5
  Address source;
  Address destination;
  std::uint8_t esm_class = 0;
  std::uint8_t protocol_id = 0;
  std::uint8_t priority_flag = 0;
  std::string schedule_delivery_time; // empty or 16 characters
  std::string validity_period;        // empty or 16 characters
  std::uint8_t registered_delivery = 0;
  std::uint8_t replace_if_present_flag = 0;
  std::uint8_t data_coding = 0;
  std::uint8_t sm_default_msg_id = 0;
  std::vector<std::uint8_t> short_message; // at most 254 octets
  std::vector<Tlv> tlvs;
  bool operator==(const ShortMessageFields&) const = default;
};

struct SubmitSm : ShortMessageFields {
  bool operator==(const SubmitSm&) const = default;
};

struct DeliverSm : ShortMessageFields {
  bool operator==(const DeliverSm&) const = default;
};

struct SubmitSmResp {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  std::string message_id; // at most 64
  bool operator==(const SubmitSmResp&) const = default;
};

struct DeliverSmResp {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  bool operator==(const DeliverSmResp&) const = default;
};

struct DataSm {
  std::uint32_t sequence_number = 0;
  std::string service_type;
  Address source;
  Address destination;
  std::uint8_t esm_class = 0;
  std::uint8_t registered_delivery = 0;
  std::uint8_t data_coding = 0;
  std::vector<Tlv> tlvs; // the text travels in message_payload
  bool operator==(const DataSm&) const = default;
};

struct DataSmResp {
  std::uint32_t sequence_number = 0;
  std::uint32_t command_status = status::ok;
  std::string message_id;
  bool operator==(const DataSmResp&) const = default;
};

struct Outbind {
  std::uint32_t sequence_number = 0;
  std::string system_id;
  std::string password;
  bool operator==(const Outbind&) const = default;
};

using Pdu = std::variant<BindRequest, BindResponse, Unbind, UnbindResp, EnquireLink,
                         EnquireLinkResp, GenericNack, SubmitSm, SubmitSmResp, DeliverSm,
                         DeliverSmResp, DataSm, DataSmResp, Outbind>;

// The sequence_number of any PDU.
std::uint32_t sequence_of(const Pdu& pdu);

// The command_id a PDU is sent with.
std::uint32_t command_id_of(const Pdu& pdu);

// A command_status as metrics label it: the SMPP 3.4 name of the statuses
// this file knows ("ESME_ROK", "ESME_RX_T_APPN", ...), else "0x%08X".
std::string status_label(std::uint32_t command_status);

// A human name for a command_id ("deliver_sm", or "0x00000042" when unknown).
std::string command_name(std::uint32_t command_id);
// "transmitter", "receiver" or "transceiver".
std::string_view bind_mode_name(BindMode mode);

// The first TLV with `tag`, or nullptr.
const Tlv* find_tlv(const std::vector<Tlv>& tlvs, std::uint16_t tag);

} // namespace laporsms::smpp

// Small helpers over the PDU value types; no libsmpp34 here (that stays in codec.cpp).
#include <laporsms/smpp/pdu.hpp>

#include <array>
#include <charconv>
#include <type_traits>

namespace laporsms::smpp {

std::uint32_t sequence_of(const Pdu& pdu) {
  return std::visit([](const auto& p) { return p.sequence_number; }, pdu);
}

std::string status_label(std::uint32_t command_status) {
  switch (command_status) {
  case status::ok:
    return "ESME_ROK";
  case status::invalid_message_length:
    return "ESME_RINVMSGLEN";
  case status::invalid_command_length:
    return "ESME_RINVCMDLEN";
  case status::invalid_command_id:
    return "ESME_RINVCMDID";
  case status::invalid_bind_status:
    return "ESME_RINVBNDSTS";
  case status::already_bound:
    return "ESME_RALYBND";
  case status::system_error:
    return "ESME_RSYSERR";
  case status::bind_failed:
    return "ESME_RBINDFAIL";
  case status::invalid_password:
    return "ESME_RINVPASWD";
  case status::invalid_system_id:
    return "ESME_RINVSYSID";
  case status::message_queue_full:
    return "ESME_RMSGQFUL";
  case status::throttled:
    return "ESME_RTHROTTLED";
  case status::temporary_app_error:
    return "ESME_RX_T_APPN";
  case status::permanent_app_error:
    return "ESME_RX_P_APPN";
  case status::invalid_optional_param_stream:
    return "ESME_RINVOPTPARSTREAM";
  case status::unknown_error:
    return "ESME_RUNKNOWNERR";
  default:
    break;
  }
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string label = "0x00000000";
  for (int i = 0; i < 8; ++i) {
    label[9 - i] = k_hex[(command_status >> (4 * i)) & 0xF];
  }
  return label;
}

std::uint32_t command_id_of(const Pdu& pdu) {
  return std::visit(
      [](const auto& p) -> std::uint32_t {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, BindRequest>) {
          switch (p.mode) {
          case BindMode::transmitter:
            return command_id::bind_transmitter;
          case BindMode::receiver:
            return command_id::bind_receiver;
          case BindMode::transceiver:
            break;
          }
          return command_id::bind_transceiver;
        } else if constexpr (std::is_same_v<T, BindResponse>) {
          switch (p.mode) {
          case BindMode::transmitter:
            return command_id::bind_transmitter_resp;
          case BindMode::receiver:
            return command_id::bind_receiver_resp;
          case BindMode::transceiver:
            break;
          }
          return command_id::bind_transceiver_resp;
        } else if constexpr (std::is_same_v<T, Unbind>) {
          return command_id::unbind;
        } else if constexpr (std::is_same_v<T, UnbindResp>) {
          return command_id::unbind_resp;
        } else if constexpr (std::is_same_v<T, EnquireLink>) {
          return command_id::enquire_link;
        } else if constexpr (std::is_same_v<T, EnquireLinkResp>) {
          return command_id::enquire_link_resp;
        } else if constexpr (std::is_same_v<T, GenericNack>) {
          return command_id::generic_nack;
        } else if constexpr (std::is_same_v<T, SubmitSm>) {
          return command_id::submit_sm;
        } else if constexpr (std::is_same_v<T, SubmitSmResp>) {
          return command_id::submit_sm_resp;
        } else if constexpr (std::is_same_v<T, DeliverSm>) {
          return command_id::deliver_sm;
        } else if constexpr (std::is_same_v<T, DeliverSmResp>) {
          return command_id::deliver_sm_resp;
        } else if constexpr (std::is_same_v<T, DataSm>) {
          return command_id::data_sm;
        } else if constexpr (std::is_same_v<T, DataSmResp>) {
          return command_id::data_sm_resp;
        } else {
          static_assert(std::is_same_v<T, Outbind>, "every Pdu alternative needs a command_id");
          return command_id::outbind;
        }
      },
      pdu);
}

std::string_view bind_mode_name(BindMode mode) {
  switch (mode) {
  case BindMode::transmitter:
    return "transmitter";
  case BindMode::receiver:
    return "receiver";
  case BindMode::transceiver:
    return "transceiver";
  }
  return "transceiver";
}

std::string command_name(std::uint32_t id) {
  // The whole SMPP 3.4 command set, so that logs name even the operations we answer with
  // generic_nack (query_sm, alert_notification, ...).
  switch (id) {
  case command_id::generic_nack:
    return "generic_nack";
  case command_id::bind_receiver:
    return "bind_receiver";
  case command_id::bind_receiver_resp:
    return "bind_receiver_resp";
  case command_id::bind_transmitter:
    return "bind_transmitter";
  case command_id::bind_transmitter_resp:
    return "bind_transmitter_resp";
  case 0x00000003:
    return "query_sm";
  case 0x80000003:
    return "query_sm_resp";
  case command_id::submit_sm:
    return "submit_sm";
  case command_id::submit_sm_resp:
    return "submit_sm_resp";
  case command_id::deliver_sm:
    return "deliver_sm";
  case command_id::deliver_sm_resp:
    return "deliver_sm_resp";
  case command_id::unbind:
    return "unbind";
  case command_id::unbind_resp:
    return "unbind_resp";
  case 0x00000007:
    return "replace_sm";
  case 0x80000007:
    return "replace_sm_resp";
  case 0x00000008:
    return "cancel_sm";
  case 0x80000008:
    return "cancel_sm_resp";
  case command_id::bind_transceiver:
    return "bind_transceiver";
  case command_id::bind_transceiver_resp:
    return "bind_transceiver_resp";
  case command_id::outbind:
    return "outbind";
  case command_id::enquire_link:
    return "enquire_link";
  case command_id::enquire_link_resp:
    return "enquire_link_resp";
  case 0x00000021:
    return "submit_multi";
  case 0x80000021:
    return "submit_multi_resp";
  case 0x00000102:
    return "alert_notification";
  case command_id::data_sm:
    return "data_sm";
  case command_id::data_sm_resp:
    return "data_sm_resp";
  default:
    break;
  }
  std::array<char, 10> text{'0', 'x', '0', '0', '0', '0', '0', '0', '0', '0'};
  std::array<char, 8> digits{};
  const auto converted = std::to_chars(digits.data(), digits.data() + digits.size(), id, 16);
  const auto count = static_cast<std::size_t>(converted.ptr - digits.data());
  for (std::size_t i = 0; i < count; ++i) {
    char c = digits[i];
    if (c >= 'a' && c <= 'f') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    text[text.size() - count + i] = c;
  }
  return std::string(text.data(), text.size());
}

const Tlv* find_tlv(const std::vector<Tlv>& tlvs, std::uint16_t tag) {
  for (const Tlv& tlv : tlvs) {
    if (tlv.tag == tag) {
      return &tlv;
    }
  }
  return nullptr;
}

} // namespace laporsms::smpp

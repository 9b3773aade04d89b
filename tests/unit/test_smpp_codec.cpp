#include <laporsms/smpp/codec.hpp>
#include <laporsms/smpp/pdu.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace laporsms::smpp;

namespace {

using Bytes = std::vector<std::uint8_t>;

// Hex with any spacing, as the SMPP 3.4 spec lays PDUs out.
Bytes from_hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (const char c : text) {
    int nibble = -1;
    if (c >= '0' && c <= '9') {
      nibble = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      nibble = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      nibble = c - 'a' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + nibble));
      high = -1;
    }
  }
  if (high >= 0) {
    throw std::invalid_argument("odd number of hex digits"); // also used before doctest runs
  }
  return out;
}

void set_length(Bytes& frame) {
  const auto n = static_cast<std::uint32_t>(frame.size());
  frame[0] = static_cast<std::uint8_t>(n >> 24);
  frame[1] = static_cast<std::uint8_t>(n >> 16);
  frame[2] = static_cast<std::uint8_t>(n >> 8);
  frame[3] = static_cast<std::uint8_t>(n);
}

Bytes with_length(Bytes frame) {
  set_length(frame);
  return frame;
}

Bytes bytes_of(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

void append(Bytes& frame, std::string_view hex) {
  const Bytes more = from_hex(hex);
  frame.insert(frame.end(), more.begin(), more.end());
}

Pdu decoded(const Bytes& frame) {
  auto result = decode(frame);
  if (!result) {
    FAIL("decode failed: " << result.error().detail);
  }
  return *result;
}

DecodeError rejected(const Bytes& frame) {
  auto result = decode(frame);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

Bytes encoded(const Pdu& pdu) {
  auto result = encode(pdu);
  if (!result) {
    FAIL("encode failed: " << result.error());
  }
  return *result;
}

std::string refused(const Pdu& pdu) {
  auto result = encode(pdu);
  REQUIRE_FALSE(result.has_value());
  return result.error();
}

void check_round_trip(const Pdu& pdu) {
  const Bytes frame = encoded(pdu);
  auto length = frame_length(std::span(frame).first(4));
  REQUIRE(length.has_value());
  CHECK(*length == frame.size());
  CHECK(decoded(frame) == pdu);
}

// SMPP 3.4 §4.1.5 layout, field by field.
const Bytes k_bind_transceiver = from_hex("0000002F 00000009 00000000 00000001"
                                          "534D50503354455354 00" // system_id "SMPP3TEST"
                                          "7365637265743038 00"   // password "secret08"
                                          "5355424D495431 00"     // system_type "SUBMIT1"
                                          "34"                    // interface_version
                                          "01 01"                 // addr_ton, addr_npi
                                          "00");                  // address_range ""

// SMPP 3.4 §4.6.1 layout: an MO SMS, part 1 of 2 of a SAR-concatenated message.
const Bytes k_deliver_sm =
    from_hex("0000004F 00000005 00000000 00000002"
             "00"                                // service_type ""
             "01 01 363238313233343536373839 00" // source 628123456789
             "00 00 31373038 00"                 // destination 1708
             "00 00 00"                          // esm_class, protocol_id, priority
             "00 00"                             // schedule, validity: empty
             "00 00 00 00"                       // registered .. sm_default_msg_id
             "0E 4C41504F5259414920 6A616C616E"  // sm_length 14, "LAPORYAI jalan"
             "020C 0002 0042"                    // sar_msg_ref_num 0x42
             "020E 0001 02"                      // sar_total_segments 2
             "020F 0001 01");                    // sar_segment_seqnum 1

DeliverSm expected_deliver_sm() {
  DeliverSm sm;
  sm.sequence_number = 2;
  sm.source = Address{1, 1, "628123456789"};
  sm.destination = Address{0, 0, "1708"};
  sm.short_message = bytes_of("LAPORYAI jalan");
  sm.tlvs = {Tlv{tlv_tag::sar_msg_ref_num, {0x00, 0x42}}, Tlv{tlv_tag::sar_total_segments, {0x02}},
             Tlv{tlv_tag::sar_segment_seqnum, {0x01}}};
  return sm;
}

SubmitSm sample_submit_sm() {
  SubmitSm sm;
  sm.sequence_number = 77;
  sm.service_type = "CMT";
  sm.source = Address{3, 0, "1708"};
  sm.destination = Address{1, 1, "628123456789"};
  sm.esm_class = 0x40;
  sm.registered_delivery = 1;
  sm.data_coding = 8;
  sm.validity_period = "000001000000000R";
  sm.short_message = {0x05, 0x00, 0x03, 0x2A, 0x02, 0x01, 0x00, 0x4C, 0x00, 0x41};
  return sm;
}

// The deliver_sm walk's body boundaries: mandatory part, then each TLV.
constexpr std::size_t k_deliver_sm_mandatory_end = 63;

} // namespace

TEST_SUITE("smpp::codec") {
  TEST_CASE("frame_length accepts a header-sized to maximum-sized command_length") {
    CHECK(frame_length(from_hex("00000010")).value() == 16);
    CHECK(frame_length(from_hex("0000004F 00000005")).value() == 0x4F);
    CHECK(frame_length(from_hex("00002000")).value() == 8192);
    CHECK(frame_length(from_hex("00011800")).value() == k_max_command_length);
  }

  TEST_CASE("frame_length skips a believable frame longer than we take") {
    for (const std::uint32_t length : {k_max_command_length + 1, k_max_skipped_length}) {
      CAPTURE(length);
      const Bytes four = {
          static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
          static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
      auto refused_length = frame_length(four);
      REQUIRE_FALSE(refused_length.has_value());
      CHECK_FALSE(refused_length.error().fatal);
      CHECK(refused_length.error().skip_length == length - 4);
      CHECK(refused_length.error().command_status == status::invalid_command_length);
    }
  }

  TEST_CASE("header_fields reads command_id and sequence_number of a frame not decoded") {
    const Bytes header = from_hex("00100000 00000005 00000000 60000001");
    const auto fields = header_fields(
        std::span<const std::uint8_t, k_header_length>(header.data(), k_header_length));
    CHECK(fields.command_id == command_id::deliver_sm);
    CHECK(fields.sequence_number == 0x60000001);
  }

  TEST_CASE("frame_length refuses lengths a stream cannot be trusted with") {
    for (const char* hex : {"0000000F", "00000000", "01000001", "FFFFFFFF", "000000"}) {
      CAPTURE(hex);
      auto length = frame_length(from_hex(hex));
      REQUIRE_FALSE(length.has_value());
      CHECK(length.error().fatal);
      CHECK(length.error().command_status == status::invalid_command_length);
    }
  }

  TEST_CASE("bind_transceiver encodes byte for byte as the spec lays it out") {
    BindRequest bind;
    bind.sequence_number = 1;
    bind.mode = BindMode::transceiver;
    bind.system_id = "SMPP3TEST";
    bind.password = "secret08";
    bind.system_type = "SUBMIT1";
    bind.addr_ton = 1;
    bind.addr_npi = 1;
    CHECK(encoded(bind) == k_bind_transceiver);
    CHECK(decoded(k_bind_transceiver) == Pdu{bind});
  }

  TEST_CASE("deliver_sm decodes and encodes byte for byte as the spec lays it out") {
    const Pdu pdu = decoded(k_deliver_sm);
    REQUIRE(std::holds_alternative<DeliverSm>(pdu));
    CHECK(std::get<DeliverSm>(pdu) == expected_deliver_sm());
    CHECK(encoded(expected_deliver_sm()) == k_deliver_sm);
  }

  TEST_CASE("a message_payload of 64 KiB arrives whole, in its place among the TLVs") {
    Bytes frame = k_deliver_sm;
    frame.resize(k_deliver_sm_mandatory_end);
    Bytes payload(65535);
    for (std::size_t i = 0; i < payload.size(); ++i) {
      payload[i] = static_cast<std::uint8_t>('A' + i % 26);
    }
    append(frame, "020C 0002 0042");
    append(frame, "0424 FFFF");
    frame.insert(frame.end(), payload.begin(), payload.end());
    append(frame, "0424 0401"); // a second one, over libsmpp34's 1024 by one
    frame.insert(frame.end(), payload.begin(), payload.begin() + 1025);
    append(frame, "020F 0001 01");
    set_length(frame);
    REQUIRE(frame.size() <= k_max_command_length);
    const auto pdu = decoded(frame);
    const auto& sm = std::get<DeliverSm>(pdu);
    CHECK(sm.short_message == bytes_of("LAPORYAI jalan"));
    REQUIRE(sm.tlvs.size() == 4);
    CHECK(sm.tlvs[0] == Tlv{tlv_tag::sar_msg_ref_num, {0x00, 0x42}});
    CHECK(sm.tlvs[1].tag == tlv_tag::message_payload);
    CHECK(sm.tlvs[1].value == payload);
    CHECK(sm.tlvs[2].value == Bytes(payload.begin(), payload.begin() + 1025));
    CHECK(sm.tlvs[3] == Tlv{tlv_tag::sar_segment_seqnum, {0x01}});
  }

  TEST_CASE("long TLVs count against k_max_tlvs like any other") {
    Bytes frame = k_deliver_sm;
    frame.resize(k_deliver_sm_mandatory_end);
    for (std::size_t i = 0; i < k_max_tlvs; ++i) {
      append(frame, "020C 0002 0042");
    }
    append(frame, "0424 0800");
    frame.resize(frame.size() + 0x800, 'x');
    set_length(frame);
    const DecodeError error = rejected(frame);
    CHECK_FALSE(error.fatal);
    CHECK(error.command_status == status::invalid_optional_param_stream);
  }

  TEST_CASE("every PDU type survives a round trip") {
    BindRequest bind;
    bind.sequence_number = 0x7FFFFFFF;
    bind.system_id = "metro1708";
    bind.password = "pw";
    bind.system_type = "VMA";
    bind.addr_ton = 3;
    bind.address_range = "^1708";
    for (const BindMode mode : {BindMode::transmitter, BindMode::receiver, BindMode::transceiver}) {
      bind.mode = mode;
      check_round_trip(bind);
      check_round_trip(BindResponse{9, status::ok, mode, "SMSC-1"});
      check_round_trip(BindResponse{9, status::invalid_password, mode, ""});
    }
    check_round_trip(Unbind{5});
    check_round_trip(UnbindResp{5, status::ok});
    check_round_trip(EnquireLink{6});
    check_round_trip(EnquireLinkResp{6, status::ok});
    check_round_trip(GenericNack{7, status::invalid_command_id});
    check_round_trip(sample_submit_sm());
    check_round_trip(SubmitSmResp{77, status::ok, "5d1e0f7c-1a2b-4c3d-8e9f-001122334455"});
    check_round_trip(SubmitSmResp{78, status::throttled, ""});
    check_round_trip(expected_deliver_sm());
    check_round_trip(DeliverSmResp{2, status::ok});
    check_round_trip(DeliverSmResp{3, status::temporary_app_error});
    DataSm data;
    data.sequence_number = 11;
    data.source = Address{1, 1, "628123456789"};
    data.destination = Address{0, 0, std::string(64, '7')};
    data.data_coding = 0;
    data.tlvs = {Tlv{tlv_tag::message_payload, bytes_of("LAPORYAI banjir di jalan")},
                 Tlv{0x0017, {0, 0, 0x0E, 0x10}}}; // qos_time_to_live, a 4-octet integer
    check_round_trip(data);
    check_round_trip(DataSm{12, "", {}, {}, 0, 0, 0, {}});
    check_round_trip(DataSmResp{11, status::ok, "abc"});
    check_round_trip(DataSmResp{11, status::system_error, "abc"});
    check_round_trip(DataSmResp{11, status::system_error, ""});
    check_round_trip(Outbind{13, "SMSC", "secret"});
  }

  TEST_CASE("short messages keep binary octets, NULs and the full 254 octets") {
    DeliverSm sm = expected_deliver_sm();
    sm.tlvs.clear();
    sm.short_message = {0x00, 0x00, 0xFF, 0x00, 0x1B, 0x00};
    check_round_trip(sm);
    for (const std::size_t size : {0, 1, 140, 253, 254}) {
      CAPTURE(size);
      SubmitSm submit = sample_submit_sm();
      submit.short_message.assign(size, 0);
      for (std::size_t i = 0; i < size; ++i) {
        submit.short_message[i] = static_cast<std::uint8_t>(i * 7);
      }
      submit.tlvs = {Tlv{0x1401, {1, 2, 3}}};
      check_round_trip(submit);
      DeliverSm deliver = expected_deliver_sm();
      deliver.short_message = submit.short_message;
      check_round_trip(deliver);
    }
  }

  TEST_CASE("the 254-octet short_message sits where sm_length says") {
    SubmitSm submit = sample_submit_sm();
    submit.short_message.assign(254, 0xAB);
    submit.tlvs = {Tlv{tlv_tag::sar_msg_ref_num, {0x12, 0x34}}};
    const Bytes frame = encoded(submit);
    REQUIRE(frame.size() == 16 + 4 + 7 + 15 + 3 + 1 + 17 + 4 + 1 + 254 + 6);
    const std::size_t sm_length_at = frame.size() - 6 - 254 - 1;
    CHECK(frame[sm_length_at] == 254);
    CHECK(frame[sm_length_at + 1] == 0xAB);
    CHECK(frame[sm_length_at + 254] == 0xAB);
    CHECK(Bytes(frame.end() - 6, frame.end()) == from_hex("020C 0002 1234"));
  }

  TEST_CASE("TLVs keep their wire order, values and unknown vendor tags") {
    DeliverSm receipt = expected_deliver_sm();
    receipt.esm_class = 0x04;
    receipt.short_message = bytes_of("id:ABC123 sub:001 dlvrd:001 stat:DELIVRD err:000");
    receipt.tlvs = {Tlv{tlv_tag::receipted_message_id, bytes_of(std::string(64, 'F') + '\0')},
                    Tlv{tlv_tag::message_state, {2}},
                    Tlv{0x1500, {0x00, 0x01, 0x00}},
                    Tlv{0xFFFF, {}},
                    Tlv{0x0423, {0x03, 0x00, 0x01}}, // network_error_code
                    Tlv{tlv_tag::message_payload, Bytes(1024, 0x20)},
                    Tlv{tlv_tag::sar_msg_ref_num, {0xBE, 0xEF}}};
    check_round_trip(receipt);
    const Bytes frame = encoded(receipt);
    const auto pdu = decoded(frame);
    const auto& tlvs = std::get<DeliverSm>(pdu).tlvs;
    REQUIRE(tlvs.size() == 7);
    CHECK(tlvs[0].tag == tlv_tag::receipted_message_id);
    CHECK(tlvs[6].value == Bytes{0xBE, 0xEF});

    SubmitSm submit = sample_submit_sm();
    submit.tlvs = {Tlv{tlv_tag::message_state, {1}}, Tlv{tlv_tag::receipted_message_id, {'x', 0}},
                   Tlv{tlv_tag::sar_total_segments, {3}}, Tlv{tlv_tag::sar_segment_seqnum, {2}},
                   Tlv{0x130C, {}}}; // alert_on_message_delivery, no value
    check_round_trip(submit);
  }

  TEST_CASE("values libsmpp34 refuses still travel both ways") {
    // Sequence number 0, a vendor-specific error status, TON/NPI outside the 3.4 lists and an
    // older interface_version: SMSCs send all of these.
    check_round_trip(EnquireLink{0});
    check_round_trip(GenericNack{0, status::invalid_command_length});
    check_round_trip(SubmitSmResp{4, 0x00000400, ""});
    check_round_trip(DeliverSmResp{4, 0x000004FF});
    check_round_trip(BindResponse{1, 0x00000401, BindMode::receiver, ""});
    check_round_trip(DataSmResp{4, 0x00000410, "x"});
    BindRequest bind;
    bind.sequence_number = 1;
    bind.system_id = "id";
    bind.interface_version = 0x33;
    bind.addr_ton = 9;
    bind.addr_npi = 0xFF;
    check_round_trip(bind);
    DeliverSm sm = expected_deliver_sm();
    sm.source.ton = 7;
    sm.source.npi = 2;
    sm.destination.ton = 0xFF;
    sm.destination.npi = 5;
    check_round_trip(sm);
    DataSm data;
    data.sequence_number = 0;
    data.source = Address{0x10, 0x11, "1"};
    check_round_trip(data);

    Bytes frame = k_deliver_sm;
    frame[17] = 0x07; // source_addr_ton
    frame[18] = 0x02; // source_addr_npi
    const auto pdu = decoded(frame);
    CHECK(std::get<DeliverSm>(pdu).source.ton == 0x07);
    CHECK(std::get<DeliverSm>(pdu).source.npi == 0x02);
  }

  TEST_CASE("responses with an error status may come without a body") {
    const auto bind_resp = decoded(from_hex("00000010 80000009 0000000E 00000003"));
    CHECK(bind_resp == Pdu{BindResponse{3, status::invalid_password, BindMode::transceiver, ""}});
    const auto submit_resp = decoded(from_hex("00000010 80000004 00000058 00000004"));
    CHECK(submit_resp == Pdu{SubmitSmResp{4, status::throttled, ""}});
    // Many SMSCs send an empty message_id anyway; and vendor statuses with one.
    CHECK(decoded(from_hex("00000011 80000004 00000045 00000005 00")) ==
          Pdu{SubmitSmResp{5, 0x45, ""}});
    CHECK(decoded(from_hex("00000014 80000004 00000400 00000005 41424300")) ==
          Pdu{SubmitSmResp{5, 0x400, ""}});
    CHECK(decoded(from_hex("00000010 80000103 00000008 00000006")) ==
          Pdu{DataSmResp{6, status::system_error, ""}});
    CHECK(decoded(from_hex("00000010 80000005 00000000 00000007")) ==
          Pdu{DeliverSmResp{7, status::ok}});
    CHECK(decoded(from_hex("00000013 80000005 00000000 00000007 783100")) ==
          Pdu{DeliverSmResp{7, status::ok}});
  }

  TEST_CASE("a successful response without its body is refused") {
    for (const char* hex :
         {"00000010 80000009 00000000 00000003", "00000010 80000004 00000000 00000004",
          "00000010 80000103 00000000 00000006"}) {
      CAPTURE(hex);
      const DecodeError error = rejected(from_hex(hex));
      CHECK(error.command_status == status::invalid_command_length);
      CHECK_FALSE(error.fatal);
    }
  }

  TEST_CASE("TLVs on responses are checked and dropped") {
    // bind_transceiver_resp with sc_interface_version; submit_sm_resp with a vendor TLV.
    CHECK(decoded(from_hex("0000001A 80000009 00000000 00000001 534D534300 0210 0001 34")) ==
          Pdu{BindResponse{1, status::ok, BindMode::transceiver, "SMSC"}});
    CHECK(decoded(from_hex("0000001B 80000004 00000000 00000002 41424300 1400 0003 010203")) ==
          Pdu{SubmitSmResp{2, status::ok, "ABC"}});
    CHECK(decoded(from_hex("00000019 80000103 00000000 00000002 41424300 0425 0001 00")) ==
          Pdu{DataSmResp{2, status::ok, "ABC"}});
    const DecodeError error =
        rejected(from_hex("0000001A 80000004 00000000 00000002 41424300 1400 0003 0102"));
    CHECK(error.command_status == status::invalid_optional_param_stream);
  }

  TEST_CASE("every truncation of a deliver_sm is an error, never a crash") {
    for (std::size_t size = 0; size < k_deliver_sm.size(); ++size) {
      CAPTURE(size);
      // As cut off by the stream: command_length no longer matches.
      const Bytes cut(k_deliver_sm.begin(),
                      k_deliver_sm.begin() + static_cast<std::ptrdiff_t>(size));
      const DecodeError error = rejected(cut);
      CHECK(error.fatal);
      CHECK(error.command_status == status::invalid_command_length);
      if (size < 16) {
        continue;
      }
      // As a peer that gets command_length right and the body wrong: only a cut between two
      // TLVs leaves a valid deliver_sm.
      const Bytes short_body = with_length(cut);
      auto result = decode(short_body);
      const bool tlv_boundary = size == k_deliver_sm_mandatory_end || size == 69 || size == 74;
      CHECK(result.has_value() == tlv_boundary);
      if (result) {
        const auto& sm = std::get<DeliverSm>(*result);
        CHECK(sm.tlvs.size() == (size == 63 ? 0U : size == 69 ? 1U : 2U));
        CHECK(sm.short_message == bytes_of("LAPORYAI jalan"));
      } else {
        CHECK_FALSE(result.error().fatal);
        CHECK(result.error().sequence_number == 2);
        CHECK(result.error().command_id == command_id::deliver_sm);
        // Up to sm_length a mandatory field is cut; then short_message; then a TLV.
        const std::uint32_t expected = size <= 48  ? status::invalid_command_length
                                       : size < 63 ? status::invalid_message_length
                                                   : status::invalid_optional_param_stream;
        CHECK(result.error().command_status == expected);
      }
    }
  }

  TEST_CASE("command_length outside the frame or the limits is fatal") {
    Bytes frame = k_deliver_sm;
    frame[3] = 0x0F; // says 15
    CHECK(rejected(frame).fatal);
    CHECK(rejected(from_hex("0000000C 00000015 00000000")).fatal);
    const DecodeError mismatch = rejected(from_hex("00000011 00000015 00000000 00000009"));
    CHECK(mismatch.fatal);
    CHECK(mismatch.sequence_number == 9);
    CHECK(mismatch.command_id == command_id::enquire_link);

    Bytes huge(k_max_command_length + 1, 0);
    set_length(huge);
    huge[7] = 0x15;
    const DecodeError too_big = rejected(huge); // frame_length would have it skipped
    CHECK(too_big.fatal);
    CHECK(too_big.command_status == status::invalid_command_length);

    Bytes biggest(k_max_command_length, 0);
    set_length(biggest);
    biggest[7] = 0x15; // enquire_link with a body: refused, but the stream is fine
    const DecodeError body = rejected(biggest);
    CHECK_FALSE(body.fatal);
    CHECK(body.command_status == status::invalid_command_length);
  }

  TEST_CASE("sm_length beyond the body is refused") {
    Bytes frame = k_deliver_sm;
    frame[k_deliver_sm_mandatory_end - 15] = 0x20; // sm_length 32, 30 octets follow
    const DecodeError error = rejected(frame);
    CHECK(error.command_status == status::invalid_message_length);
    CHECK_FALSE(error.fatal);
    CHECK(error.sequence_number == 2);
    CHECK(error.detail.find("LAPORYAI") == std::string::npos);
    frame[k_deliver_sm_mandatory_end - 15] = 0xFF; // 255 can never fit in 254
    CHECK(rejected(frame).command_status == status::invalid_message_length);
  }

  TEST_CASE("C-octet strings must end inside their field") {
    // system_id of 16 characters: the NUL comes one octet too late.
    Bytes bind = from_hex("00000000 00000009 00000000 00000001");
    append(bind, "41414141414141414141414141414141 00 00 00 34 00 00 00");
    set_length(bind);
    DecodeError error = rejected(bind);
    CHECK(error.command_status == status::invalid_message_length);
    CHECK(error.detail.find("system_id") != std::string::npos);

    // password of 9 characters; the detail must not show it.
    Bytes secret = from_hex("00000000 00000002 00000000 00000001 696400");
    append(secret, "7A7A7A7365637265747A 00 00 34 00 00 00");
    set_length(secret);
    error = rejected(secret);
    CHECK(error.command_status == status::invalid_message_length);
    CHECK(error.detail.find("zzzsecret") == std::string::npos);
    CHECK(error.detail.find("password") != std::string::npos);

    // No NUL at all before the frame ends.
    CHECK(rejected(with_length(from_hex("00000000 00000009 00000000 00000001 414243")))
              .command_status == status::invalid_command_length);

    // source_addr of 21 digits in a deliver_sm.
    Bytes deliver = from_hex("00000000 00000005 00000000 00000002 00 01 01");
    append(deliver, "363238313233343536373839303132333435363738 00 00 00 00");
    append(deliver, "00 00 00 00 00 00 00 00 00 00");
    set_length(deliver);
    CHECK(rejected(deliver).command_status == status::invalid_message_length);

    // deliver_sm carries no schedule_delivery_time (SMPP 3.4 §4.6.1).
    Bytes scheduled = k_deliver_sm;
    scheduled.insert(scheduled.begin() + 42, {'1', '2'});
    set_length(scheduled);
    CHECK(rejected(scheduled).command_status == status::invalid_message_length);
  }

  TEST_CASE("malformed TLVs are refused") {
    const auto with_tail = [](std::string_view hex) {
      Bytes frame = k_deliver_sm;
      append(frame, hex);
      set_length(frame);
      return frame;
    };
    for (const char* tail : {
             "0424 0010 4142", // length runs past the end
             "0424",           // header cut short
             "02",             // stray octet
             "020E 0002 0001", // sar_total_segments is one octet
             "020C 0001 01",   // sar_msg_ref_num is two octets
             "0427 0000",      // message_state is one octet
             "001E 0042",      // receipted_message_id longer than 65 (libsmpp34)
         }) {
      CAPTURE(tail);
      Bytes frame = with_tail(tail);
      if (std::string_view(tail) == "001E 0042") {
        frame.resize(frame.size() + 0x42, 'A');
        set_length(frame);
      }
      const DecodeError error = rejected(frame);
      CHECK(error.command_status == status::invalid_optional_param_stream);
      CHECK_FALSE(error.fatal);
      CHECK(error.sequence_number == 2);
    }
    Bytes payload = with_tail("0424 0401");
    payload.resize(payload.size() + 0x401, 'A'); // above libsmpp34's 1024, and whole
    set_length(payload);
    const auto long_payload = std::get<DeliverSm>(decoded(payload)).tlvs;
    REQUIRE(long_payload.size() == 4); // after k_deliver_sm's three SAR TLVs
    CHECK(long_payload[3].value == Bytes(0x401, 'A'));
  }

  TEST_CASE("at most k_max_tlvs TLVs travel") {
    Bytes frame = from_hex("0000004F 00000005 00000000 00000002");
    frame.insert(frame.end(), k_deliver_sm.begin() + 16,
                 k_deliver_sm.begin() + k_deliver_sm_mandatory_end);
    for (std::size_t i = 0; i < k_max_tlvs; ++i) {
      append(frame, "1400 0001 2A");
    }
    set_length(frame);
    CHECK(std::get<DeliverSm>(decoded(frame)).tlvs.size() == k_max_tlvs);
    append(frame, "1400 0001 2A");
    set_length(frame);
    CHECK(rejected(frame).command_status == status::invalid_optional_param_stream);

    DeliverSm sm = expected_deliver_sm();
    sm.tlvs.assign(k_max_tlvs + 1, Tlv{0x1400, {0x2A}});
    CHECK(refused(sm).find("TLVs") != std::string::npos);
  }

  TEST_CASE("an unknown command_id is invalid_command_id and keeps the sequence number") {
    for (const char* hex : {"00000010 00000042 00000000 00001234",
                            "00000015 00000003 00000000 00001234 0000000000", // query_sm
                            "00000010 80000042 00000000 00001234"}) {
      CAPTURE(hex);
      const DecodeError error = rejected(from_hex(hex));
      CHECK(error.command_status == status::invalid_command_id);
      CHECK(error.sequence_number == 0x1234);
      CHECK_FALSE(error.fatal);
    }
    CHECK(rejected(from_hex("00000010 00000042 00000000 00001234")).command_id == 0x42);
  }

  TEST_CASE("a body where none belongs is refused") {
    for (const char* hex :
         {"00000011 00000015 00000000 00000001 00", "00000014 80000006 00000000 00000001 00000000",
          "00000011 80000000 00000003 00000001 00"}) {
      CAPTURE(hex);
      const DecodeError error = rejected(from_hex(hex));
      CHECK(error.command_status == status::invalid_command_length);
      CHECK_FALSE(error.fatal);
    }
    Bytes bind = k_bind_transceiver;
    append(bind, "0210 0001 34");
    set_length(bind);
    CHECK(rejected(bind).command_status == status::invalid_command_length);
  }

  TEST_CASE("encode refuses fields longer than their wire size") {
    BindRequest bind;
    bind.sequence_number = 1;
    bind.system_id = std::string(16, 'a');
    CHECK(refused(bind).find("system_id") != std::string::npos);
    bind.system_id = std::string(15, 'a');
    bind.password = "toolongpw";
    const std::string reason = refused(bind);
    CHECK(reason.find("password") != std::string::npos);
    CHECK(reason.find("toolongpw") == std::string::npos);
    bind.password = "8chars!!";
    bind.system_type = std::string(13, 't');
    CHECK(refused(bind).find("system_type") != std::string::npos);
    bind.system_type = std::string(12, 't');
    bind.address_range = std::string(41, '1');
    CHECK(refused(bind).find("address_range") != std::string::npos);
    bind.address_range = std::string(40, '1');
    check_round_trip(bind);
    bind.system_id = std::string("a\0b", 3);
    CHECK(refused(bind).find("NUL") != std::string::npos);

    CHECK(refused(Outbind{1, std::string(16, 's'), ""}).find("system_id") != std::string::npos);
    CHECK(refused(BindResponse{1, status::ok, BindMode::receiver, std::string(16, 's')})
              .find("system_id") != std::string::npos);

    SubmitSm sm = sample_submit_sm();
    sm.short_message.assign(255, 'x');
    CHECK(refused(sm).find("short_message") != std::string::npos);
    sm = sample_submit_sm();
    sm.source.addr = std::string(21, '6');
    CHECK(refused(sm).find("source_addr") != std::string::npos);
    sm = sample_submit_sm();
    sm.destination.addr = std::string(21, '6');
    CHECK(refused(sm).find("destination_addr") != std::string::npos);
    sm = sample_submit_sm();
    sm.service_type = "SIXSIX";
    CHECK(refused(sm).find("service_type") != std::string::npos);
    sm = sample_submit_sm();
    sm.schedule_delivery_time = std::string(17, '0');
    CHECK(refused(sm).find("schedule_delivery_time") != std::string::npos);

    DeliverSm deliver = expected_deliver_sm();
    deliver.validity_period = "000001000000000R";
    CHECK(refused(deliver).find("validity_period") != std::string::npos);

    DataSm data;
    data.sequence_number = 1;
    data.destination.addr = std::string(65, '6');
    CHECK(refused(data).find("destination_addr") != std::string::npos);

    CHECK(refused(SubmitSmResp{1, status::ok, std::string(65, 'm')}).find("message_id") !=
          std::string::npos);
    CHECK(refused(DataSmResp{1, status::ok, std::string(65, 'm')}).find("message_id") !=
          std::string::npos);
    check_round_trip(SubmitSmResp{1, status::ok, std::string(64, 'm')});
    CHECK(refused(SubmitSmResp{1, status::system_error, "id"}).find("message_id") !=
          std::string::npos);
  }

  TEST_CASE("encode refuses TLVs libsmpp34 would mangle") {
    DeliverSm sm = expected_deliver_sm();
    sm.tlvs = {Tlv{tlv_tag::sar_msg_ref_num, {0x42}}};
    CHECK(refused(sm).find("0x020C") != std::string::npos);
    sm.tlvs = {Tlv{tlv_tag::receipted_message_id, Bytes(66, 'r')}};
    CHECK(refused(sm).find("0x001E") != std::string::npos);
    sm.tlvs = {Tlv{tlv_tag::message_payload, Bytes(1025, 'p')}};
    CHECK(refused(sm).find("0x0424") != std::string::npos);
    sm.tlvs = {Tlv{tlv_tag::message_payload, Bytes(1024, 'p')}};
    check_round_trip(sm);

    SubmitSm submit = sample_submit_sm();
    submit.tlvs = {Tlv{0x130C, {1}}}; // alert_on_message_delivery has no value
    CHECK_FALSE(encode(submit).has_value());

    DataSm data;
    data.sequence_number = 1;
    data.tlvs.assign(8, Tlv{tlv_tag::message_payload, Bytes(1024, 'p')});
    CHECK(refused(data).find(std::to_string(k_max_encoded_length)) != std::string::npos);
  }

  TEST_CASE("PDU helpers name and number every PDU") {
    const std::vector<std::pair<Pdu, std::uint32_t>> pdus = {
        {BindRequest{1, BindMode::transmitter, "", "", "", 0x34, 0, 0, ""},
         command_id::bind_transmitter},
        {BindRequest{2, BindMode::receiver, "", "", "", 0x34, 0, 0, ""}, command_id::bind_receiver},
        {BindRequest{3, BindMode::transceiver, "", "", "", 0x34, 0, 0, ""},
         command_id::bind_transceiver},
        {BindResponse{4, 0, BindMode::transmitter, ""}, command_id::bind_transmitter_resp},
        {BindResponse{5, 0, BindMode::receiver, ""}, command_id::bind_receiver_resp},
        {BindResponse{6, 0, BindMode::transceiver, ""}, command_id::bind_transceiver_resp},
        {Unbind{7}, command_id::unbind},
        {UnbindResp{8, 0}, command_id::unbind_resp},
        {EnquireLink{9}, command_id::enquire_link},
        {EnquireLinkResp{10, 0}, command_id::enquire_link_resp},
        {GenericNack{11, 0}, command_id::generic_nack},
        {SubmitSm{}, command_id::submit_sm},
        {SubmitSmResp{13, 0, ""}, command_id::submit_sm_resp},
        {DeliverSm{}, command_id::deliver_sm},
        {DeliverSmResp{15, 0}, command_id::deliver_sm_resp},
        {DataSm{}, command_id::data_sm},
        {DataSmResp{17, 0, ""}, command_id::data_sm_resp},
        {Outbind{18, "", ""}, command_id::outbind},
    };
    for (const auto& [pdu, id] : pdus) {
      CHECK(command_id_of(pdu) == id);
      CHECK(command_name(id).substr(0, 2) != "0x");
      const Bytes frame = encoded(pdu);
      CHECK(frame[4] == static_cast<std::uint8_t>(id >> 24));
      CHECK(frame[7] == static_cast<std::uint8_t>(id));
    }
    CHECK(sequence_of(Unbind{7}) == 7);
    CHECK(sequence_of(expected_deliver_sm()) == 2);
    CHECK(command_name(command_id::deliver_sm) == "deliver_sm");
    CHECK(command_name(command_id::bind_transceiver_resp) == "bind_transceiver_resp");
    CHECK(command_name(0x00000042) == "0x00000042");
    CHECK(command_name(0x8000ABCD) == "0x8000ABCD");

    const DeliverSm sm = expected_deliver_sm();
    const Tlv* total = find_tlv(sm.tlvs, tlv_tag::sar_total_segments);
    REQUIRE(total != nullptr);
    CHECK(total->value == Bytes{0x02});
    CHECK(find_tlv(sm.tlvs, tlv_tag::message_payload) == nullptr);
  }
}

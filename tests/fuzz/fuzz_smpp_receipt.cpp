// libFuzzer target for smpp::parse_receipt: whatever a deliver_sm flagged as
// a receipt carries (the receipted_message_id and message_state TLVs, the
// text form of SMPP 3.4 appendix B), the parser never crashes, and what it
// reads comes from the PDU as the header promises.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude
//     tests/fuzz/fuzz_smpp_receipt.cpp src/smpp/receipt.cpp src/smpp/pdu.cpp -o fuzz_smpp_receipt
//   ./fuzz_smpp_receipt tests/fuzz/corpus/smpp_receipt
//
// Input: octet 0 holds flags (bit 0 a receipted_message_id TLV follows, bit
// 1 a message_state TLV follows, bit 2 the TLVs come in the opposite order),
// octet 1 is the esm_class. Then, when flagged, the receipted_message_id:
// a length octet and its value; the message_state: a length octet and its
// value. The rest is the short_message.
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/smpp/receipt.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace laporsms::smpp;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

class Reader {
public:
  Reader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  std::uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  std::vector<std::uint8_t> bytes(std::size_t n) {
    const std::size_t take = std::min(n, m_size - m_pos);
    std::vector<std::uint8_t> out(m_data + m_pos, m_data + m_pos + take);
    m_pos += take;
    return out;
  }
  std::vector<std::uint8_t> rest() { return bytes(m_size - m_pos); }

private:
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `text` holds "key" (any letter case) at the start or after a blank,
// followed by `value` and then a blank or the end. Written here rather than
// taken from the code under test.
bool has_field(std::string_view text, std::string_view key, std::string_view value) {
  for (std::size_t pos = 0; pos + key.size() + value.size() <= text.size(); ++pos) {
    if (pos != 0 && text[pos - 1] != ' ') {
      continue;
    }
    bool same = true;
    for (std::size_t i = 0; i < key.size() && same; ++i) {
      same = lower(text[pos + i]) == key[i];
    }
    if (!same || text.substr(pos + key.size(), value.size()) != value) {
      continue;
    }
    const std::size_t end = pos + key.size() + value.size();
    if (end == text.size() || text[end] == ' ') {
      return true;
    }
  }
  return false;
}

// Whether `text` holds "key" (any letter case) at the start or after a blank.
bool has_key(std::string_view text, std::string_view key) {
  for (std::size_t pos = 0; pos + key.size() <= text.size(); ++pos) {
    if (pos == 0 || text[pos - 1] == ' ') {
      bool same = true;
      for (std::size_t i = 0; i < key.size() && same; ++i) {
        same = lower(text[pos + i]) == key[i];
      }
      if (same) {
        return true;
      }
    }
  }
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  Reader in(data, size);
  const std::uint8_t flags = in.byte();
  ShortMessageFields message;
  message.esm_class = in.byte();
  std::vector<Tlv> tlvs;
  if ((flags & 0x01) != 0) {
    tlvs.push_back({tlv_tag::receipted_message_id, in.bytes(in.byte())});
  }
  if ((flags & 0x02) != 0) {
    tlvs.push_back({tlv_tag::message_state, in.bytes(in.byte())});
  }
  if ((flags & 0x04) != 0) {
    std::reverse(tlvs.begin(), tlvs.end());
  }
  message.tlvs = tlvs;
  message.short_message = in.rest();
  const std::string_view text(reinterpret_cast<const char*>(message.short_message.data()),
                              message.short_message.size());

  (void)is_receipt(message.esm_class);
  const auto receipt = parse_receipt(message);
  check(parse_receipt(message) == receipt, "the same PDU reads the same");
  if (!receipt) {
    return 0;
  }
  check(!receipt->message_id.empty(), "a receipt names a message");

  // The id: the TLV's value without its trailing NULs, else the text's id: field.
  const Tlv* id_tlv = find_tlv(message.tlvs, tlv_tag::receipted_message_id);
  std::string tlv_id;
  if (id_tlv != nullptr) {
    tlv_id.assign(id_tlv->value.begin(), id_tlv->value.end());
    while (!tlv_id.empty() && tlv_id.back() == '\0') {
      tlv_id.pop_back();
    }
  }
  if (!tlv_id.empty()) {
    check(receipt->message_id == tlv_id, "the id is the receipted_message_id TLV's");
  } else {
    check(receipt->message_id.find(' ') == std::string::npos, "an id read from the text is a word");
    check(has_field(text, "id:", receipt->message_id), "the id is the text's id: field");
  }

  // The state: a one-octet message_state TLV from 1 to 8 decides it.
  const Tlv* state_tlv = find_tlv(message.tlvs, tlv_tag::message_state);
  if (state_tlv != nullptr && state_tlv->value.size() == 1 && state_tlv->value[0] >= 1 &&
      state_tlv->value[0] <= 8) {
    check(static_cast<int>(receipt->state) == state_tlv->value[0] - 1,
          "the state is the message_state TLV's");
  } else {
    check(has_key(text, "stat:"), "without a usable TLV the text has a stat: field");
  }

  // The excerpt: the end of the text, without trailing NULs.
  check(receipt->excerpt.empty() || receipt->excerpt.back() != '\0', "no trailing NUL");
  check(text.find(receipt->excerpt) != std::string_view::npos, "the excerpt comes from the text");
  check(receipt->excerpt.empty() || std::string_view(text)
                                        .substr(0, text.find_last_not_of('\0') + 1)
                                        .ends_with(receipt->excerpt),
        "the excerpt runs to the end of the text");

  const auto final_state = final_outbound_state(receipt->state);
  const bool intermediate =
      receipt->state == ReceiptState::enroute || receipt->state == ReceiptState::accepted;
  check(final_state.has_value() != intermediate, "only enroute and accepted are not final");
  if (final_state) {
    check(*final_state == "delivered" || *final_state == "undeliverable" ||
              *final_state == "expired" || *final_state == "unknown",
          "a final state is an outbound state");
  }
  return 0;
}

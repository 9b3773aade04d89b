#include <laporsms/smpp/receipt.hpp>

#include <string_view>

namespace laporsms::smpp {
namespace {

std::optional<ReceiptState> state_from_word(std::string_view word) {
  // The seven-letter words of SMPP 3.4 Appendix B.
  if (word.starts_with("DELIVRD")) {
    return ReceiptState::delivered;
  }
  if (word.starts_with("EXPIRED")) {
    return ReceiptState::expired;
  }
  if (word.starts_with("DELETED")) {
    return ReceiptState::deleted;
  }
  if (word.starts_with("UNDELIV")) {
    return ReceiptState::undeliverable;
  }
  if (word.starts_with("ACCEPTD")) {
    return ReceiptState::accepted;
  }
  if (word.starts_with("UNKNOWN")) {
    return ReceiptState::unknown;
  }
  if (word.starts_with("REJECTD")) {
    return ReceiptState::rejected;
  }
  if (word.starts_with("ENROUTE")) {
    return ReceiptState::enroute;
  }
  return std::nullopt;
}

std::optional<ReceiptState> state_from_tlv(std::uint8_t value) {
  switch (value) {
  case 1:
    return ReceiptState::enroute;
  case 2:
    return ReceiptState::delivered;
  case 3:
    return ReceiptState::expired;
  case 4:
    return ReceiptState::deleted;
  case 5:
    return ReceiptState::undeliverable;
  case 6:
    return ReceiptState::accepted;
  case 7:
    return ReceiptState::unknown;
  case 8:
    return ReceiptState::rejected;
  default:
    return std::nullopt;
  }
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Where the value of "key:" (lower case) starts in the receipt text, or npos.
// Keys match in any letter case (SMPP 3.4 Appendix B spells "Text:"; SMSCs
// vary). Whole keys only: "id:" must not match inside "sub_id:".
std::size_t value_start(std::string_view text, std::string_view key) {
  for (std::size_t pos = 0; pos + key.size() <= text.size(); ++pos) {
    if (pos != 0 && text[pos - 1] != ' ') {
      continue;
    }
    bool same = true;
    for (std::size_t i = 0; i < key.size() && same; ++i) {
      same = ascii_lower(text[pos + i]) == key[i];
    }
    if (same) {
      return pos + key.size();
    }
  }
  return std::string_view::npos;
}

// The value after "key:" in the receipt text, up to the next blank.
std::string_view field(std::string_view text, std::string_view key) {
  const auto start = value_start(text, key);
  if (start == std::string_view::npos) {
    return {};
  }
  const auto end = text.find(' ', start);
  return text.substr(start, end == std::string_view::npos ? text.size() - start : end - start);
}

} // namespace

bool is_receipt(std::uint8_t esm_class) {
  const auto type = esm_class & 0x3C;
  return type == 0x04 || type == 0x20;
}

std::optional<Receipt> parse_receipt(const ShortMessageFields& message) {
  Receipt receipt;
  std::optional<ReceiptState> state;
  if (const auto* id = find_tlv(message.tlvs, tlv_tag::receipted_message_id)) {
    std::string value(id->value.begin(), id->value.end());
    while (!value.empty() && value.back() == '\0') {
      value.pop_back();
    }
    receipt.message_id = std::move(value);
  }
  if (const auto* st = find_tlv(message.tlvs, tlv_tag::message_state)) {
    if (st->value.size() == 1) {
      state = state_from_tlv(st->value[0]);
    }
  }
  const std::string_view text(reinterpret_cast<const char*>(message.short_message.data()),
                              message.short_message.size());
  if (receipt.message_id.empty()) {
    receipt.message_id = std::string(field(text, "id:"));
  }
  if (!state) {
    const auto word = field(text, "stat:");
    if (!word.empty()) {
      state = state_from_word(word);
    }
  }
  if (receipt.message_id.empty() || !state) {
    return std::nullopt;
  }
  receipt.state = *state;
  // "text:" comes last and may hold blanks: it runs to the end.
  if (const auto start = value_start(text, "text:"); start != std::string_view::npos) {
    receipt.excerpt = std::string(text.substr(start));
    while (!receipt.excerpt.empty() && receipt.excerpt.back() == '\0') {
      receipt.excerpt.pop_back();
    }
  }
  return receipt;
}

std::optional<std::string> final_outbound_state(ReceiptState state) {
  switch (state) {
  case ReceiptState::delivered:
    return "delivered";
  case ReceiptState::expired:
    return "expired";
  case ReceiptState::deleted:
  case ReceiptState::undeliverable:
  case ReceiptState::rejected:
    return "undeliverable";
  case ReceiptState::unknown:
    return "unknown";
  case ReceiptState::enroute:
  case ReceiptState::accepted:
    return std::nullopt;
  }
  return std::nullopt;
}

} // namespace laporsms::smpp

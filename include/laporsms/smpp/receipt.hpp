// Delivery receipts (SMPP 3.4 §4.6.1 esm_class, Appendix B): which of our
// submit_sm they speak of, and what became of it.
#pragma once

#include <laporsms/smpp/pdu.hpp>

#include <optional>
#include <string>

namespace laporsms::smpp {

enum class ReceiptState {
  enroute,
  delivered,
  expired,
  deleted,
  undeliverable,
  accepted,
  unknown,
  rejected
};

struct Receipt {
  std::string message_id;
  ReceiptState state = ReceiptState::unknown;
  // The text form's "text:" field: the first characters of the message the
  // receipt speaks of (SMSCs vary; often 20, non-ASCII as '.'). Empty when
  // the receipt has no text form.
  std::string excerpt;
  bool operator==(const Receipt&) const = default;
};

// True when esm_class marks a delivery receipt or an intermediate notification.
bool is_receipt(std::uint8_t esm_class);

// Reads a receipt from the receipted_message_id and message_state TLVs, or
// failing those from the text form "id:… sub:… dlvrd:… … stat:DELIVRD …".
// nullopt when neither gives a message id and a state.
std::optional<Receipt> parse_receipt(const ShortMessageFields& message);

// The outbound state a final receipt leads to ("delivered", "undeliverable",
// "expired", "unknown"), or nullopt for a state that is not final.
std::optional<std::string> final_outbound_state(ReceiptState state);

} // namespace laporsms::smpp

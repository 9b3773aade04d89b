// What happens to one deliver_sm / data_sm: decode, understand, store in one
// transaction, and only then say ESME_ROK. A storage fault answers with a
// temporary error so the SMSC delivers again.
#pragma once

#include <laporsms/smpp/pdu.hpp>
#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/command.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/net.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace laporsms::app {

// The parts of the configuration that SIGHUP may replace.
struct RuntimePolicy {
  store::IntakePolicy intake; // keywords, limits, reply templates
};

class InboundHandler {
public:
  InboundHandler(store::Store& store, std::function<std::shared_ptr<const RuntimePolicy>()> policy,
                 std::function<void(const std::string& link, bool report_filed)> on_stored);

  // Handles one message from `link`; returns the command_status to answer with.
  awaitable<std::uint32_t> handle(std::string link, sms::DefaultCoding default_coding,
                                  smpp::ShortMessageFields message);

private:
  awaitable<std::uint32_t> handle_receipt(const std::string& link,
                                          const smpp::ShortMessageFields& message);

  store::Store& m_store;
  std::function<std::shared_ptr<const RuntimePolicy>()> m_policy;
  std::function<void(const std::string&, bool)> m_on_stored;
  bool m_store_failing = false; // logs a storage fault once per episode
};

// Builds the stored form of an MO: the text decoded (UDH stripped, or the
// message_payload TLV when present), the concatenation info from the UDH or
// the SAR TLVs, the sender normalised and the redelivery fingerprint. Pure.
store::InboundSms make_inbound(const std::string& link, sms::DefaultCoding default_coding,
                               const smpp::ShortMessageFields& message, std::int64_t now);

// A 64-bit FNV-1a hash of what makes two MO the same PDU: sender, recipient,
// data_coding, esm_class, the user data and the SAR TLVs. Pure.
std::int64_t mo_fingerprint(const smpp::ShortMessageFields& message,
                            std::span<const std::uint8_t> user_data);

} // namespace laporsms::app

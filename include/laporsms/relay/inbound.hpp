// What happens to one deliver_sm / data_sm: decode, understand, store in one
// transaction, and only then say ESME_ROK. A storage fault answers with a
// temporary error so the SMSC delivers again.
#pragma once

#include <laporsms/metrics/catalog.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/command.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/fault_episode.hpp>
#include <laporsms/util/net.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>

namespace laporsms::relay {

// The parts of the configuration that SIGHUP may replace.
struct RuntimePolicy {
  store::IntakePolicy intake; // keywords, limits, reply templates
};

// Where what the intake stored goes next, in memory (the database stays the
// truth: whatever is not taken here is claimed from it).
struct IntakeHandover {
  // What was reserved for one SMS before it is stored.
  struct Reserved {
    bool job = false; // a forwarder slot, for a report it may file
    // Room in the outbox of its link, for its reply.
    store::ReplyRoom reply = store::ReplyRoom::none;
  };
  // A forwarder slot for a report this SMS may file; true when one is held.
  std::function<bool()> reserve_job;
  // Room in the outbox of `link` for the reply it may cause.
  std::function<store::ReplyRoom(const std::string& link)> reserve_reply;
  // After the commit: the reply queued claimed and the job stored inflight
  // for what was reserved (what did not come is given back).
  std::function<void(const std::string& link, store::IntakeResult& result, Reserved reserved)>
      stored;
  // Nothing was stored: give back what was reserved.
  std::function<void(const std::string& link, Reserved reserved)> release;
};

class InboundHandler {
public:
  // `metrics` counts each MO acknowledged by kind and each receipt by state.
  InboundHandler(store::Store& store, std::function<std::shared_ptr<const RuntimePolicy>()> policy,
                 IntakeHandover handover, metrics::IntakeMetrics metrics = {});

  // Handles one message from `link`; returns the command_status to answer with.
  awaitable<std::uint32_t> handle(std::string link, sms::DefaultCoding default_coding,
                                  smpp::ShortMessageFields message);

private:
  awaitable<std::uint32_t> handle_receipt(const std::string& link,
                                          const smpp::ShortMessageFields& message);

  store::Store& m_store;
  std::function<std::shared_ptr<const RuntimePolicy>()> m_policy;
  IntakeHandover m_handover;
  metrics::IntakeMetrics m_metrics;
  // Ends the storage fault's episode once it has settled, when no MO comes
  // to find that out.
  awaitable<void> confirm_store_recovery();

  // A storage fault, logged once per episode. At a size cap a small write
  // still fits between refused ones: the episode ends only once writes have
  // gone on succeeding (util::k_store_fault_settle_ms).
  util::FaultEpisode m_store_fault{util::k_store_fault_settle_ms};
  bool m_confirming_recovery = false;
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

} // namespace laporsms::relay

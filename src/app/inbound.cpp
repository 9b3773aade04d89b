#include <laporsms/app/inbound.hpp>
#include <laporsms/smpp/receipt.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/sms/udh.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/outbox.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

namespace laporsms::app {

store::InboundSms make_inbound(const std::string& link, sms::DefaultCoding default_coding,
                               const smpp::ShortMessageFields& message, std::int64_t now) {
  store::InboundSms sms;
  sms.link = link;
  sms.received_at = now;
  sms.source_addr = message.source.addr;
  sms.msisdn = sms::normalize_msisdn(message.source.addr);
  sms.short_or_alphanumeric_sender = sms::is_short_or_alphanumeric(message.source.addr);
  sms.destination_addr = message.destination.addr;
  sms.data_coding = message.data_coding;
  sms.esm_class = message.esm_class;
  const auto* payload = smpp::find_tlv(message.tlvs, smpp::tlv_tag::message_payload);
  sms.raw = payload != nullptr ? payload->value : message.short_message;

  std::span<const std::uint8_t> body = sms.raw;
  if ((message.esm_class & sms::k_esm_udhi) != 0) {
    if (auto user_data = sms::split_user_data(sms.raw)) {
      body = user_data->body;
    } else {
      // A header we cannot read: keep the raw bytes, decode what is there.
      sms.had_invalid = true;
    }
  }
  auto decoded = sms::decode_text(message.data_coding, body, default_coding);
  sms.text = std::move(decoded.utf8);
  sms.had_invalid = sms.had_invalid || decoded.had_invalid;
  sms.binary = decoded.binary;
  return sms;
}

InboundHandler::InboundHandler(
    store::Store& store, std::function<std::shared_ptr<const RuntimePolicy>()> policy,
    std::function<void(const std::string& link, bool report_filed)> on_stored)
    : m_store(store), m_policy(std::move(policy)), m_on_stored(std::move(on_stored)) {}

awaitable<std::uint32_t> InboundHandler::handle(std::string link, sms::DefaultCoding default_coding,
                                                smpp::ShortMessageFields message) {
  if (smpp::is_receipt(message.esm_class)) {
    co_return co_await handle_receipt(link, message);
  }
  const auto policy = m_policy();
  auto sms = make_inbound(link, default_coding, message, util::now_ms());
  const auto command =
      sms::parse_command(sms.text, policy->keywords, policy->intake.min_report_chars);
  // Named, not a temporary inside the co_await: g++ 12 mishandles
  // non-trivial temporaries that live across a suspension point.
  auto file = [inbound = std::move(sms), command, policy](store::Connection& db) {
    return store::record_inbound(db, inbound, command, policy->intake);
  };
  try {
    auto filing = m_store.execute(std::move(file));
    const auto result = co_await std::move(filing);
    if (m_store_failing) {
      m_store_failing = false;
      log::info("store: writes succeed again");
    }
    if (result.report_id) {
      log::info("intake: report {} from {} on {}", result.ref,
                sms::mask_msisdn(sms::normalize_msisdn(message.source.addr)), link);
    }
    m_on_stored(link, result.job_queued);
    co_return smpp::status::ok;
  } catch (const store::SqliteError& e) {
    if (!m_store_failing) {
      m_store_failing = true;
      log::error("store: cannot write ({}); answering the SMSC with a temporary error until "
                 "it clears",
                 e.what());
    }
  } catch (const std::exception& e) {
    log::error("intake: storing a message from {} failed: {}",
               sms::mask_msisdn(sms::normalize_msisdn(message.source.addr)), e.what());
  }
  co_return smpp::status::temporary_app_error;
}

awaitable<std::uint32_t> InboundHandler::handle_receipt(const std::string& link,
                                                        const smpp::ShortMessageFields& message) {
  const auto receipt = smpp::parse_receipt(message);
  if (!receipt) {
    // Acknowledged all the same: a receipt we cannot read is not worth a
    // redelivery loop with the SMSC.
    log::warn("smsc {}: a delivery receipt without message id or state", link);
    co_return smpp::status::ok;
  }
  const auto state = smpp::final_outbound_state(receipt->state);
  if (!state) {
    co_return smpp::status::ok; // intermediate (ENROUTE, ACCEPTD)
  }
  try {
    auto record = [id = receipt->message_id, st = *state](store::Connection& db) {
      return store::record_receipt(db, id, st, util::now_ms());
    };
    const bool known = co_await m_store.execute(std::move(record));
    if (!known) {
      log::debug("smsc {}: receipt for message id {} we did not send", link, receipt->message_id);
    }
    co_return smpp::status::ok;
  } catch (const std::exception& e) {
    log::error("store: cannot record a delivery receipt: {}", e.what());
  }
  co_return smpp::status::temporary_app_error;
}

} // namespace laporsms::app

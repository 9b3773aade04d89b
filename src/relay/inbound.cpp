#include <laporsms/relay/inbound.hpp>
#include <laporsms/smpp/receipt.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/sms/udh.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/outbox.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>
#include <chrono>

namespace laporsms::relay {

namespace {

class Fnv1a {
public:
  void add(std::span<const std::uint8_t> bytes) {
    for (const auto b : bytes) {
      m_hash = (m_hash ^ b) * 0x100000001b3ULL;
    }
  }
  void add(std::string_view text) {
    add(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    add_byte(0); // keeps "ab"+"c" apart from "a"+"bc"
  }
  void add_byte(std::uint8_t b) { add(std::span(&b, 1)); }
  std::uint64_t value() const { return m_hash; }

private:
  std::uint64_t m_hash = 0xcbf29ce484222325ULL;
};

std::optional<sms::ConcatInfo> sar_info(const std::vector<smpp::Tlv>& tlvs) {
  const auto* ref = smpp::find_tlv(tlvs, smpp::tlv_tag::sar_msg_ref_num);
  const auto* total = smpp::find_tlv(tlvs, smpp::tlv_tag::sar_total_segments);
  const auto* seq = smpp::find_tlv(tlvs, smpp::tlv_tag::sar_segment_seqnum);
  if (ref == nullptr || total == nullptr || seq == nullptr || ref->value.size() != 2 ||
      total->value.size() != 1 || seq->value.size() != 1) {
    return std::nullopt;
  }
  sms::ConcatInfo info;
  info.reference = static_cast<std::uint16_t>((ref->value[0] << 8) | ref->value[1]);
  info.total = total->value[0];
  info.sequence = seq->value[0];
  if (info.total == 0 || info.sequence == 0 || info.sequence > info.total) {
    return std::nullopt;
  }
  return info;
}

// The state word of SMPP 3.4 Appendix B, as receipts carry it.
std::string_view receipt_state_word(smpp::ReceiptState state) {
  switch (state) {
  case smpp::ReceiptState::enroute:
    return "ENROUTE";
  case smpp::ReceiptState::delivered:
    return "DELIVRD";
  case smpp::ReceiptState::expired:
    return "EXPIRED";
  case smpp::ReceiptState::deleted:
    return "DELETED";
  case smpp::ReceiptState::undeliverable:
    return "UNDELIV";
  case smpp::ReceiptState::accepted:
    return "ACCEPTD";
  case smpp::ReceiptState::unknown:
    return "UNKNOWN";
  case smpp::ReceiptState::rejected:
    return "REJECTD";
  }
  return "UNKNOWN";
}

// What an acknowledged MO was, for laporsms_mo_total{kind}. A long SMS is
// a "part" until its last part arrives, then what the whole of it filed.
std::string_view mo_kind(const store::InboundSms& sms, const store::IntakeResult& result,
                         const store::IntakePolicy& policy) {
  if (result.redelivery) {
    return "redelivery";
  }
  if (result.part_waiting || result.duplicate_part) {
    return "part";
  }
  if (sms.concat) {
    return result.report_id ? "report" : "unknown";
  }
  switch (sms::parse_command(sms.text, policy.keywords, policy.min_report_chars).kind) {
  case sms::CommandKind::report:
    return "report";
  case sms::CommandKind::empty_report:
    return "empty_report";
  case sms::CommandKind::status:
    return "status";
  case sms::CommandKind::help:
    return "help";
  case sms::CommandKind::unknown:
    break;
  }
  return "unknown";
}

} // namespace

std::int64_t mo_fingerprint(const smpp::ShortMessageFields& message,
                            std::span<const std::uint8_t> user_data) {
  Fnv1a h;
  h.add(message.source.addr);
  h.add(message.destination.addr);
  h.add_byte(message.data_coding);
  h.add_byte(message.esm_class);
  h.add(user_data);
  for (const auto tag : {smpp::tlv_tag::sar_msg_ref_num, smpp::tlv_tag::sar_total_segments,
                         smpp::tlv_tag::sar_segment_seqnum}) {
    if (const auto* tlv = smpp::find_tlv(message.tlvs, tag)) {
      h.add(tlv->value);
    }
  }
  return static_cast<std::int64_t>(h.value());
}

store::InboundSms make_inbound(const std::string& link, sms::DefaultCoding default_coding,
                               const smpp::ShortMessageFields& message, std::int64_t now) {
  store::InboundSms sms;
  sms.link = link;
  sms.received_at = now;
  sms.source_addr = message.source.addr;
  sms.msisdn = sms::normalize_msisdn(message.source.addr, message.source.ton);
  sms.short_or_alphanumeric_sender =
      sms::is_short_or_alphanumeric(message.source.addr, message.source.ton);
  sms.destination_addr = message.destination.addr;
  sms.data_coding = message.data_coding;
  sms.esm_class = message.esm_class;
  sms.default_coding = default_coding;
  const auto* payload = smpp::find_tlv(message.tlvs, smpp::tlv_tag::message_payload);
  sms.raw = payload != nullptr ? payload->value : message.short_message;
  sms.fingerprint = mo_fingerprint(message, sms.raw);

  std::span<const std::uint8_t> body = sms.raw;
  if ((message.esm_class & sms::k_esm_udhi) != 0) {
    if (auto user_data = sms::split_user_data(sms.raw)) {
      body = user_data->body;
      sms.concat = user_data->concat;
    } else {
      // A header we cannot read: keep the raw bytes, decode what is there.
      sms.had_invalid = true;
    }
  }
  if (!sms.concat) {
    sms.concat = sar_info(message.tlvs);
  }
  sms.body.assign(body.begin(), body.end());
  auto decoded = sms::decode_text(message.data_coding, body, default_coding);
  sms.text = std::move(decoded.utf8);
  sms.had_invalid = sms.had_invalid || decoded.had_invalid;
  sms.binary = decoded.binary;
  return sms;
}

InboundHandler::InboundHandler(store::Store& store,
                               std::function<std::shared_ptr<const RuntimePolicy>()> policy,
                               IntakeHandover handover, metrics::IntakeMetrics metrics)
    : m_store(store), m_policy(std::move(policy)), m_handover(std::move(handover)),
      m_metrics(metrics) {}

awaitable<std::uint32_t> InboundHandler::handle(std::string link, sms::DefaultCoding default_coding,
                                                smpp::ShortMessageFields message) {
  if (smpp::is_receipt(message.esm_class)) {
    co_return co_await handle_receipt(link, message);
  }
  const auto policy = m_policy();
  auto sms = make_inbound(link, default_coding, message, util::now_ms());
  const auto msisdn = sms::mask_msisdn(sms.msisdn); // for the log
  // What the metrics need of it, kept: the task takes `sms` itself.
  store::InboundSms facts;
  facts.text = sms.binary ? std::string() : sms.text;
  facts.concat = sms.concat;
  IntakeHandover::Reserved reserved;
  reserved.job = m_handover.reserve_job && m_handover.reserve_job();
  if (m_handover.reserve_reply) {
    reserved.reply = m_handover.reserve_reply(link);
  }
  sms.hand_over_job = reserved.job;
  sms.reply_room = reserved.reply;
  // Named, not a temporary inside the co_await: g++ 12 mishandles
  // non-trivial temporaries that live across a suspension point.
  auto file = [inbound = std::move(sms), policy](store::Connection& db) {
    return store::record_inbound(db, inbound, policy->intake);
  };
  // Only the filing itself can fail here: once it committed, the MO is
  // stored, whatever happens next, and what was reserved is used or given
  // back by `stored`.
  store::IntakeResult result;
  bool filed = false;
  try {
    auto filing = m_store.execute(std::move(file));
    result = co_await std::move(filing);
    filed = true;
  } catch (const store::SqliteError& e) {
    if (m_store_fault.failed(util::now_ms())) {
      log::error("store: cannot write; answering the SMSC with a temporary error until it clears",
                 {{"link", link}, {"error", e.what()}});
    }
  } catch (const std::exception& e) {
    log::error("intake: storing a message failed",
               {{"link", link}, {"msisdn", msisdn}, {"error", e.what()}});
  }
  if (!filed) {
    if (m_handover.release) {
      m_handover.release(link, reserved);
    }
    co_return smpp::status::temporary_app_error;
  }
  if (m_handover.stored) {
    m_handover.stored(link, result, reserved);
  }
  if (m_store_fault.cleared(util::now_ms())) {
    log::info("store: writes succeed again");
  } else if (m_store_fault.settles_at() && !m_confirming_recovery) {
    m_confirming_recovery = true;
    asio::co_spawn(co_await asio::this_coro::executor, confirm_store_recovery(), asio::detached);
  }
  const auto kind = mo_kind(facts, result, policy->intake);
  m_metrics.mo(link, kind);
  if (result.redelivery) {
    log::info("intake: redelivered an MO already stored; acknowledged again",
              {{"link", link}, {"msisdn", msisdn}});
  } else if (result.report_id) {
    log::info("intake: report filed", {{"link", link},
                                       {"ref", result.ref},
                                       {"msisdn", msisdn},
                                       {"replies", result.replies_queued}});
  } else {
    log::info(
        "intake: MO stored",
        {{"link", link}, {"msisdn", msisdn}, {"kind", kind}, {"replies", result.replies_queued}});
  }
  co_return smpp::status::ok;
}

awaitable<void> InboundHandler::confirm_store_recovery() {
  // The frame holds no more than the timer: destroyed with the io_context
  // at shutdown, it never touches the handler again.
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (const auto at = m_store_fault.settles_at()) {
    timer.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, *at - util::now_ms())));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      co_return;
    }
    if (m_store_fault.settle(util::now_ms())) {
      log::info("store: writes succeed again");
    }
  }
  m_confirming_recovery = false;
}

awaitable<std::uint32_t> InboundHandler::handle_receipt(const std::string& link,
                                                        const smpp::ShortMessageFields& message) {
  const auto receipt = smpp::parse_receipt(message);
  if (!receipt) {
    // Acknowledged all the same: a receipt we cannot read is not worth a
    // redelivery loop with the SMSC.
    log::warn("smsc: a delivery receipt without message id or state", {{"link", link}});
    m_metrics.receipt(link, "unreadable");
    co_return smpp::status::ok;
  }
  const auto state = smpp::final_outbound_state(receipt->state);
  if (!state) {
    m_metrics.receipt(link, receipt_state_word(receipt->state));
    co_return smpp::status::ok; // intermediate (ENROUTE, ACCEPTD)
  }
  try {
    store::ReceiptRecord facts{link, receipt->message_id, *state,
                               sms::normalize_msisdn(message.source.addr), receipt->excerpt};
    auto record = [facts = std::move(facts)](store::Connection& db) {
      return store::record_receipt(db, facts, util::now_ms());
    };
    const bool known = co_await m_store.execute(std::move(record));
    if (!known) {
      log::debug("smsc: a receipt for a message we did not send",
                 {{"link", link}, {"message_id", receipt->message_id}});
    }
    m_metrics.receipt(link, receipt_state_word(receipt->state));
    co_return smpp::status::ok;
  } catch (const std::exception& e) {
    log::error("store: cannot record a delivery receipt", {{"link", link}, {"error", e.what()}});
  }
  co_return smpp::status::temporary_app_error;
}

} // namespace laporsms::relay

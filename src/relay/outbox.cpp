#include <laporsms/relay/outbox.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/store/outbox.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>

namespace laporsms::relay {

using namespace std::chrono_literals;

OutboxSender::OutboxSender(asio::any_io_executor executor, store::Store& store,
                           smpp::Session& session, OutboxOptions options,
                           std::function<std::vector<std::string>()> borrowed_links,
                           metrics::LinkMetrics metrics)
    : m_executor(executor), m_store(store), m_session(session), m_options(std::move(options)),
      m_borrowed_links(std::move(borrowed_links)), m_metrics(std::move(metrics)),
      m_wakeup(executor) {}

unsigned OutboxSender::max_in_progress() const {
  // Two windows' worth in progress keeps the window full while the store
  // records the previous results.
  return 2 * std::max(1U, m_session.config().window);
}

store::ReplyRoom OutboxSender::reserve() {
  // Never while a claim is out: what it takes is not counted yet, and a
  // reply it leaves behind is older than this one.
  if (!m_gate.admit(!m_stopping && m_pause == 0ms && m_session.can_transmit() &&
                    m_in_progress < max_in_progress())) {
    return store::ReplyRoom::none; // the reply goes to the queue: claimed when room frees
  }
  ++m_in_progress;
  if (auto ticket = m_session.reserve_submit()) {
    m_tickets.push_back(std::move(*ticket));
    return store::ReplyRoom::started;
  }
  return store::ReplyRoom::claimed;
}

void OutboxSender::take(store::OutboundItem item) {
  // Counted in m_in_progress since reserve(). Queued claimed: if this send
  // never starts (a stop), start-up recovery puts it back to the queue (or,
  // started, leaves it in doubt).
  std::optional<smpp::SubmitTicket> ticket;
  if (item.started) {
    ticket = take_ticket();
    if (!ticket) {
      // Cannot happen (a started reply comes only for a ticket reserved); if
      // it did, the reply would wait marked started: said loudly.
      log::error("outbox: a reply marked started came without its submit ticket",
                 {{"link", m_session.config().name}, {"reply", item.id}});
    }
  }
  asio::co_spawn(m_executor, send(std::move(item), std::move(ticket)), asio::detached);
}

std::optional<smpp::SubmitTicket> OutboxSender::take_ticket() {
  if (m_tickets.empty()) {
    return std::nullopt;
  }
  // Tickets taken before the link bound again hold a connection that is
  // gone: any ticket serves any reply, so a live one goes first.
  auto it = std::find_if(m_tickets.begin(), m_tickets.end(),
                         [](const smpp::SubmitTicket& t) { return t.usable(); });
  if (it == m_tickets.end()) {
    it = m_tickets.begin(); // sent on it: not_sent, back in the queue
  }
  std::optional<smpp::SubmitTicket> ticket(std::move(*it));
  m_tickets.erase(it);
  return ticket;
}

void OutboxSender::release(store::ReplyRoom room) {
  if (room == store::ReplyRoom::started) {
    take_ticket(); // dropped: its slot and token go back
  }
  --m_in_progress;
  if (m_gate.backlog()) {
    m_wakeup.notify();
  }
}

awaitable<void> OutboxSender::run() {
  const auto& link = m_session.config().name;
  const unsigned max_in_progress = this->max_in_progress();
  while (!m_stopping) {
    if (m_pause > 0ms) {
      asio::steady_timer timer(m_executor);
      timer.expires_after(m_pause);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (!m_session.can_transmit() || m_in_progress >= max_in_progress) {
      co_await m_wakeup.wait(1s);
      continue;
    }
    std::vector<store::OutboundItem> items;
    bool read_failed = false;
    try {
      const auto now = util::now_ms();
      const auto limit = max_in_progress - m_in_progress;
      const auto expire_before = now - m_options.max_age.count();
      std::vector<std::string> links{link};
      if (m_borrowed_links) {
        for (auto& other : m_borrowed_links()) {
          links.push_back(std::move(other));
        }
      }
      m_gate.claim_started();
      auto claim = [&links, limit, now, expire_before](store::Connection& db) {
        // Our own replies first, then those of down links we stand in for.
        std::pair<std::vector<store::OutboundItem>, int> claimed;
        for (const auto& name : links) {
          if (claimed.first.size() >= limit) {
            break;
          }
          auto more = store::claim_outbound(db, name, limit - claimed.first.size(), now,
                                            expire_before, &claimed.second);
          std::move(more.begin(), more.end(), std::back_inserter(claimed.first));
        }
        return claimed;
      };
      auto [claimed, expired] =
          co_await m_store.execute(std::move(claim), store::Durability::written);
      items = std::move(claimed);
      m_gate.claim_ended(items.size() >= limit);
      if (m_read_fault.cleared(util::now_ms())) {
        log::info("outbox: reads the queue again", {{"link", link}});
      }
      m_metrics.reply("expired", static_cast<std::uint64_t>(std::max(expired, 0)));
      if (expired > 0) {
        log::warn(
            "outbox: replies older than reply_max_age expired, not sent",
            {{"link", link}, {"count", expired}, {"reply_max_age_ms", m_options.max_age.count()}});
      }
    } catch (const std::exception& e) {
      if (m_read_fault.failed(util::now_ms())) {
        log::error("outbox: cannot read the queue; retrying every second, logged again when it "
                   "reads",
                   {{"link", link}, {"error", e.what()}});
      } else {
        log::debug("outbox: cannot read the queue", {{"link", link}, {"error", e.what()}});
      }
      read_failed = true;
      m_gate.claim_failed();
    }
    if (read_failed) {
      co_await m_wakeup.wait(1s);
      continue;
    }
    for (auto& item : items) {
      ++m_in_progress;
      asio::co_spawn(m_executor, send(std::move(item), std::nullopt), asio::detached);
    }
    if (items.empty()) {
      co_await m_wakeup.wait(5s);
    }
  }
}

awaitable<void> OutboxSender::send(store::OutboundItem item,
                                   std::optional<smpp::SubmitTicket> ticket) {
  const auto parts = sms::encode_reply(item.text, static_cast<std::uint8_t>(item.id & 0xFF));
  std::vector<std::string> message_ids;
  smpp::SubmitResult last;
  auto& store = m_store;
  const auto id = item.id;
  // Recorded, and committed, right before the first part leaves: a crash
  // after this point leaves the reply in doubt, never silently resent. A
  // reply handed over started was marked in the commit that queued it, and
  // its first part leaves on the ticket held since, without waiting.
  const auto part_count = parts.size();
  smpp::Session::BeforeWrite mark_started = [&store, id, part_count]() -> awaitable<bool> {
    auto mark = [id, part_count](store::Connection& db) {
      store::mark_submit_started(db, id, part_count, util::now_ms());
      return true;
    };
    co_return co_await store.execute(std::move(mark));
  };
  for (const auto& part : parts) {
    smpp::SubmitSm pdu;
    pdu.source = {m_options.source_addr_ton, m_options.source_addr_npi, m_options.source_addr};
    pdu.destination = {1, 1, item.msisdn}; // international, E.164
    pdu.esm_class = part.esm_class;
    pdu.data_coding = part.data_coding;
    pdu.registered_delivery = 1; // a receipt tells us delivered or not
    pdu.short_message = part.short_message;
    // Named, not a temporary in the co_await expression (g++ 12 frees such
    // temporaries twice).
    if (ticket) {
      auto reserved = std::move(*ticket);
      ticket.reset();
      last = co_await m_session.submit_reserved(std::move(reserved), std::move(pdu));
    } else {
      smpp::Session::BeforeWrite before_write;
      if (message_ids.empty() && !item.started) {
        before_write = mark_started;
      }
      last = co_await m_session.submit(std::move(pdu), std::move(before_write));
    }
    if (last.status != smpp::SubmitStatus::accepted) {
      break;
    }
    message_ids.push_back(last.message_id);
  }
  const auto now = util::now_ms();
  const auto link = m_session.config().name;
  store::Store::Task record;
  if (message_ids.size() == parts.size()) {
    record = [id, link, message_ids, now](store::Connection& db) {
      store::record_submitted(db, id, link, message_ids, now);
      return true;
    };
    m_pause = m_pause / 2 < 10ms ? 0ms : m_pause / 2;
    m_metrics.reply("submitted");
    log::info("outbox: reply submitted", {{"link", link},
                                          {"reply", id},
                                          {"msisdn", sms::mask_msisdn(item.msisdn)},
                                          {"parts", part_count},
                                          {"message_id", message_ids.front()}});
  } else if (!message_ids.empty() || last.status == smpp::SubmitStatus::no_response) {
    // Some or all of it may have reached the SMSC: never resend blindly.
    const auto error = message_ids.empty()
                           ? last.error
                           : fmt::format("{} of {} parts sent; then: {}", message_ids.size(),
                                         parts.size(), last.error);
    log::warn("outbox: reply left in doubt", {{"link", link},
                                              {"reply", id},
                                              {"msisdn", sms::mask_msisdn(item.msisdn)},
                                              {"error", error}});
    m_metrics.reply("in_doubt");
    record = [id, link, message_ids, part_count, error, now](store::Connection& db) {
      store::record_submit_unknown(db, id, link, message_ids, part_count, error, now);
      return true;
    };
  } else {
    const bool permanent = last.status == smpp::SubmitStatus::rejected_permanent;
    if (last.status == smpp::SubmitStatus::rejected_temporary) {
      // Throttled or queue full: slow down, then recover as answers succeed.
      // Double at most once per pause: a window of throttled answers to
      // the same burst is one signal, not ten.
      const auto since_last = std::chrono::steady_clock::now() - m_last_throttle;
      if (since_last >= m_pause) {
        m_pause = std::clamp<std::chrono::milliseconds>(m_pause * 2, 100ms, 10s);
        m_last_throttle = std::chrono::steady_clock::now();
      }
      log::warn("outbox: the SMSC asks us to slow down; pausing",
                {{"link", link}, {"pause_ms", m_pause.count()}, {"error", last.error}});
    } else if (permanent) {
      log::warn("outbox: reply refused by the SMSC", {{"link", link},
                                                      {"reply", id},
                                                      {"msisdn", sms::mask_msisdn(item.msisdn)},
                                                      {"error", last.error}});
    }
    m_metrics.reply(permanent ? "refused" : "retry");
    record = [id, error = last.error, permanent, now](store::Connection& db) {
      store::record_submit_failed(db, id, error, permanent, now);
      return true;
    };
    if (!permanent) {
      m_gate.mark_backlog(); // back in the queue
    }
  }
  // What the SMSC said must reach the database: until it does, the reply
  // stays claimed here (a full disk clears; a crash leaves it in doubt).
  const auto what = fmt::format("reply {} on {}", id, link);
  // Not fsync'd on its own, and riding the next commit (the writer syncs it
  // within sync_written_after): lost to a power cut, the reply is merely in
  // doubt after recovery, and its receipt settles it. But a reply marked
  // started that never left must be back in the queue on the disk at once:
  // found started after a crash it would be judged in doubt, never sent.
  const bool never_left = message_ids.empty() && last.status == smpp::SubmitStatus::not_sent;
  const auto durability = never_left ? store::Durability::fsynced : store::Durability::written;
  const auto urgency = never_left ? store::Urgency::now : store::Urgency::rides;
  const std::function<bool()> keep_trying = [this] { return !m_stopping; };
  co_await m_store.execute_until_stored(record, what, keep_trying, durability, urgency);
  --m_in_progress;
  if (m_gate.backlog()) {
    m_wakeup.notify();
  }
}

} // namespace laporsms::relay

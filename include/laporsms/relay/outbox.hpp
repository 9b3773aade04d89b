// The outbox sender of one link: takes queued replies from the store, oldest
// first, turns each into submit_sm parts and records what the SMSC said.
// It waits while the link is down and backs off when the SMSC throttles.
#pragma once

#include <laporsms/smpp/session.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/fault_episode.hpp>
#include <laporsms/util/handover_gate.hpp>
#include <laporsms/util/net.hpp>
#include <laporsms/util/wakeup.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace laporsms::relay {

struct OutboxOptions {
  std::string source_addr = "1708";
  std::uint8_t source_addr_ton = 3;
  std::uint8_t source_addr_npi = 0;
  // Replies older than this are not sent at all (marked expired).
  std::chrono::milliseconds max_age{std::chrono::hours(24)};
};

class OutboxSender {
public:
  // `borrowed_links` names the links whose replies this one carries right
  // now: those that name it as their `fallback` and are down.
  OutboxSender(asio::any_io_executor executor, store::Store& store, smpp::Session& session,
               OutboxOptions options, std::function<std::vector<std::string>()> borrowed_links = {},
               metrics::LinkMetrics metrics = {});

  awaitable<void> run();
  // A reply was queued, or the link came up: look now (and hand nothing
  // newer over until the claim has it).
  void wake() {
    m_gate.mark_backlog();
    m_wakeup.notify();
  }
  // The hand-over in memory, for a reply about to be queued: reserve() holds
  // room when the link can send now (bound, room in the window, not
  // throttled, nothing older waiting), and a submit ticket too when its
  // submit_sm could leave at once (ReplyRoom::started); the store then
  // queues the reply claimed (and started) and take() sends it without a
  // claim (or a mark) of its own; release() gives back what reserve() held
  // when no reply came.
  store::ReplyRoom reserve();
  void take(store::OutboundItem item);
  void release(store::ReplyRoom room);
  void stop() {
    m_stopping = true;
    m_wakeup.notify();
  }
  unsigned in_progress() const { return m_in_progress; }

private:
  awaitable<void> send(store::OutboundItem item, std::optional<smpp::SubmitTicket> ticket);
  // One of the tickets held, a usable one first.
  std::optional<smpp::SubmitTicket> take_ticket();
  unsigned max_in_progress() const;

  asio::any_io_executor m_executor;
  store::Store& m_store;
  smpp::Session& m_session;
  OutboxOptions m_options;
  std::function<std::vector<std::string>()> m_borrowed_links;
  metrics::LinkMetrics m_metrics; // the link that carries the replies
  util::Wakeup m_wakeup;
  bool m_stopping = false;
  unsigned m_in_progress = 0;
  // Held for replies reserved as ReplyRoom::started until they come (or do
  // not); any one serves any reply of this link (take_ticket() prefers one
  // on the connection bound now).
  std::deque<smpp::SubmitTicket> m_tickets;
  // Replies may wait in the database unclaimed (the last claim filled its
  // limit, a reservation was refused, a send was put back): run() claims
  // again when a send ends, and no reply is handed over ahead of them.
  util::HandoverGate m_gate;
  // the queue cannot be read; over once reads go on succeeding
  util::FaultEpisode m_read_fault{util::k_store_fault_settle_ms};
  // Grows while the SMSC answers "throttled" or "queue full", shrinks on success.
  std::chrono::milliseconds m_pause{0};
  std::chrono::steady_clock::time_point m_last_throttle{};
};

} // namespace laporsms::relay

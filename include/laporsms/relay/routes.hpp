// Where the stages hand their work to one another in memory: which outbox
// carries the replies of a link (its own, or its fallback's while it is
// down), and what the intake stored going straight to an outbox and the
// forwarder. The one place in relay/ that knows every stage; the stages
// themselves only see the callbacks built here.
#pragma once

#include <laporsms/relay/forwarder.hpp>
#include <laporsms/relay/inbound.hpp>
#include <laporsms/relay/outbox.hpp>
#include <laporsms/smpp/session.hpp>
#include <laporsms/store/records.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace laporsms::relay {

class Routes {
public:
  struct Link {
    std::string name;
    std::string fallback; // the link that carries its replies while it is down; may be empty
    smpp::Session* session = nullptr;
    OutboxSender* outbox = nullptr;
  };

  void add_link(Link link) { m_links.push_back(std::move(link)); }
  void set_forwarder(Forwarder& forwarder) { m_forwarder = &forwarder; }

  // The links down now that name `name` as their fallback: whose replies its
  // outbox carries.
  std::vector<std::string> down_links_falling_back_to(const std::string& name) const;

  // Room in the outbox of `link` for a reply about to be queued.
  store::ReplyRoom reserve_reply(const std::string& link);
  // A reply was queued on `link`: the one stored claimed for the room
  // reserved goes to its outbox; with none, the room goes back and the
  // outboxes that may carry the queue look.
  void reply_queued(const std::string& link, std::optional<store::OutboundItem> reply,
                    store::ReplyRoom reserved);
  // Replies wait in the queue of `link`: its outbox looks, and its
  // fallback's while `link` cannot transmit.
  void wake_outbox(const std::string& link);
  void wake_all_outboxes();
  void wake_forwarder();

  // The intake's hand-over: a forwarder slot and outbox room reserved before
  // the commit, what was stored handed over after it. `stored` is told of
  // every MO stored (laporctl's throughput).
  IntakeHandover intake_handover(std::function<void()> stored);
  // The forwarder's, for the reply an outcome queues.
  Forwarder::ReplyHandover reply_handover();

private:
  const Link* find(const std::string& name) const;
  // The reply stored claimed goes to the room reserved; whether one went.
  bool hand_over_reply(const std::string& link, std::optional<store::OutboundItem> reply,
                       store::ReplyRoom reserved);
  // After the intake's commit.
  void intake_stored(const std::string& link, store::IntakeResult& result,
                     IntakeHandover::Reserved reserved);

  std::vector<Link> m_links;
  Forwarder* m_forwarder = nullptr;
};

} // namespace laporsms::relay

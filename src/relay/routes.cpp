#include <laporsms/relay/routes.hpp>

namespace laporsms::relay {

const Routes::Link* Routes::find(const std::string& name) const {
  for (const auto& link : m_links) {
    if (link.name == name) {
      return &link;
    }
  }
  return nullptr;
}

std::vector<std::string> Routes::down_links_falling_back_to(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& link : m_links) {
    if (link.fallback == name && !link.session->can_transmit()) {
      names.push_back(link.name);
    }
  }
  return names;
}

store::ReplyRoom Routes::reserve_reply(const std::string& link) {
  const auto* found = find(link);
  return found != nullptr ? found->outbox->reserve() : store::ReplyRoom::none;
}

bool Routes::hand_over_reply(const std::string& link, std::optional<store::OutboundItem> reply,
                             store::ReplyRoom reserved) {
  const auto* found = reserved != store::ReplyRoom::none ? find(link) : nullptr;
  if (found == nullptr) {
    return false;
  }
  if (reply) {
    found->outbox->take(std::move(*reply));
    return true;
  }
  found->outbox->release(reserved);
  return false;
}

void Routes::reply_queued(const std::string& link, std::optional<store::OutboundItem> reply,
                          store::ReplyRoom reserved) {
  if (!hand_over_reply(link, std::move(reply), reserved)) {
    wake_outbox(link);
  }
}

void Routes::wake_outbox(const std::string& link) {
  const auto* own = find(link);
  if (own == nullptr) {
    return;
  }
  own->outbox->wake();
  if (!own->fallback.empty() && !own->session->can_transmit()) {
    if (const auto* fallback = find(own->fallback)) {
      fallback->outbox->wake(); // it carries `link`'s replies while `link` is down
    }
  }
}

void Routes::wake_all_outboxes() {
  for (const auto& link : m_links) {
    link.outbox->wake();
  }
}

void Routes::wake_forwarder() {
  if (m_forwarder != nullptr) {
    m_forwarder->wake();
  }
}

void Routes::intake_stored(const std::string& link, store::IntakeResult& result,
                           IntakeHandover::Reserved reserved) {
  // The reply stored claimed for the room reserved; any other waits in the
  // queue.
  std::optional<store::OutboundItem> reply;
  if (!result.replies.empty()) {
    reply = std::move(result.replies.front());
  }
  const bool queued_more = result.replies_queued > static_cast<int>(result.replies.size());
  hand_over_reply(link, std::move(reply), reserved.reply);
  if (queued_more) {
    wake_outbox(link);
  }
  if (result.job) {
    result.job->replies_handed_over = !queued_more;
    m_forwarder->take(std::move(*result.job));
  } else {
    if (reserved.job) {
      m_forwarder->release();
    }
    if (result.job_queued) {
      m_forwarder->wake();
    }
  }
}

IntakeHandover Routes::intake_handover(std::function<void()> stored) {
  IntakeHandover handover;
  handover.reserve_job = [this] { return m_forwarder->reserve(); };
  handover.reserve_reply = [this](const std::string& link) { return reserve_reply(link); };
  handover.release = [this](const std::string& link, IntakeHandover::Reserved reserved) {
    if (reserved.job) {
      m_forwarder->release();
    }
    if (reserved.reply != store::ReplyRoom::none) {
      reply_queued(link, std::nullopt, reserved.reply);
    }
  };
  handover.stored = [this, stored = std::move(stored)](const std::string& link,
                                                       store::IntakeResult& result,
                                                       IntakeHandover::Reserved reserved) {
    if (stored) {
      stored();
    }
    intake_stored(link, result, reserved);
  };
  return handover;
}

Forwarder::ReplyHandover Routes::reply_handover() {
  return {[this](const std::string& link) { return reserve_reply(link); },
          [this](const std::string& link, std::optional<store::OutboundItem> reply,
                 store::ReplyRoom reserved) { reply_queued(link, std::move(reply), reserved); }};
}

} // namespace laporsms::relay

#include <laporsms/smpp/connection.hpp>
#include <laporsms/smpp/session.hpp>
#include <laporsms/util/backoff.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>
#include <utility>

namespace laporsms::smpp {

using namespace std::chrono_literals;

std::string_view link_state_name(LinkState state) {
  switch (state) {
  case LinkState::down:
    return "down";
  case LinkState::binding:
    return "binding";
  case LinkState::bound:
    return "bound";
  }
  return "down";
}

Session::Session(asio::any_io_executor executor, SessionConfig config, InboundHandler on_inbound,
                 metrics::LinkMetrics metrics)
    : m_executor(std::move(executor)), m_config(std::move(config)),
      m_on_inbound(std::move(on_inbound)), m_metrics(std::move(metrics)),
      m_tls_context(asio::ssl::context::tls_client), m_receiver_wait(m_executor),
      m_transmitter_wait(m_executor), m_since_ms(util::now_ms()), m_rng(std::random_device{}()),
      m_allowed_in_flight(std::max(1U, m_config.window)),
      m_gate_wake(m_executor, std::chrono::steady_clock::time_point::max()) {
  if (m_config.tls) {
    m_tls_context.set_options(asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                              asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    m_tls_context.set_default_verify_paths();
    if (!m_config.tls_ca_file.empty()) {
      m_tls_context.load_verify_file(m_config.tls_ca_file); // throws: a config error
    }
  }
}

Session::~Session() {
  *m_alive = nullptr;
}

std::uint32_t Session::next_sequence() {
  return m_sequence.next();
}

void Session::note_error(std::string error) {
  m_last_error = std::move(error); // the connection logged it
}

std::shared_ptr<Connection> Session::transmitting() const {
  return m_config.layout == BindLayout::transceiver ? m_receiver : m_transmitter;
}

bool Session::can_transmit() const {
  const auto tx = transmitting();
  return tx && tx->bound();
}

std::chrono::microseconds Session::submit_spacing() const {
  return std::chrono::microseconds(1000000 / std::max(1U, m_config.submit_rate));
}

void Session::set_state() {
  LinkState state = LinkState::down;
  const bool rx = m_receiver && m_receiver->bound();
  const bool tx =
      m_config.layout == BindLayout::transceiver ? rx : (m_transmitter && m_transmitter->bound());
  if (rx && tx) {
    state = LinkState::bound;
  } else if (m_running > 0 && !m_stopping) {
    state = LinkState::binding;
  }
  if (state != m_state) {
    m_state = state;
    m_since_ms = util::now_ms();
    if (state == LinkState::bound) {
      m_last_error.reset();
    }
  }
  if (tx && m_on_bound) {
    m_on_bound();
  }
  if (m_was_transmitting && !tx && m_on_down) {
    m_on_down();
  }
  m_was_transmitting = tx;
}

awaitable<void> Session::run() {
  if (m_config.layout == BindLayout::transceiver) {
    co_await run_connection(BindMode::transceiver);
    co_return;
  }
  // receiver+transmitter: two connections, each with its own reconnect loop;
  // the session counts as bound when both are.
  auto ex = m_executor;
  bool transmitter_done = false;
  asio::steady_timer done_wake(ex);
  asio::co_spawn(
      ex,
      [this, &transmitter_done, &done_wake]() -> awaitable<void> {
        co_await run_connection(BindMode::transmitter);
        transmitter_done = true;
        done_wake.cancel();
      },
      asio::detached);
  co_await run_connection(BindMode::receiver);
  while (!transmitter_done) {
    boost::system::error_code ec;
    done_wake.expires_after(1s);
    co_await done_wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> Session::run_connection(BindMode mode) {
  ++m_running;
  unsigned failures = 0;
  auto& slot = mode == BindMode::transmitter ? m_transmitter : m_receiver;
  while (!m_stopping) {
    auto connection = std::make_shared<Connection>(*this, mode);
    slot = connection;
    set_state();
    const bool bound = co_await connection->open();
    if (bound && !m_stopping) {
      failures = 0;
      set_state();
      co_await connection->serve();
      if (!m_stopping) {
        ++m_reconnects;
        m_metrics.reconnected();
        log::warn("smsc: connection lost; reconnecting",
                  {{"link", m_config.name}, {"bind", bind_mode_name(mode)}});
      }
    } else {
      connection->close("open failed");
    }
    set_state();
    if (m_stopping) {
      break;
    }
    ++failures;
    const auto delay = bound ? m_config.reconnect_min
                             : util::backoff_delay(m_config.reconnect_min, m_config.reconnect_max,
                                                   failures, m_rng);
    log::info("smsc: next connection attempt",
              {{"link", m_config.name}, {"bind", bind_mode_name(mode)}, {"in_ms", delay.count()}});
    auto& wait = mode == BindMode::transmitter ? m_transmitter_wait : m_receiver_wait;
    wait.expires_after(delay);
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(use_awaitable, ec)); // stop() cancels it
  }
  --m_running;
  set_state();
}

awaitable<bool> Session::pass_throttle_gate() {
  for (;;) {
    if (m_stopping) {
      co_return false;
    }
    const auto now = std::chrono::steady_clock::now();
    boost::system::error_code ec;
    if (now < m_resume_at) {
      asio::steady_timer pause(m_executor, m_resume_at);
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    if (m_gate_in_flight >= m_allowed_in_flight) {
      co_await m_gate_wake.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    ++m_gate_in_flight;
    co_return true;
  }
}

void Session::after_submit(const SubmitResult& result,
                           std::chrono::steady_clock::time_point sent_at) {
  --m_gate_in_flight;
  const bool throttled = result.status == SubmitStatus::rejected_temporary &&
                         (result.command_status == status::throttled ||
                          result.command_status == status::message_queue_full);
  const unsigned window = std::max(1U, m_config.window);
  if (throttled) {
    ++m_throttled_submits;
    // Submits that left before the last pause began answer for that pause.
    if (m_throttle_pause == std::chrono::milliseconds(0) || sent_at >= m_throttled_at) {
      m_throttle_pause = std::clamp<std::chrono::milliseconds>(
          m_throttle_pause * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(10000));
      m_throttled_at = std::chrono::steady_clock::now();
      m_resume_at = m_throttled_at + m_throttle_pause;
      m_allowed_in_flight = 1; // the next one is a probe
      log::warn("smsc: throttled by the SMSC; pausing, then probing with one submit",
                {{"link", m_config.name}, {"pause_ms", m_throttle_pause.count()}});
    }
  } else if (result.status == SubmitStatus::accepted && m_allowed_in_flight < window) {
    m_allowed_in_flight = std::min(window, m_allowed_in_flight * 2);
    if (m_allowed_in_flight == window) {
      m_throttle_pause = std::chrono::milliseconds(0);
      log::info("smsc: the SMSC takes submits again; window fully open",
                {{"link", m_config.name}, {"window", window}});
    }
  }
  m_gate_wake.cancel();
}

awaitable<SubmitResult> Session::submit(SubmitSm pdu, BeforeWrite before_write) {
  auto tx = transmitting();
  if (!tx || !tx->bound() || m_stopping) {
    co_return SubmitResult{SubmitStatus::not_sent, 0, {}, "link not bound"};
  }
  if (!co_await pass_throttle_gate()) {
    co_return SubmitResult{SubmitStatus::not_sent, 0, {}, "stopping"};
  }
  const auto sent_at = std::chrono::steady_clock::now();
  auto result = co_await submit_through(tx, std::move(pdu), std::move(before_write));
  after_submit(result, sent_at);
  co_return result;
}

awaitable<SubmitResult> Session::submit_through(std::shared_ptr<Connection> tx, SubmitSm pdu,
                                                BeforeWrite before_write) {
  // The slot is held through the rate wait, so the window also bounds
  // what is queued behind the rate limit.
  if (!co_await tx->acquire_slot(m_config.window)) {
    co_return SubmitResult{SubmitStatus::not_sent, 0, {}, "link closed while waiting"};
  }
  // submit_rate as a token bucket of one: space submits 1/rate apart.
  const auto now = std::chrono::steady_clock::now();
  const auto spacing = submit_spacing();
  if (m_next_submit > now) {
    const auto wait_until = m_next_submit;
    m_next_submit += spacing;
    asio::steady_timer timer(m_executor);
    timer.expires_at(wait_until);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  } else {
    m_next_submit = now + spacing;
  }
  if (!tx->bound() || m_stopping) {
    tx->release_slot();
    co_return SubmitResult{SubmitStatus::not_sent, 0, {}, "link fell while waiting"};
  }
  if (before_write) {
    bool go = false;
    std::string why = "cancelled before sending";
    try {
      go = co_await before_write();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!go || !tx->bound() || m_stopping) {
      tx->release_slot();
      co_return SubmitResult{SubmitStatus::not_sent, 0, {}, go ? "link fell while waiting" : why};
    }
  }
  pdu.sequence_number = next_sequence();
  co_return co_await tx->submit(std::move(pdu));
}

std::optional<SubmitTicket> Session::reserve_submit() {
  auto tx = transmitting();
  if (!tx || !tx->bound() || m_stopping) {
    return std::nullopt;
  }
  const auto now = std::chrono::steady_clock::now();
  // Anything already waiting at the gate, for a slot or for the rate keeps
  // its turn: a ticket is only for a submit that would not wait at all.
  if (now < m_resume_at || m_gate_in_flight >= m_allowed_in_flight || m_next_submit > now ||
      !tx->try_acquire_slot(m_config.window)) {
    return std::nullopt;
  }
  ++m_gate_in_flight;
  const auto rate_before = m_next_submit;
  m_next_submit = now + submit_spacing();
  return SubmitTicket(m_alive, std::move(tx), now, rate_before, m_next_submit);
}

awaitable<SubmitResult> Session::submit_reserved(SubmitTicket ticket, SubmitSm pdu) {
  // From here on this call owns what the ticket held.
  ticket.m_session.reset();
  const auto tx = std::move(ticket.m_tx);
  const auto sent_at = ticket.m_taken_at;
  SubmitResult result;
  if (!tx || !tx->bound() || m_stopping) {
    if (tx) {
      tx->release_slot();
    }
    result = SubmitResult{SubmitStatus::not_sent, 0, {}, "link fell before the submit left"};
  } else {
    pdu.sequence_number = next_sequence();
    result = co_await tx->submit(std::move(pdu));
  }
  after_submit(result, sent_at);
  co_return result;
}

SubmitTicket::SubmitTicket(std::shared_ptr<Session*> session, std::shared_ptr<Connection> tx,
                           Clock::time_point taken_at, Clock::time_point rate_before,
                           Clock::time_point rate_after)
    : m_session(std::move(session)), m_tx(std::move(tx)), m_taken_at(taken_at),
      m_rate_before(rate_before), m_rate_after(rate_after) {}

SubmitTicket& SubmitTicket::operator=(SubmitTicket&& other) noexcept {
  if (this != &other) {
    give_back();
    m_session = std::move(other.m_session);
    m_tx = std::move(other.m_tx);
    m_taken_at = other.m_taken_at;
    m_rate_before = other.m_rate_before;
    m_rate_after = other.m_rate_after;
  }
  return *this;
}

SubmitTicket::~SubmitTicket() {
  give_back();
}

bool SubmitTicket::usable() const {
  return m_session && *m_session != nullptr && m_tx && m_tx->bound();
}

void SubmitTicket::give_back() {
  const auto alive = std::move(m_session);
  if (!alive || *alive == nullptr) {
    m_tx.reset(); // unused, or its session is gone with everything it counted
    return;
  }
  auto& session = **alive;
  m_tx->release_slot();
  m_tx.reset();
  if (session.m_next_submit == m_rate_after) {
    session.m_next_submit = m_rate_before;
  }
  --session.m_gate_in_flight;
  session.m_gate_wake.cancel();
}

awaitable<void> Session::stop(std::chrono::milliseconds grace) {
  m_stopping = true;
  m_gate_wake.cancel(); // submits waiting out a throttle pause give up
  m_receiver_wait.cancel();
  m_transmitter_wait.cancel();
  auto receiver = m_receiver;
  auto transmitter = m_transmitter;
  // One deadline for both connections of a receiver+transmitter link.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  if (transmitter) {
    co_await transmitter->unbind_and_close(grace);
  }
  if (receiver) {
    co_await receiver->unbind_and_close(
        std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                     deadline - std::chrono::steady_clock::now()),
                 std::chrono::milliseconds(0)));
  }
  set_state();
}

LinkSnapshot Session::snapshot() const {
  LinkSnapshot snap;
  snap.name = m_config.name;
  snap.state = m_state;
  snap.since_ms = m_since_ms;
  snap.bind = m_config.layout == BindLayout::transceiver ? "transceiver" : "receiver+transmitter";
  const auto& tx = m_config.layout == BindLayout::transceiver ? m_receiver : m_transmitter;
  snap.window_in_use = tx ? tx->window_in_use() : 0;
  snap.last_error = m_last_error;
  snap.reconnects = m_reconnects;
  snap.mo_received = m_mo_received;
  snap.mt_submitted = m_mt_submitted;
  return snap;
}

} // namespace laporsms::smpp

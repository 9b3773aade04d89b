// The ESME side of one SMPP 3.4 link: connect, bind, keep alive, receive
// deliver_sm/data_sm, send submit_sm within a window and a rate, reconnect
// with backoff. One Session per [[smsc]] table; it owns one connection in
// transceiver mode, or two (receiver and transmitter) in
// receiver+transmitter mode.
#pragma once

#include <laporsms/metrics/catalog.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/smpp/sequence.hpp>
#include <laporsms/util/net.hpp>

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace laporsms::smpp {

enum class LinkState { down, binding, bound };
std::string_view link_state_name(LinkState state);

enum class BindLayout { transceiver, receiver_transmitter };

struct SessionConfig {
  std::string name;
  std::string host;
  std::uint16_t port = 2775;
  bool tls = false;
  bool tls_verify = true;  // verify the SMSC's certificate and host name
  std::string tls_ca_file; // extra CA bundle (PEM); the system store is always used
  std::string system_id;
  std::string password; // never logged
  std::string system_type;
  BindLayout layout = BindLayout::transceiver;
  std::string address_range;
  std::chrono::milliseconds enquire_link_interval{30000};
  std::chrono::milliseconds response_timeout{10000};
  // Octets waiting to be written beyond which an SMSC that does not read is
  // dropped; a write that takes longer than response_timeout drops it too.
  std::size_t max_outgoing_bytes = 4 * 1024 * 1024;
  // SO_SNDBUF of the link's sockets (the kernel doubles it).
  std::size_t send_buffer_bytes = 256 * 1024;
  unsigned window = 10;
  unsigned submit_rate = 50;
  std::chrono::milliseconds reconnect_min{1000};
  std::chrono::milliseconds reconnect_max{60000};
};

enum class SubmitStatus {
  accepted,           // submit_sm_resp ESME_ROK
  rejected_temporary, // the SMSC said no for now (throttled, queue full, system error)
  rejected_permanent, // the SMSC will never take it (bad address, ...)
  not_sent,           // never left us: no transmitter bound, or the link fell first
  no_response,        // left us, but no response within response_timeout or the link fell
};

struct SubmitResult {
  SubmitStatus status = SubmitStatus::not_sent;
  std::uint32_t command_status = 0;
  std::string message_id;
  std::string error;
};

// Live figures for laporctl status and metrics.
struct LinkSnapshot {
  std::string name;
  LinkState state = LinkState::down;
  std::int64_t since_ms = 0; // Unix ms of the last state change
  std::string bind;          // "transceiver" or "receiver+transmitter"
  unsigned window_in_use = 0;
  std::optional<std::string> last_error;
  std::uint64_t reconnects = 0;
  std::uint64_t mo_received = 0;
  std::uint64_t mt_submitted = 0;
};

class Connection;
class Session;

// What a submit_sm needs before it may leave, taken ahead of it and held: a
// pass through the throttle gate, a window slot and the rate's token. For
// a reply marked started in the commit that queues it: once that commits,
// nothing stands between it and the wire, so a crash cannot leave a reply
// marked started that had to wait and never left. Dropped unused, it gives
// all three back (to a session still alive: a ticket in a coroutine frame
// the io_context destroys at exit may outlive it).
class SubmitTicket {
public:
  // Moved from, it holds nothing (its shared_ptrs are empty).
  SubmitTicket(SubmitTicket&& other) noexcept = default;
  SubmitTicket& operator=(SubmitTicket&& other) noexcept;
  SubmitTicket(const SubmitTicket&) = delete;
  SubmitTicket& operator=(const SubmitTicket&) = delete;
  ~SubmitTicket();

  // Its connection is still bound: a submit on it may leave.
  bool usable() const;

private:
  friend class Session;
  using Clock = std::chrono::steady_clock;
  SubmitTicket(std::shared_ptr<Session*> session, std::shared_ptr<Connection> tx,
               Clock::time_point taken_at, Clock::time_point rate_before,
               Clock::time_point rate_after);
  void give_back();

  // Points at the session while it lives; null once used or moved from.
  std::shared_ptr<Session*> m_session;
  std::shared_ptr<Connection> m_tx;
  Clock::time_point m_taken_at{};
  // The rate's next free time before and after this ticket took its token:
  // given back unused, the token is refunded if no one took one since.
  Clock::time_point m_rate_before{};
  Clock::time_point m_rate_after{};
};

class Session {
public:
  // Called for each deliver_sm / data_sm; its result is the command_status of
  // the response, sent only when it returns (after the store committed).
  using InboundHandler = std::function<awaitable<std::uint32_t>(ShortMessageFields)>;

  // `metrics` counts the link's PDUs and binds (a default one counts nothing).
  Session(asio::any_io_executor executor, SessionConfig config, InboundHandler on_inbound,
          metrics::LinkMetrics metrics = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects, binds and serves until stop(); reconnects with backoff.
  awaitable<void> run();

  // Runs right before a submit_sm is written; false or a throw cancels it
  // (then not_sent). The outbox records "started" here, durably.
  using BeforeWrite = std::function<awaitable<bool>()>;

  // Sends one submit_sm through the transmitting connection, waiting for a
  // window slot and the rate limit; fills in sequence_number.
  awaitable<SubmitResult> submit(SubmitSm pdu, BeforeWrite before_write = {});

  // A ticket for a submit_sm that may leave right now (the transmitter
  // bound, not throttled, a window slot free, the rate allows it), holding
  // what it takes; nullopt when it would have to wait. Never waits.
  std::optional<SubmitTicket> reserve_submit();
  // Sends one submit_sm on what `ticket` holds, without waiting for
  // anything but its response; fills in sequence_number.
  awaitable<SubmitResult> submit_reserved(SubmitTicket ticket, SubmitSm pdu);

  // From now on every deliver_sm / data_sm is answered with a temporary
  // error (the SMSC keeps it and delivers it again): the first step of a stop.
  void refuse_inbound() { m_refusing_inbound = true; }

  // Stops accepting new traffic: waits up to `grace` for submits awaiting
  // their response, unbinds, closes. run() returns after.
  awaitable<void> stop(std::chrono::milliseconds grace);

  // Wakes when the transmitter becomes bound (the outbox waits on it).
  void set_on_bound(std::function<void()> callback) { m_on_bound = std::move(callback); }
  // Called when the transmitter is lost (replies may go through a fallback).
  void set_on_down(std::function<void()> callback) { m_on_down = std::move(callback); }

  LinkSnapshot snapshot() const;
  const SessionConfig& config() const { return m_config; }
  bool can_transmit() const;

private:
  friend class Connection;
  friend class SubmitTicket;
  awaitable<void> run_connection(BindMode mode);
  void set_state();
  std::uint32_t next_sequence();
  std::shared_ptr<Connection> transmitting() const;
  std::chrono::microseconds submit_spacing() const;
  // Keeps `error` as the link's last error (laporctl status); the caller logs it.
  void note_error(std::string error);

  asio::any_io_executor m_executor;
  SessionConfig m_config;
  InboundHandler m_on_inbound;
  metrics::LinkMetrics m_metrics;
  asio::ssl::context m_tls_context;
  std::function<void()> m_on_bound;
  std::function<void()> m_on_down;
  bool m_was_transmitting = false;
  std::shared_ptr<Connection> m_receiver;    // also the transceiver
  std::shared_ptr<Connection> m_transmitter; // only in receiver+transmitter mode
  // The waits between reconnect attempts, cut short by stop().
  asio::steady_timer m_receiver_wait;
  asio::steady_timer m_transmitter_wait;
  bool m_stopping = false;
  bool m_refusing_inbound = false;
  SequenceCounter m_sequence;
  LinkState m_state = LinkState::down;
  std::int64_t m_since_ms = 0;
  std::optional<std::string> m_last_error;
  std::uint64_t m_reconnects = 0;
  std::uint64_t m_mo_received = 0;
  std::uint64_t m_mt_submitted = 0;
  unsigned m_running = 0;
  std::mt19937_64 m_rng;
  // What outstanding tickets reach this session through; cleared when it dies.
  std::shared_ptr<Session*> m_alive = std::make_shared<Session*>(this);
  // Token bucket for submit_rate: the earliest time the next submit may leave.
  std::chrono::steady_clock::time_point m_next_submit{};

  // Throttling (ESME_RTHROTTLED, queue full): the link pauses, then one
  // submit probes; as answers succeed the window opens again, doubling.
  // Submits wait at this gate before they take a window slot.
  awaitable<bool> pass_throttle_gate();
  awaitable<SubmitResult> submit_through(std::shared_ptr<Connection> tx, SubmitSm pdu,
                                         BeforeWrite before_write);
  void after_submit(const SubmitResult& result, std::chrono::steady_clock::time_point sent_at);
  unsigned m_allowed_in_flight = 0;              // the window while not throttled
  unsigned m_gate_in_flight = 0;                 // past the gate, awaiting their answer
  std::chrono::milliseconds m_throttle_pause{0}; // 0: not throttled
  std::chrono::steady_clock::time_point m_resume_at{};
  std::chrono::steady_clock::time_point m_throttled_at{};
  asio::steady_timer m_gate_wake; // never expires; cancelled to wake the waiters
  std::uint64_t m_throttled_submits = 0;

public:
  // How many submits the SMSC refused as throttled (or queue full).
  std::uint64_t throttled_submits() const { return m_throttled_submits; }
};

} // namespace laporsms::smpp

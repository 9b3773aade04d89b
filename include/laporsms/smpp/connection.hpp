// One TCP connection of an SMPP session, bound in one mode. A reader
// coroutine dispatches PDUs one at a time; a writer drains the outgoing
// queue, waiting on a timer when it is empty; a keepalive sends
// enquire_link when idle and closes the connection when the peer has gone
// silent. stop paths close the socket and cancel the timers so every loop ends.
#pragma once

#include <laporsms/smpp/codec.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/smpp/session.hpp>
#include <laporsms/util/log.hpp>
#include <laporsms/util/net.hpp>

#include <boost/asio/ssl.hpp>

#include <array>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace laporsms::smpp {

class Connection : public std::enable_shared_from_this<Connection> {
public:
  Connection(Session& session, BindMode mode);

  // Connects and binds within response_timeout each; false on failure (the
  // reason is logged and noted on the session).
  awaitable<bool> open();
  // Returns when the connection has closed.
  awaitable<void> serve();
  // Sends a submit_sm (sequence number already set) in a window slot taken
  // with acquire_slot(), awaits its response and gives the slot back.
  awaitable<SubmitResult> submit(SubmitSm pdu);
  // Waits up to `grace` for outstanding submits, unbinds, closes.
  awaitable<void> unbind_and_close(std::chrono::milliseconds grace);
  void close(const std::string& reason);

  bool bound() const { return m_bound; }
  BindMode mode() const { return m_mode; }
  unsigned window_in_use() const { return m_submits_in_flight; }
  // Takes one of `window` slots for a submit, waiting while all are in use;
  // false (and no slot) when the connection closed meanwhile.
  awaitable<bool> acquire_slot(unsigned window);
  // The same without waiting: false when none is free or the connection
  // cannot send.
  bool try_acquire_slot(unsigned window);
  // Gives back a slot that will not be used after all.
  void release_slot();

private:
  struct Pending {
    asio::steady_timer* timer = nullptr;
    std::optional<Pdu> response;
  };

  // Sends `pdu` and waits up to `timeout` for its response. nullopt: none came, or (with
  // `encode_error` set) the PDU could not be encoded and nothing was sent.
  awaitable<std::optional<Pdu>> request(Pdu pdu, std::chrono::milliseconds timeout,
                                        std::string* encode_error = nullptr);
  void send(const Pdu& pdu);
  void queue_frame(std::vector<std::uint8_t> frame);
  awaitable<void> reader();
  // Fills `buffer` from what was read ahead, reading more as needed.
  awaitable<void> read_exact(asio::mutable_buffer buffer, boost::system::error_code& ec);
  // Reads past a frame too long to take (DecodeError::skip_length octets), then NACKs it.
  // false: the connection failed while reading (`ec` says why).
  awaitable<bool> skip_frame(const std::array<std::uint8_t, 4>& length_bytes,
                             const DecodeError& error, boost::system::error_code& ec);
  tcp::socket& socket() { return m_stream.next_layer(); }
  awaitable<void> writer();
  awaitable<void> keepalive();
  awaitable<void> answer_inbound(ShortMessageFields fields, std::uint32_t command,
                                 std::uint32_t sequence,
                                 std::chrono::steady_clock::time_point read_at);
  void dispatch(Pdu pdu);
  void dispatch_response(std::uint32_t sequence, Pdu pdu);
  void send_nack(std::uint32_t sequence, std::uint32_t status);
  // Counts the submit_sm among `frames`, just written to the socket.
  void count_written(const std::deque<std::vector<std::uint8_t>>& frames) const;
  // The text of a log line about this connection: `event`, its link and
  // bind, then `fields`.
  std::string event_line(std::string_view event, log::Fields fields) const;
  // One log line about this connection, as event_line.
  void log_event(log::Level level, std::string_view event, log::Fields fields) const;
  // A fault: logged (warning) as above with `error` last, and kept as the
  // link's last error for `laporctl status`.
  void fault(std::string_view event, std::string error, log::Fields fields = {});

  Session& m_session;
  BindMode m_mode;
  // TLS wraps the socket when the link says `tls = true`; otherwise the
  // bytes go through next_layer() untouched.
  asio::ssl::stream<tcp::socket> m_stream;
  bool m_tls = false;
  // What one read took from the peer beyond the frame being parsed: a read
  // takes whatever the socket holds, so a burst of PDUs costs one read, not
  // two a PDU and a last one that finds nothing.
  std::vector<std::uint8_t> m_read_ahead = std::vector<std::uint8_t>(16 * 1024);
  std::size_t m_read_begin = 0; // unparsed octets are [begin, end)
  std::size_t m_read_end = 0;
  asio::steady_timer m_write_wake;
  asio::steady_timer m_window_wake;
  asio::steady_timer m_closed_wake;
  std::deque<std::vector<std::uint8_t>> m_outgoing;
  std::size_t m_outgoing_bytes = 0;
  // When the write under way began; nullopt while the writer waits.
  std::optional<std::chrono::steady_clock::time_point> m_write_started;
  std::unordered_map<std::uint32_t, Pending*> m_pending;
  std::chrono::steady_clock::time_point m_last_received;
  bool m_open = false;
  bool m_bound = false;
  bool m_unbinding = false;
  unsigned m_submits_in_flight = 0;
  // deliver_sm / data_sm being stored; past the cap they get ESME_RTHROTTLED.
  unsigned m_inbound_in_flight = 0;
  static constexpr unsigned k_max_inbound_in_flight = 256;
};

} // namespace laporsms::smpp

// A scripted SMSC for unit tests: a TCP acceptor on 127.0.0.1 that reads
// real SMPP frames and answers them through smpp::encode/decode, on the
// test's io_context. Shared by the session's tests and the outbox stage's.
#pragma once

#include <laporsms/smpp/codec.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/util/net.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace smpp_test {

namespace asio = laporsms::asio;
using laporsms::awaitable;
using laporsms::tcp;
using laporsms::use_awaitable;
using namespace laporsms::smpp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

// One frame the fake received from the session.
struct Frame {
  int connection = 0; // index of the accepted connection, from 0
  Clock::time_point at;
  Pdu pdu;
};

// The SMSC side, scripted by the test through its public knobs.
class FakeSmsc {
public:
  enum class SubmitReply { at_once, after_delay, never };

  explicit FakeSmsc(asio::io_context& io)
      : m_io(io), m_acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }

  std::uint16_t port() const { return m_acceptor.local_endpoint().port(); }

  // How the fake answers.
  std::uint32_t bind_status = status::ok;
  std::uint32_t submit_status = status::ok;
  SubmitReply submit_reply = SubmitReply::at_once;
  std::chrono::milliseconds submit_delay{50};
  bool answer_enquire_link = true;
  bool answer_unbind = true;
  // Answer submits (and binds) with generic_nack carrying this status instead.
  std::optional<std::uint32_t> nack_submits;
  std::optional<std::uint32_t> nack_binds;

  // What it saw.
  std::vector<Frame> frames;
  unsigned outstanding_submits = 0;
  unsigned most_outstanding = 0;
  std::vector<std::string> problems; // what the fake itself could not do

  // Connections from now on get a receive buffer this small (the kernel
  // doubles it), so that a peer that stops reading soon blocks our writes.
  void set_receive_buffer(int octets) {
    m_acceptor.set_option(asio::socket_base::receive_buffer_size(octets));
  }
  // Connection `index` stops reading after the frame it is reading now.
  std::set<int> not_reading;

  int connections() const { return static_cast<int>(m_peers.size()); }
  bool is_open(int index) const { return m_peers.at(static_cast<std::size_t>(index))->open; }

  void send(int index, const Pdu& pdu) {
    auto bytes = encode(pdu);
    if (!bytes) {
      problems.push_back("cannot encode: " + bytes.error());
      return;
    }
    send_raw(index, *bytes);
  }

  // Small frames on loopback: a blocking write finishes at once.
  void send_raw(int index, const Bytes& bytes) {
    boost::system::error_code ec;
    asio::write(m_peers.at(static_cast<std::size_t>(index))->socket, asio::buffer(bytes), ec);
  }

  // Answers every submit_sm held back so far.
  void answer_held() {
    auto held = std::move(m_held);
    m_held.clear();
    for (const auto& [index, sequence] : held) {
      answer_submit(index, sequence);
    }
  }

  template <typename T> std::vector<T> received() const {
    std::vector<T> out;
    for (const auto& frame : frames) {
      if (const auto* p = std::get_if<T>(&frame.pdu)) {
        out.push_back(*p);
      }
    }
    return out;
  }

  template <typename T> std::vector<Clock::time_point> times_of() const {
    std::vector<Clock::time_point> out;
    for (const auto& frame : frames) {
      if (std::holds_alternative<T>(frame.pdu)) {
        out.push_back(frame.at);
      }
    }
    return out;
  }

  template <typename T> std::size_t count() const { return received<T>().size(); }

private:
  struct Peer {
    explicit Peer(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    bool open = true;
  };

  awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket socket(m_io);
      boost::system::error_code ec;
      co_await m_acceptor.async_accept(socket, asio::redirect_error(use_awaitable, ec));
      if (ec) {
        co_return;
      }
      m_peers.push_back(std::make_unique<Peer>(std::move(socket)));
      asio::co_spawn(m_io, serve(connections() - 1), asio::detached);
    }
  }

  awaitable<void> serve(int index) {
    Peer& peer = *m_peers[static_cast<std::size_t>(index)];
    for (;;) {
      std::array<std::uint8_t, 4> head{};
      boost::system::error_code ec;
      co_await asio::async_read(peer.socket, asio::buffer(head),
                                asio::redirect_error(use_awaitable, ec));
      if (ec) {
        break;
      }
      const auto length = frame_length(head);
      if (!length) {
        problems.push_back("the session sent a bad command_length");
        break;
      }
      Bytes frame(*length);
      std::copy(head.begin(), head.end(), frame.begin());
      co_await asio::async_read(peer.socket, asio::buffer(frame.data() + 4, frame.size() - 4),
                                asio::redirect_error(use_awaitable, ec));
      if (ec) {
        break;
      }
      auto pdu = decode(frame);
      if (!pdu) {
        problems.push_back("the session sent an undecodable frame: " + pdu.error().detail);
        continue;
      }
      frames.push_back(Frame{index, Clock::now(), *pdu});
      react(index, *pdu);
      asio::steady_timer idle(m_io);
      while (not_reading.contains(index) && peer.socket.is_open()) {
        idle.expires_after(10ms);
        co_await idle.async_wait(asio::redirect_error(use_awaitable, ec));
      }
    }
    peer.open = false;
    boost::system::error_code ignored;
    peer.socket.close(ignored);
  }

  void react(int index, const Pdu& pdu) {
    if (const auto* bind = std::get_if<BindRequest>(&pdu)) {
      if (nack_binds) {
        send(index, GenericNack{bind->sequence_number, *nack_binds});
        return;
      }
      send(index, BindResponse{bind->sequence_number, bind_status, bind->mode, "fakesmsc"});
    } else if (const auto* enquire = std::get_if<EnquireLink>(&pdu)) {
      if (answer_enquire_link) {
        send(index, EnquireLinkResp{enquire->sequence_number, status::ok});
      }
    } else if (const auto* submit = std::get_if<SubmitSm>(&pdu)) {
      if (nack_submits) {
        send(index, GenericNack{submit->sequence_number, *nack_submits});
        return;
      }
      ++outstanding_submits;
      most_outstanding = std::max(most_outstanding, outstanding_submits);
      switch (submit_reply) {
      case SubmitReply::at_once:
        answer_submit(index, submit->sequence_number);
        break;
      case SubmitReply::after_delay:
        asio::co_spawn(m_io, answer_later(index, submit->sequence_number), asio::detached);
        break;
      case SubmitReply::never:
        m_held.emplace_back(index, submit->sequence_number);
        break;
      }
    } else if (const auto* unbind = std::get_if<Unbind>(&pdu)) {
      if (answer_unbind) {
        send(index, UnbindResp{unbind->sequence_number, status::ok});
      }
    }
  }

  void answer_submit(int index, std::uint32_t sequence) {
    if (outstanding_submits > 0) {
      --outstanding_submits;
    }
    std::string id;
    if (submit_status == status::ok) {
      id = "msg-" + std::to_string(++m_message_ids);
    }
    send(index, SubmitSmResp{sequence, submit_status, id});
  }

  awaitable<void> answer_later(int index, std::uint32_t sequence) {
    asio::steady_timer timer(m_io);
    timer.expires_after(submit_delay);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    answer_submit(index, sequence);
  }

  asio::io_context& m_io;
  tcp::acceptor m_acceptor;
  std::vector<std::unique_ptr<Peer>> m_peers;
  std::vector<std::pair<int, std::uint32_t>> m_held;
  unsigned m_message_ids = 0;
};

} // namespace smpp_test

#include <laporsms/smpp/codec.hpp>
#include <laporsms/smpp/connection.hpp>
#include <laporsms/util/log.hpp>
#include <laporsms/util/tls.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace laporsms::smpp {
namespace {

using namespace std::chrono_literals;

std::string bind_error_text(std::uint32_t status) {
  switch (status) {
  case status::invalid_password:
    return "invalid password (ESME_RINVPASWD)";
  case status::invalid_system_id:
    return "invalid system_id (ESME_RINVSYSID)";
  case status::already_bound:
    return "already bound (ESME_RALYBND)";
  case status::bind_failed:
    return "bind failed (ESME_RBINDFAIL)";
  default:
    return fmt::format("bind refused with status 0x{:08X}", status);
  }
}

// Statuses after which the same submit_sm may succeed later.
bool is_temporary_submit_status(std::uint32_t command_status) {
  switch (command_status) {
  case status::throttled:
  case status::message_queue_full:
  case status::system_error:
  case status::temporary_app_error:
  case status::unknown_error:
  case status::invalid_bind_status:
    return true;
  default:
    return false;
  }
}

} // namespace

Connection::Connection(Session& session, BindMode mode)
    : m_session(session), m_mode(mode), m_stream(session.m_executor, session.m_tls_context),
      m_tls(session.m_config.tls), m_write_wake(session.m_executor),
      m_window_wake(session.m_executor), m_closed_wake(session.m_executor),
      m_last_received(std::chrono::steady_clock::now()) {
  m_window_wake.expires_at(std::chrono::steady_clock::time_point::max());
}

std::string Connection::event_line(std::string_view event, log::Fields fields) const {
  return log::format_event(event,
                           {{"link", m_session.m_config.name}, {"bind", bind_mode_name(m_mode)}}) +
         log::format_fields(fields);
}

void Connection::log_event(log::Level level, std::string_view event, log::Fields fields) const {
  if (log::enabled(level)) {
    log::write_escaped(level, event_line(event, fields));
  }
}

void Connection::fault(std::string_view event, std::string error, log::Fields fields) {
  if (log::enabled(log::Level::warning)) {
    log::write_escaped(log::Level::warning,
                       event_line(event, fields) + log::format_fields({{"error", error}}));
  }
  m_session.note_error(std::move(error));
}

awaitable<bool> Connection::open() {
  const auto& cfg = m_session.m_config;
  auto self = shared_from_this();
  try {
    tcp::resolver resolver(m_session.m_executor);
    const auto endpoints =
        co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port), use_awaitable);
    // A deadline for connect and the TLS handshake: close the socket when
    // it passes (the pending operation then fails "operation aborted").
    auto timed_out = std::make_shared<bool>(false);
    asio::steady_timer deadline(m_session.m_executor);
    deadline.expires_after(cfg.response_timeout);
    deadline.async_wait([this, self, timed_out](boost::system::error_code ec) {
      if (!ec) {
        *timed_out = true;
        socket().close();
      }
    });
    const auto fail = [&](std::string_view step, const std::string& why) {
      deadline.cancel();
      fault("smsc: cannot connect",
            *timed_out ? fmt::format("{} {}:{} timed out after {} ms (response_timeout)", step,
                                     cfg.host, cfg.port, cfg.response_timeout.count())
                       : fmt::format("{} {}:{} failed: {}", step, cfg.host, cfg.port, why));
      close(fmt::format("{} failed", step));
    };
    boost::system::error_code ec;
    co_await asio::async_connect(socket(), endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      fail("connect to", ec.message());
      co_return false;
    }
    socket().set_option(tcp::no_delay(true));
    // A fixed send buffer: SMPP needs little, and without it the kernel's
    // autotuning hides a peer that stopped reading behind megabytes.
    socket().set_option(
        asio::socket_base::send_buffer_size(static_cast<int>(cfg.send_buffer_bytes)));
    if (m_tls) {
      // SNI (names only) and host-name verification against the configured host.
      if (!util::set_server_name(m_stream.native_handle(), cfg.host) ||
          (cfg.tls_verify && !util::expect_peer_name(m_stream.native_handle(), cfg.host))) {
        fail("TLS to", "OpenSSL refused the host name");
        co_return false;
      }
      m_stream.set_verify_mode(cfg.tls_verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
      co_await m_stream.async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(use_awaitable, ec));
      if (ec) {
        fail("TLS handshake with", util::handshake_failure(ec, m_stream.native_handle()));
        co_return false;
      }
    }
    deadline.cancel();
  } catch (const boost::system::system_error& e) {
    fault("smsc: cannot connect",
          fmt::format("connect to {}:{} failed: {}", cfg.host, cfg.port, e.code().message()));
    close("connect failed");
    co_return false;
  }
  m_open = true;
  m_last_received = std::chrono::steady_clock::now();
  asio::co_spawn(m_session.m_executor, writer(), asio::detached);
  // The reader must run before the bind: it is what delivers bind_resp.
  asio::co_spawn(m_session.m_executor, reader(), asio::detached);

  BindRequest bind;
  bind.sequence_number = m_session.next_sequence();
  bind.mode = m_mode;
  bind.system_id = cfg.system_id;
  bind.password = cfg.password;
  bind.system_type = cfg.system_type;
  bind.address_range = cfg.address_range;
  Pdu bind_pdu = std::move(bind);
  auto response = co_await request(std::move(bind_pdu), cfg.response_timeout);
  if (!response) {
    m_session.m_metrics.bind("no_answer");
    fault("smsc: bind failed", fmt::format("bind as {} with system_id '{}' got no answer",
                                           bind_mode_name(m_mode), cfg.system_id));
    close("bind timed out");
    co_return false;
  }
  const auto* resp = std::get_if<BindResponse>(&*response);
  const auto* nack = std::get_if<GenericNack>(&*response);
  // A generic_nack refuses the bind whatever status it carries.
  const std::uint32_t status = resp != nullptr ? resp->command_status
                               : nack != nullptr && nack->command_status != status::ok
                                   ? nack->command_status
                                   : status::bind_failed;
  if (status != status::ok) {
    m_session.m_metrics.bind("refused");
    fault("smsc: bind refused",
          fmt::format("bind as {} with system_id '{}' refused: {}", bind_mode_name(m_mode),
                      cfg.system_id, bind_error_text(status)));
    close("bind refused");
    co_return false;
  }
  m_bound = true;
  m_session.m_metrics.bind("bound");
  log_event(log::Level::info, "smsc: bound",
            {{"peer", fmt::format("{}:{}", cfg.host, cfg.port)}, {"system_id", cfg.system_id}});
  asio::co_spawn(m_session.m_executor, keepalive(), asio::detached);
  co_return true;
}

awaitable<void> Connection::serve() {
  auto self = shared_from_this();
  while (m_open) {
    boost::system::error_code ec;
    m_closed_wake.expires_at(std::chrono::steady_clock::time_point::max());
    co_await m_closed_wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> Connection::reader() {
  auto self = shared_from_this();
  std::vector<std::uint8_t> frame;
  frame.reserve(512);
  while (m_open) {
    std::array<std::uint8_t, 4> length_bytes{};
    boost::system::error_code ec;
    co_await read_exact(asio::buffer(length_bytes), ec);
    if (ec) {
      if (m_open) {
        close(ec == asio::error::eof ? "peer closed the connection" : ec.message());
      }
      break;
    }
    const auto length = frame_length(length_bytes);
    if (!length && !length.error().fatal) {
      // Too long to take, but believable: read past it so the next frame is found, and say so
      // with the frame's own sequence number.
      if (!co_await skip_frame(length_bytes, length.error(), ec)) {
        if (m_open) {
          close(ec.message());
        }
        break;
      }
      continue;
    }
    if (!length) {
      // A command_length we cannot trust leaves no way to find the next
      // frame: say so, then drop the connection.
      send_nack(0, length.error().command_status);
      fault("smsc: unreadable frame; closing the connection", length.error().detail);
      co_await asio::post(m_session.m_executor, use_awaitable); // let the writer flush the nack
      close("bad command_length");
      break;
    }
    frame.resize(*length);
    std::copy(length_bytes.begin(), length_bytes.end(), frame.begin());
    co_await read_exact(asio::buffer(frame.data() + 4, frame.size() - 4), ec);
    if (ec) {
      if (m_open) {
        close(ec.message());
      }
      break;
    }
    m_last_received = std::chrono::steady_clock::now();
    auto pdu = decode(frame);
    if (!pdu) {
      const auto& err = pdu.error();
      log_event(log::Level::warning, "smsc: rejected a frame",
                {{"command", command_name(err.command_id)},
                 {"status", fmt::format("0x{:08X}", err.command_status)},
                 {"error", err.detail}});
      const bool inbound =
          err.command_id == command_id::deliver_sm || err.command_id == command_id::data_sm;
      if (inbound) {
        // Counted as the SMSC sees it: a deliver_sm, answered with an error.
        m_session.m_metrics.deliver_sm_received();
        m_session.m_metrics.deliver_sm_answered(false, status_label(err.command_status), 0);
      }
      if (err.fatal) {
        send_nack(err.sequence_number, err.command_status);
        close("undecodable frame");
        break;
      }
      // A request we cannot parse gets a NACK; a response we cannot parse is
      // dropped (its requester times out), as the spec has no answer to it.
      if ((err.command_id & 0x80000000U) == 0) {
        if (inbound) {
          // The frame is intact but its body is not: answer the command itself.
          if (err.command_id == command_id::deliver_sm) {
            send(DeliverSmResp{err.sequence_number, err.command_status});
          } else {
            send(DataSmResp{err.sequence_number, err.command_status, {}});
          }
        } else {
          send_nack(err.sequence_number, err.command_status);
        }
      }
      continue;
    }
    dispatch(std::move(*pdu));
  }
}

awaitable<bool> Connection::skip_frame(const std::array<std::uint8_t, 4>& length_bytes,
                                       const DecodeError& error, boost::system::error_code& ec) {
  std::array<std::uint8_t, k_header_length> header{};
  std::copy(length_bytes.begin(), length_bytes.end(), header.begin());
  co_await read_exact(asio::buffer(header.data() + 4, header.size() - 4), ec);
  if (ec) {
    co_return false;
  }
  const std::size_t body = error.skip_length - (k_header_length - 4); // after the header
  std::vector<std::uint8_t> sink(std::min<std::size_t>(body, 64 * 1024));
  for (std::size_t left = body; left > 0;) {
    const std::size_t chunk = std::min(left, sink.size());
    co_await read_exact(asio::buffer(sink.data(), chunk), ec);
    if (ec) {
      co_return false;
    }
    left -= chunk;
  }
  m_last_received = std::chrono::steady_clock::now();
  const auto fields = header_fields(header);
  fault("smsc: skipped a frame", error.detail, {{"command", command_name(fields.command_id)}});
  if ((fields.command_id & 0x80000000U) == 0) {
    send_nack(fields.sequence_number, error.command_status);
    if (fields.command_id == command_id::deliver_sm || fields.command_id == command_id::data_sm) {
      m_session.m_metrics.deliver_sm_received();
      m_session.m_metrics.deliver_sm_answered(false, status_label(error.command_status), 0);
    }
  }
  co_return true;
}

awaitable<void> Connection::read_exact(asio::mutable_buffer buffer, boost::system::error_code& ec) {
  auto* out = static_cast<std::uint8_t*>(buffer.data());
  std::size_t wanted = buffer.size();
  for (;;) {
    const std::size_t take = std::min(wanted, m_read_end - m_read_begin);
    if (take > 0) {
      std::memcpy(out, m_read_ahead.data() + m_read_begin, take);
      m_read_begin += take;
      out += take;
      wanted -= take;
    }
    if (wanted == 0) {
      co_return;
    }
    m_read_begin = 0;
    m_read_end = 0;
    const auto room = asio::buffer(m_read_ahead);
    const std::size_t got =
        m_tls ? co_await m_stream.async_read_some(room, asio::redirect_error(use_awaitable, ec))
              : co_await socket().async_read_some(room, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      co_return;
    }
    m_read_end = got;
  }
}

void Connection::dispatch(Pdu pdu) {
  std::visit(
      [this](auto&& p) {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, DeliverSm> || std::is_same_v<T, DataSm>) {
          const std::uint32_t cmd =
              std::is_same_v<T, DeliverSm> ? command_id::deliver_sm : command_id::data_sm;
          m_session.m_metrics.deliver_sm_received();
          if (m_mode == BindMode::transmitter) {
            send_nack(p.sequence_number, status::invalid_bind_status);
            m_session.m_metrics.deliver_sm_answered(false,
                                                    status_label(status::invalid_bind_status), 0);
            return;
          }
          ShortMessageFields fields;
          if constexpr (std::is_same_v<T, DeliverSm>) {
            fields = p;
          } else {
            fields.sequence_number = p.sequence_number;
            fields.service_type = p.service_type;
            fields.source = p.source;
            fields.destination = p.destination;
            fields.esm_class = p.esm_class;
            fields.registered_delivery = p.registered_delivery;
            fields.data_coding = p.data_coding;
            fields.tlvs = p.tlvs;
          }
          const auto seq = p.sequence_number;
          if (m_inbound_in_flight >= k_max_inbound_in_flight) {
            // An SMSC past any sane window, or a store that stalls: push back
            // instead of growing memory without end. It delivers again.
            if (cmd == command_id::deliver_sm) {
              send(DeliverSmResp{seq, status::throttled});
            } else {
              send(DataSmResp{seq, status::throttled, {}});
            }
            m_session.m_metrics.deliver_sm_answered(false, status_label(status::throttled), 0);
            return;
          }
          ++m_inbound_in_flight;
          asio::co_spawn(m_session.m_executor,
                         answer_inbound(std::move(fields), cmd, seq, m_last_received),
                         asio::detached);
        } else if constexpr (std::is_same_v<T, EnquireLink>) {
          send(EnquireLinkResp{p.sequence_number, status::ok});
        } else if constexpr (std::is_same_v<T, Unbind>) {
          log_event(log::Level::info, "smsc: the SMSC unbound", {});
          send(UnbindResp{p.sequence_number, status::ok});
          m_bound = false;
          m_unbinding = true;
          // Close once the writer flushed the unbind_resp.
          asio::co_spawn(
              m_session.m_executor,
              [self = shared_from_this()]() -> awaitable<void> {
                asio::steady_timer t(self->m_session.m_executor);
                t.expires_after(200ms);
                co_await t.async_wait(use_awaitable);
                self->close("unbound by the SMSC");
              },
              asio::detached);
        } else if constexpr (std::is_same_v<T, Outbind>) {
          // We always bind ourselves; an outbind on a live session means nothing.
          log_event(log::Level::warning, "smsc: ignored an outbind", {});
        } else if constexpr (std::is_same_v<T, BindRequest> || std::is_same_v<T, SubmitSm>) {
          // Requests only an SMSC may receive.
          send_nack(p.sequence_number, status::invalid_command_id);
        } else {
          dispatch_response(p.sequence_number, std::forward<decltype(p)>(p));
        }
      },
      std::move(pdu));
}

void Connection::dispatch_response(std::uint32_t sequence, Pdu pdu) {
  const auto it = m_pending.find(sequence);
  if (it == m_pending.end()) {
    log_event(log::Level::debug, "smsc: a response nobody waits for",
              {{"command", command_name(command_id_of(pdu))}, {"sequence", sequence}});
    return;
  }
  it->second->response = std::move(pdu);
  it->second->timer->cancel();
  m_pending.erase(it);
}

awaitable<void> Connection::answer_inbound(ShortMessageFields fields, std::uint32_t command,
                                           std::uint32_t sequence,
                                           std::chrono::steady_clock::time_point read_at) {
  auto self = shared_from_this();
  std::uint32_t result = status::temporary_app_error;
  if (m_unbinding || m_session.m_refusing_inbound || m_session.m_stopping) {
    // Shutting down: the SMSC keeps the message and delivers it again.
    result = status::temporary_app_error;
  } else {
    ++m_session.m_mo_received;
    try {
      result = co_await m_session.m_on_inbound(std::move(fields));
    } catch (const std::exception& e) {
      log_event(log::Level::error, "smsc: storing an inbound message failed",
                {{"error", e.what()}});
      result = status::temporary_app_error;
    }
  }
  --m_inbound_in_flight;
  if (!m_open) {
    co_return; // the SMSC will redeliver what it did not see acknowledged
  }
  if (command == command_id::deliver_sm) {
    send(DeliverSmResp{sequence, result});
  } else {
    send(DataSmResp{sequence, result, {}});
  }
  const std::chrono::duration<double> waited = std::chrono::steady_clock::now() - read_at;
  m_session.m_metrics.deliver_sm_answered(result == status::ok, status_label(result),
                                          waited.count());
}

awaitable<std::optional<Pdu>> Connection::request(Pdu pdu, std::chrono::milliseconds timeout,
                                                  std::string* encode_error) {
  auto self = shared_from_this();
  if (!m_open) {
    co_return std::nullopt;
  }
  auto bytes = encode(pdu);
  if (!bytes) {
    log_event(log::Level::error, "smsc: cannot encode a PDU",
              {{"command", command_name(command_id_of(pdu))}, {"error", bytes.error()}});
    if (encode_error != nullptr) {
      *encode_error = bytes.error();
    }
    co_return std::nullopt; // nothing left: nothing to wait for
  }
  asio::steady_timer timer(m_session.m_executor);
  Pending pending{&timer, std::nullopt};
  const auto sequence = sequence_of(pdu);
  m_pending[sequence] = &pending;
  queue_frame(std::move(*bytes));
  timer.expires_after(timeout);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  // Still registered: timed out, or the connection closed under us.
  const auto it = m_pending.find(sequence);
  if (it != m_pending.end() && it->second == &pending) {
    m_pending.erase(it);
  }
  co_return std::move(pending.response);
}

awaitable<bool> Connection::acquire_slot(unsigned window) {
  auto self = shared_from_this();
  // The timer never expires (see the constructor): waiters are woken one at
  // a time by release_slot(), or all at once by close().
  while (!try_acquire_slot(window)) {
    if (!m_open || !m_bound) {
      co_return false;
    }
    boost::system::error_code ec;
    co_await m_window_wake.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  co_return true;
}

bool Connection::try_acquire_slot(unsigned window) {
  if (!m_open || !m_bound || m_submits_in_flight >= window) {
    return false;
  }
  ++m_submits_in_flight;
  return true;
}

void Connection::release_slot() {
  --m_submits_in_flight;
  m_window_wake.cancel_one();
}

awaitable<SubmitResult> Connection::submit(SubmitSm pdu) {
  auto self = shared_from_this();
  SubmitResult result;
  if (!m_open || !m_bound) {
    release_slot();
    result.status = SubmitStatus::not_sent;
    result.error = "link not bound";
    co_return result;
  }
  Pdu submit_pdu = std::move(pdu);
  std::string encode_error;
  auto response =
      co_await request(std::move(submit_pdu), m_session.m_config.response_timeout, &encode_error);
  release_slot();
  if (!encode_error.empty()) {
    result.status = SubmitStatus::rejected_permanent; // it can never be sent as it is
    result.error = "cannot encode submit_sm: " + encode_error;
    co_return result;
  }
  if (!response) {
    result.status = SubmitStatus::no_response;
    result.error =
        m_open ? "no submit_sm_resp within response_timeout" : "link closed before submit_sm_resp";
    m_session.m_metrics.submit_sm_unanswered();
    co_return result;
  }
  if (const auto* resp = std::get_if<SubmitSmResp>(&*response)) {
    result.command_status = resp->command_status;
    result.message_id = resp->message_id;
  } else if (const auto* nack = std::get_if<GenericNack>(&*response)) {
    // The SMSC did not take the submit, whatever status the nack carries.
    result.command_status =
        nack->command_status == status::ok ? status::system_error : nack->command_status;
    result.status = is_temporary_submit_status(result.command_status)
                        ? SubmitStatus::rejected_temporary
                        : SubmitStatus::rejected_permanent;
    result.error = fmt::format("generic_nack status 0x{:08X}", nack->command_status);
    m_session.m_metrics.submit_sm_answered(false, status_label(nack->command_status));
    co_return result;
  } else {
    result.command_status = status::system_error;
  }
  if (result.command_status == status::ok) {
    result.status = SubmitStatus::accepted;
    ++m_session.m_mt_submitted;
  } else {
    result.status = is_temporary_submit_status(result.command_status)
                        ? SubmitStatus::rejected_temporary
                        : SubmitStatus::rejected_permanent;
    result.error = fmt::format("submit_sm_resp status 0x{:08X}", result.command_status);
  }
  m_session.m_metrics.submit_sm_answered(result.command_status == status::ok,
                                         status_label(result.command_status));
  co_return result;
}

awaitable<void> Connection::unbind_and_close(std::chrono::milliseconds grace) {
  auto self = shared_from_this();
  m_unbinding = true;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer poll(m_session.m_executor);
  while (m_open && m_submits_in_flight > 0 && std::chrono::steady_clock::now() < deadline) {
    boost::system::error_code ec;
    poll.expires_after(50ms);
    co_await poll.async_wait(asio::redirect_error(use_awaitable, ec));
  }
  if (m_open && m_bound) {
    const auto remaining =
        std::max<std::chrono::milliseconds>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                deadline - std::chrono::steady_clock::now()),
                                            500ms);
    Pdu unbind = Unbind{m_session.next_sequence()};
    const auto response = co_await request(
        std::move(unbind), std::min(remaining, m_session.m_config.response_timeout));
    m_bound = false;
    log_event(log::Level::info, response ? "smsc: unbound" : "smsc: no unbind_resp; closing anyway",
              {});
  }
  close("shutting down");
}

void Connection::send(const Pdu& pdu) {
  auto bytes = encode(pdu);
  if (!bytes) {
    log_event(log::Level::error, "smsc: cannot encode a PDU",
              {{"command", command_name(command_id_of(pdu))}, {"error", bytes.error()}});
    return;
  }
  queue_frame(std::move(*bytes));
}

void Connection::queue_frame(std::vector<std::uint8_t> frame) {
  if (!m_open) {
    return;
  }
  m_outgoing_bytes += frame.size();
  m_outgoing.push_back(std::move(frame));
  if (m_outgoing_bytes > m_session.m_config.max_outgoing_bytes) {
    // Whatever it had not read it will send again (unanswered deliver_sm)
    // or we will (submits end in doubt and are judged by their receipts).
    const auto reason =
        fmt::format("the SMSC is not reading: {} octets wait to be written", m_outgoing_bytes);
    fault("smsc: the SMSC is not reading; reconnecting", reason,
          {{"outgoing_octets", m_outgoing_bytes}});
    close(reason);
    return;
  }
  m_write_wake.cancel_one();
}

void Connection::send_nack(std::uint32_t sequence, std::uint32_t status) {
  send(GenericNack{sequence, status});
}

void Connection::count_written(const std::deque<std::vector<std::uint8_t>>& frames) const {
  // Counted as the SMSC sees them: once on the wire, answered or not.
  for (const auto& frame : frames) {
    if (frame.size() >= k_header_length &&
        header_fields(std::span<const std::uint8_t, k_header_length>(frame.data(), k_header_length))
                .command_id == command_id::submit_sm) {
      m_session.m_metrics.submit_sm_sent();
    }
  }
}

awaitable<void> Connection::writer() {
  auto self = shared_from_this();
  std::vector<asio::const_buffer> buffers;
  std::deque<std::vector<std::uint8_t>> in_flight;
  while (m_open) {
    if (m_outgoing.empty()) {
      boost::system::error_code ec;
      m_write_wake.expires_at(std::chrono::steady_clock::time_point::max());
      co_await m_write_wake.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    // Everything queued goes out in one gathered write.
    in_flight.swap(m_outgoing);
    m_outgoing_bytes = 0;
    buffers.clear();
    for (const auto& b : in_flight) {
      buffers.emplace_back(asio::buffer(b));
    }
    boost::system::error_code ec;
    m_write_started = std::chrono::steady_clock::now();
    if (m_tls) {
      co_await asio::async_write(m_stream, buffers, asio::redirect_error(use_awaitable, ec));
    } else {
      co_await asio::async_write(socket(), buffers, asio::redirect_error(use_awaitable, ec));
    }
    m_write_started.reset();
    if (!ec) {
      count_written(in_flight);
    }
    in_flight.clear();
    if (ec) {
      close(fmt::format("write failed: {}", ec.message()));
    }
  }
}

awaitable<void> Connection::keepalive() {
  auto self = shared_from_this();
  const auto interval = m_session.m_config.enquire_link_interval;
  asio::steady_timer timer(m_session.m_executor);
  auto last_enquire = std::chrono::steady_clock::now();
  while (m_open && m_bound) {
    timer.expires_after(std::min<std::chrono::milliseconds>(interval / 4 + 1ms, 1s));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!m_open || !m_bound) {
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    // A peer that sends but never reads fills our socket buffers; the write
    // then never ends while the reader still sees PDUs.
    if (m_write_started && now - *m_write_started >= m_session.m_config.response_timeout) {
      const auto stalled =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - *m_write_started).count();
      const auto reason =
          fmt::format("the SMSC is not reading: a write stalled for {} ms", stalled);
      fault("smsc: the SMSC is not reading; reconnecting", reason, {{"stalled_ms", stalled}});
      close(reason);
      break;
    }
    const auto idle = now - m_last_received;
    if (idle >= 3 * interval) {
      fault("smsc: peer silent; reconnecting", "no PDU from the SMSC for 3 enquire_link intervals",
            {{"silent_ms", std::chrono::duration_cast<std::chrono::milliseconds>(idle).count()}});
      close("dead peer");
      break;
    }
    // Ask once an interval while nothing arrives; any PDU (the response
    // included) resets the idle clock in the reader.
    if (idle >= interval && now - last_enquire >= interval) {
      last_enquire = now;
      asio::co_spawn(
          m_session.m_executor,
          [self, this]() -> awaitable<void> {
            Pdu enquire = EnquireLink{m_session.next_sequence()};
            co_await request(std::move(enquire), m_session.m_config.response_timeout);
          },
          asio::detached);
    }
  }
}

void Connection::close(const std::string& reason) {
  if (!m_open && !socket().is_open()) {
    return;
  }
  if (m_open) {
    log_event(log::Level::debug, "smsc: closing", {{"reason", reason}});
  }
  m_open = false;
  m_bound = false;
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  m_write_wake.cancel();
  m_window_wake.cancel();
  m_closed_wake.cancel();
  // Wake every requester; none of them gets a response now.
  for (auto& [seq, pending] : m_pending) {
    pending->timer->cancel();
  }
  m_pending.clear();
}

} // namespace laporsms::smpp

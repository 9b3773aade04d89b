#include <laporsms/app/control.hpp>
#include <laporsms/util/accept_failures.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>
#include <stdexcept>
#include <sys/stat.h>

namespace laporsms::app {

namespace {
// A request line longer than this is not one of ours.
constexpr std::size_t k_max_request = 64 * 1024;
} // namespace

ControlServer::ControlServer(asio::any_io_executor executor, std::filesystem::path path,
                             Handler handler, ControlLimits limits)
    : m_path(std::move(path)), m_acceptor(executor), m_handler(std::move(handler)),
      m_limits(limits) {
  std::error_code ec;
  std::filesystem::create_directories(m_path.parent_path(), ec);
  // A socket file left by a crash would make bind fail; nobody listens on it.
  // One somebody answers on is never taken over.
  if (std::filesystem::is_socket(m_path, ec)) {
    asio::local::stream_protocol::socket probe(executor);
    boost::system::error_code connect_error;
    probe.connect(asio::local::stream_protocol::endpoint(m_path.string()), connect_error);
    if (!connect_error) {
      throw std::runtime_error("another process serves the control socket " + m_path.string());
    }
    std::filesystem::remove(m_path, ec);
  }
  const asio::local::stream_protocol::endpoint endpoint(m_path.string());
  m_acceptor.open(endpoint.protocol());
  m_acceptor.bind(endpoint);
  ::chmod(m_path.c_str(), 0660);
  m_acceptor.listen();
}

ControlServer::~ControlServer() {
  std::error_code ec;
  std::filesystem::remove(m_path, ec);
}

void ControlServer::stop() {
  boost::system::error_code ec;
  m_acceptor.close(ec);
  for (auto& client : m_clients) {
    close(*client);
  }
}

void ControlServer::close(Client& client) {
  boost::system::error_code ignored;
  client.socket.close(ignored);
  client.deadline.cancel();
}

bool ControlServer::evict_idlest() {
  ClientPtr idlest;
  for (const auto& client : m_clients) {
    if (!client->busy && client->socket.is_open() &&
        (!idlest || client->last_active < idlest->last_active)) {
      idlest = client;
    }
  }
  if (!idlest) {
    return false;
  }
  close(*idlest);
  return true;
}

awaitable<void> ControlServer::run() {
  util::AcceptFailures failures("control");
  asio::steady_timer pause(m_acceptor.get_executor());
  while (m_acceptor.is_open()) {
    boost::system::error_code ec;
    auto socket = co_await m_acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) {
        break;
      }
      // Out of file descriptors (or another passing fault): closing an idle
      // client frees one, so try again at once; with nothing to close, wait
      // a little, since an accept loop that retries at once spins the CPU.
      const auto wait = failures.failed(ec.message(), "closing idle clients, retrying");
      if (evict_idlest()) {
        continue;
      }
      pause.expires_after(wait);
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    failures.succeeded();
    if (m_clients.size() >= m_limits.max_clients && !evict_idlest()) {
      boost::system::error_code ignored;
      socket.close(ignored); // every slot is answering a request: come back later
      continue;
    }
    auto client = std::make_shared<Client>(std::move(socket));
    m_clients.push_back(client);
    asio::co_spawn(m_acceptor.get_executor(), watch(client.get()), asio::detached);
    asio::co_spawn(m_acceptor.get_executor(), serve(client.get()), asio::detached);
  }
}

awaitable<void> ControlServer::watch(Client* raw) {
  const ClientPtr client = raw->shared_from_this();
  while (client->socket.is_open()) {
    client->deadline.expires_at(client->last_active + m_limits.idle_timeout);
    boost::system::error_code ec;
    co_await client->deadline.async_wait(asio::redirect_error(use_awaitable, ec));
    if (!client->socket.is_open()) {
      break;
    }
    if (!client->busy &&
        std::chrono::steady_clock::now() >= client->last_active + m_limits.idle_timeout) {
      close(*client); // said nothing for too long
    }
  }
}

awaitable<void> ControlServer::serve(Client* raw) {
  const ClientPtr client = raw->shared_from_this();
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    const auto n =
        co_await asio::async_read_until(client->socket, asio::dynamic_buffer(buffer, k_max_request),
                                        '\n', asio::redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
    client->busy = true;
    const std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    nlohmann::json reply;
    try {
      const auto request = nlohmann::json::parse(line);
      reply = co_await m_handler(request);
    } catch (const nlohmann::json::exception& e) {
      reply = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    } catch (const std::exception& e) {
      reply = {{"ok", false}, {"error", e.what()}};
    }
    // Stored text need not be valid UTF-8 (an SMSC's odd sender): replaced, never a throw.
    std::string out = reply.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    co_await asio::async_write(client->socket, asio::buffer(out),
                               asio::redirect_error(use_awaitable, ec));
    client->busy = false;
    client->last_active = std::chrono::steady_clock::now();
    if (ec) {
      break;
    }
  }
  close(*client);
  m_clients.remove(client);
}

} // namespace laporsms::app

// The Prometheus endpoint ([metrics] listen): HTTP/1.1 on the daemon's io
// context (Beast). GET /metrics answers 200 with the text exposition format
// 0.0.4; any other path 404, any other method on it 405. Bounded like the
// control socket: at most `max_clients` at once (a newcomer past the cap
// closes the client that has waited longest for its next request, so that
// idle kept-alive connections cannot lock a scraper out; with every client
// answering a request the newcomer is closed), a request must be read within
// `read_timeout`, a connection idle that long between requests is closed, and
// a request head over 8 KiB or with a body is refused.
#pragma once

#include <laporsms/util/net.hpp>

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <string>

namespace laporsms::metrics {

struct ServerLimits {
  std::size_t max_clients = 4;
  std::chrono::milliseconds read_timeout{5000};
};

// "host:port", "[v6]:port" (host a name or an address); throws
// std::invalid_argument when it is neither.
tcp::endpoint resolve_listen(const std::string& listen);

class Server {
public:
  // Produces the body of one scrape; runs on the io thread and may suspend
  // (it must not block).
  using Render = std::function<awaitable<std::string>()>;

  // Binds and listens (throws boost::system::system_error when it cannot).
  Server(asio::any_io_executor executor, const tcp::endpoint& endpoint, Render render,
         ServerLimits limits = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  awaitable<void> run();
  void stop();
  tcp::endpoint local_endpoint() const { return m_acceptor.local_endpoint(); }

private:
  struct Client;
  // A raw pointer, not a shared_ptr parameter: g++ 12 mis-handles
  // non-trivial coroutine parameters; the coroutine takes its own reference.
  awaitable<void> serve(Client* raw);

  tcp::acceptor m_acceptor;
  Render m_render;
  ServerLimits m_limits;
  // Closes the client waiting longest for a request; false when none waits.
  bool evict_idlest();

  std::list<std::shared_ptr<Client>> m_clients;
};

} // namespace laporsms::metrics

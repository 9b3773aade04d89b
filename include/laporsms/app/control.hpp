// The control socket: a Unix stream socket speaking one JSON object per line
// each way (interfaces.md §5). Only the daemon's user and group may connect
// (mode 0660).
//
// A local client that misbehaves (connects and says nothing, floods
// connections, exhausts the process's file descriptors) must not keep the
// operators out: clients are capped, an idle one is closed after
// `idle_timeout`, the longest idle one makes room for a newcomer at the cap,
// and accept errors back off instead of spinning.
#pragma once

#include <laporsms/util/net.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>

namespace laporsms::app {

struct ControlLimits {
  std::size_t max_clients = 64;
  std::chrono::milliseconds idle_timeout{10000};
};

class ControlServer {
public:
  // `handler` answers one request; it runs on the io thread and may suspend.
  using Handler = std::function<awaitable<nlohmann::json>(const nlohmann::json&)>;

  // Binds the socket (replacing a stale one left by a crash, never one that
  // somebody answers on). Throws std::system_error / std::runtime_error when
  // it cannot.
  ControlServer(asio::any_io_executor executor, std::filesystem::path path, Handler handler,
                ControlLimits limits = {});
  ~ControlServer();

  awaitable<void> run();
  void stop();

private:
  struct Client : std::enable_shared_from_this<Client> {
    explicit Client(asio::local::stream_protocol::socket s)
        : socket(std::move(s)), deadline(socket.get_executor()) {}
    asio::local::stream_protocol::socket socket;
    asio::steady_timer deadline;
    std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();
    bool busy = false; // a request is being answered
  };
  using ClientPtr = std::shared_ptr<Client>;

  // Raw pointers, not shared_ptr parameters: g++ 12 mis-handles non-trivial
  // coroutine parameters; each coroutine takes its own reference first thing.
  awaitable<void> serve(Client* raw);
  awaitable<void> watch(Client* raw);
  // Closes the client idle longest; false when every one is busy.
  bool evict_idlest();
  static void close(Client& client);

  std::filesystem::path m_path;
  asio::local::stream_protocol::acceptor m_acceptor;
  Handler m_handler;
  ControlLimits m_limits;
  std::list<ClientPtr> m_clients;
};

} // namespace laporsms::app

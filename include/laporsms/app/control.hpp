// The control socket: a Unix stream socket speaking one JSON object per line
// each way (interfaces.md §5). Only the daemon's user and group may connect
// (mode 0660).
#pragma once

#include <laporsms/util/net.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>

namespace laporsms::app {

class ControlServer {
public:
  // `handler` answers one request; it runs on the io thread and may suspend.
  using Handler = std::function<awaitable<nlohmann::json>(const nlohmann::json&)>;

  // Binds the socket (replacing a stale one left by a crash). Throws
  // std::system_error when it cannot.
  ControlServer(asio::any_io_executor executor, std::filesystem::path path, Handler handler);
  ~ControlServer();

  awaitable<void> run();
  void stop();

private:
  awaitable<void> serve(asio::local::stream_protocol::socket socket);

  std::filesystem::path m_path;
  asio::local::stream_protocol::acceptor m_acceptor;
  Handler m_handler;
};

} // namespace laporsms::app

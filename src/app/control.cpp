#include <laporsms/app/control.hpp>
#include <laporsms/util/log.hpp>

#include <sys/stat.h>

namespace laporsms::app {

namespace {
// A request line longer than this is not one of ours.
constexpr std::size_t k_max_request = 64 * 1024;
} // namespace

ControlServer::ControlServer(asio::any_io_executor executor, std::filesystem::path path,
                             Handler handler)
    : m_path(std::move(path)), m_acceptor(executor), m_handler(std::move(handler)) {
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
}

awaitable<void> ControlServer::run() {
  while (m_acceptor.is_open()) {
    boost::system::error_code ec;
    auto socket = co_await m_acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) {
        break;
      }
      log::warn("control: accept failed: {}", ec.message());
      continue;
    }
    asio::co_spawn(m_acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> ControlServer::serve(asio::local::stream_protocol::socket socket) {
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    const auto n =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, k_max_request), '\n',
                                        asio::redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
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
    std::string out = reply.dump() + "\n";
    co_await asio::async_write(socket, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      break;
    }
  }
}

} // namespace laporsms::app

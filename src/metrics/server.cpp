#include <laporsms/metrics/registry.hpp>
#include <laporsms/metrics/server.hpp>
#include <laporsms/util/accept_failures.hpp>
#include <laporsms/util/log.hpp>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <charconv>
#include <stdexcept>

namespace laporsms::metrics {

namespace beast = boost::beast;
namespace http = beast::http;

namespace {
constexpr std::size_t k_max_header = 8 * 1024;
} // namespace

struct Server::Client : std::enable_shared_from_this<Client> {
  explicit Client(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  // Waiting for (or reading) a request, not answering one; since when.
  bool reading = true;
  std::chrono::steady_clock::time_point reading_since = std::chrono::steady_clock::now();
};

tcp::endpoint resolve_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
    throw std::invalid_argument("\"" + listen + "\" is not host:port");
  }
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    throw std::invalid_argument("\"" + listen + "\" has no port between 1 and 65535");
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    return {address, static_cast<std::uint16_t>(port)};
  }
  // A name (localhost): resolved once, at start-up, before the loop runs.
  asio::io_context io;
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(host, port_text, ec);
  if (ec || results.empty()) {
    throw std::invalid_argument("cannot resolve \"" + host + "\": " + ec.message());
  }
  return results.begin()->endpoint();
}

Server::Server(asio::any_io_executor executor, const tcp::endpoint& endpoint, Render render,
               ServerLimits limits)
    : m_acceptor(executor), m_render(std::move(render)), m_limits(limits) {
  m_acceptor.open(endpoint.protocol());
  m_acceptor.set_option(tcp::acceptor::reuse_address(true));
  m_acceptor.bind(endpoint);
  m_acceptor.listen();
}

Server::~Server() {
  stop();
}

void Server::stop() {
  boost::system::error_code ignored;
  m_acceptor.close(ignored);
  for (auto& client : m_clients) {
    client->stream.socket().close(ignored);
  }
}

awaitable<void> Server::run() {
  util::AcceptFailures failures("metrics");
  asio::steady_timer pause(m_acceptor.get_executor());
  while (m_acceptor.is_open()) {
    boost::system::error_code ec;
    auto socket = co_await m_acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !m_acceptor.is_open()) {
        break;
      }
      pause.expires_after(failures.failed(ec.message(), "retrying"));
      co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
      continue;
    }
    failures.succeeded();
    if (m_clients.size() >= m_limits.max_clients && !evict_idlest()) {
      boost::system::error_code ignored;
      socket.close(ignored); // every slot is answering: a scraper tries again next interval
      continue;
    }
    auto client = std::make_shared<Client>(std::move(socket));
    m_clients.push_back(client);
    asio::co_spawn(m_acceptor.get_executor(), serve(client.get()), asio::detached);
  }
}

bool Server::evict_idlest() {
  std::shared_ptr<Client> idlest;
  for (const auto& client : m_clients) {
    if (client->reading && (!idlest || client->reading_since < idlest->reading_since)) {
      idlest = client;
    }
  }
  if (!idlest) {
    return false;
  }
  // Its read fails at once and its serve() removes it.
  idlest->reading = false;
  boost::system::error_code ignored;
  idlest->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  idlest->stream.socket().close(ignored);
  return true;
}

awaitable<void> Server::serve(Client* raw) {
  const std::shared_ptr<Client> client = raw->shared_from_this();
  beast::flat_buffer buffer(k_max_header);
  for (;;) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(k_max_header);
    parser.body_limit(0); // a scrape has no body
    boost::system::error_code ec;
    // The deadline covers reading the whole request, and the idle time
    // before it on a kept-alive connection.
    client->stream.expires_after(m_limits.read_timeout);
    client->reading = true;
    client->reading_since = std::chrono::steady_clock::now();
    co_await http::async_read(client->stream, buffer, parser,
                              asio::redirect_error(use_awaitable, ec));
    client->reading = false;
    if (ec) {
      break;
    }
    const auto& request = parser.get();
    http::response<http::string_body> response;
    response.version(request.version());
    response.keep_alive(request.keep_alive());
    response.set(http::field::server, "laporsmsd");
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    if (target != "/metrics") {
      response.result(http::status::not_found);
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "not found: metrics are at /metrics\n";
    } else if (request.method() != http::verb::get) {
      response.result(http::status::method_not_allowed);
      response.set(http::field::allow, "GET");
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "method not allowed: use GET\n";
    } else {
      response.result(http::status::ok);
      response.set(http::field::content_type,
                   beast::string_view(k_content_type.data(), k_content_type.size()));
      response.body() = co_await m_render();
    }
    response.prepare_payload();
    client->stream.expires_after(m_limits.read_timeout);
    co_await http::async_write(client->stream, response, asio::redirect_error(use_awaitable, ec));
    if (ec || !response.keep_alive()) {
      break;
    }
  }
  boost::system::error_code ignored;
  client->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  client->stream.socket().close(ignored);
  m_clients.remove(client);
}

} // namespace laporsms::metrics

// The upstream HTTP/1.1 client: one coroutine per request, a small pool of
// kept-alive connections, and a counting gate for the requests in flight.
#include <laporsms/lapor/http_client.hpp>
#include <laporsms/util/tls.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fmt/core.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <list>
#include <optional>
#include <stdexcept>

namespace laporsms::lapor {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;
using Result = tl::expected<HttpResponse, HttpError>;

constexpr std::string_view k_user_agent = "laporsms";
constexpr std::uint32_t k_header_limit = 16 * 1024;
// Servers may send a few 1xx before the final response; more is a broken peer.
constexpr int k_max_interim_responses = 4;
// A close_notify exchange must not hold a finished connection for long.
constexpr std::chrono::seconds k_tls_shutdown_timeout{2};

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view default_port(std::string_view scheme) {
  return scheme == "https" ? "443" : "80";
}

// RFC 9110 token characters, the only ones a field name may use.
bool valid_field_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// No CR, LF, NUL or other controls: they would let a value end the header.
bool valid_field_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7f);
  });
}

bool valid_url(const Url& url) {
  if ((url.scheme != "http" && url.scheme != "https") || url.host.empty() || url.port.empty() ||
      url.port.size() > 5 || !std::all_of(url.port.begin(), url.port.end(), is_digit) ||
      url.target.empty() || url.target.front() != '/') {
    return false;
  }
  auto clean = [](const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u > 0x20 && u != 0x7f;
    });
  };
  return clean(url.host) && clean(url.target);
}

std::string host_header(const Url& url) {
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != default_port(url.scheme)) {
    host += ":" + url.port;
  }
  return host;
}

HttpError make_error(HttpErrorKind kind, std::string_view what, std::string_view step,
                     std::string_view reason) {
  return HttpError{kind, fmt::format("{}: {}: {}", what, step, reason)};
}

// One open connection, plain or TLS, and the pool key it belongs to.
struct Connection {
  std::string key;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// How one request/response exchange on a connection ended.
struct Exchange {
  error_code ec;
  bool reading = false;  // the failure came while reading, not writing
  bool got_some = false; // some response bytes had arrived when it failed
  bool reusable = false;
  HttpResponse response;
};

// Whether an idle kept-alive connection may still carry a request, as far
// as can be told without sending one: a server that closed it (its
// keep-alive timeout ran out) has sent FIN, and a peek reads end of file.
// Anything else waiting to be read (a TLS close_notify, stray bytes) makes
// it as unusable. Sent over anyway, a request that may not be sent twice
// would fail once written whole, and its report would wait for a retry
// marked a possible duplicate.
bool still_open(tcp::socket& socket) {
  error_code ec;
  socket.non_blocking(true, ec);
  if (ec) {
    return false;
  }
  std::array<char, 1> byte{};
  socket.receive(asio::buffer(byte), tcp::socket::message_peek, ec);
  const bool open = ec == asio::error::would_block;
  socket.non_blocking(false, ec);
  return open;
}

template <class Stream>
asio::awaitable<Exchange> exchange(Stream& stream, beast::tcp_stream& layer,
                                   const http::request<http::string_body>& req,
                                   Clock::time_point deadline, std::size_t body_limit) {
  Exchange result;
  layer.expires_at(deadline);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, result.ec));
  if (result.ec) {
    co_return result;
  }
  result.reading = true;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  for (int interim = 0;; ++interim) {
    parser.emplace();
    parser->header_limit(k_header_limit);
    parser->body_limit(body_limit);
    layer.expires_at(deadline);
    co_await http::async_read_header(stream, buffer, *parser,
                                     asio::redirect_error(asio::use_awaitable, result.ec));
    result.got_some = result.got_some || parser->got_some() || buffer.size() > 0;
    if (result.ec) {
      co_return result;
    }
    // Beast 1.74's eager parse (what async_read does) drops the body_limit
    // error for a Content-Length body, so that case is checked here; chunked
    // and read-to-close bodies are bounded by the parser itself.
    const auto length = parser->content_length();
    if (length && *length > body_limit) {
      result.ec = http::error::body_limit;
      co_return result;
    }
    if (!parser->is_done()) {
      co_await http::async_read(stream, buffer, *parser,
                                asio::redirect_error(asio::use_awaitable, result.ec));
      if (result.ec) {
        co_return result;
      }
    }
    if (parser->get().body().size() > body_limit) {
      result.ec = http::error::body_limit;
      co_return result;
    }
    const unsigned status = parser->get().result_int();
    if (status >= 200 || status < 100) {
      break;
    }
    if (interim == k_max_interim_responses) {
      result.ec = http::error::bad_status;
      co_return result;
    }
  }
  auto& message = parser->get();
  result.response.status = message.result_int();
  result.response.content_type = std::string(message[http::field::content_type]);
  result.response.body = std::move(message.body());
  // Bytes beyond the response mean the peer is out of step with us: do not reuse.
  result.reusable = parser->keep_alive() && buffer.size() == 0;
  co_return result;
}

HttpError describe_exchange_error(const Exchange& ex, std::string_view what,
                                  std::size_t body_limit) {
  const error_code& ec = ex.ec;
  const std::string_view step = ex.reading ? "read" : "write";
  if (ec == beast::error::timeout) {
    return make_error(HttpErrorKind::timeout, what, step, "deadline passed");
  }
  if (ec == http::error::body_limit) {
    return make_error(HttpErrorKind::too_large, what, step,
                      fmt::format("response body over {} bytes", body_limit));
  }
  if (ec == http::error::end_of_stream) {
    return make_error(HttpErrorKind::io, what, step, "connection closed before a response");
  }
  if (ec == http::error::partial_message) {
    return make_error(HttpErrorKind::io, what, step, "connection closed mid-response");
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return make_error(HttpErrorKind::protocol, what, step, ec.message());
  }
  return make_error(HttpErrorKind::io, what, step, ec.message());
}

} // namespace

std::string_view to_string(HttpErrorKind kind) {
  switch (kind) {
  case HttpErrorKind::connect:
    return "connect";
  case HttpErrorKind::tls:
    return "tls";
  case HttpErrorKind::timeout:
    return "timeout";
  case HttpErrorKind::io:
    return "io";
  case HttpErrorKind::too_large:
    return "too_large";
  case HttpErrorKind::protocol:
    return "protocol";
  }
  return "unknown";
}

tl::expected<Url, std::string> parse_url(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return tl::make_unexpected("url contains a blank or a control character");
    }
  }
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    return tl::make_unexpected("url must start with http:// or https://");
  }
  Url url;
  url.scheme = lower(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    return tl::make_unexpected("url scheme must be http or https");
  }
  const std::string_view rest = text.substr(scheme_end + 3);
  const auto authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view tail =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return tl::make_unexpected("url must not carry user info");
  }

  std::string_view host;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return tl::make_unexpected("url has an unterminated IPv6 address");
    }
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return tl::make_unexpected("url has junk after its IPv6 address");
      }
      port = after.substr(1);
    }
    error_code ec;
    asio::ip::make_address_v6(std::string(host), ec);
    if (ec) {
      return tl::make_unexpected("url has an invalid IPv6 address");
    }
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    const bool host_ok = std::all_of(host.begin(), host.end(), [](char c) {
      return is_alnum(c) || c == '-' || c == '.' || c == '_';
    });
    if (!host_ok) {
      return tl::make_unexpected("url host has characters a host name cannot have");
    }
  }
  if (host.empty()) {
    return tl::make_unexpected("url has no host");
  }
  url.host = lower(host);

  if (port) {
    if (port->empty() || port->size() > 5 || !std::all_of(port->begin(), port->end(), is_digit)) {
      return tl::make_unexpected("url port must be a number from 1 to 65535");
    }
    const unsigned value = static_cast<unsigned>(std::stoul(std::string(*port)));
    if (value == 0 || value > 65535) {
      return tl::make_unexpected("url port must be a number from 1 to 65535");
    }
    url.port = std::to_string(value);
  } else {
    url.port = std::string(default_port(url.scheme));
  }

  tail = tail.substr(0, tail.find('#'));
  if (tail.empty()) {
    url.target = "/";
  } else if (tail.front() == '?') {
    url.target = "/" + std::string(tail);
  } else {
    url.target = std::string(tail);
  }
  return url;
}

struct HttpClient::Impl {
  Impl(asio::any_io_executor ex, HttpClientOptions opts)
      : m_ex(std::move(ex)), m_opts(std::move(opts)), m_tls_ctx(ssl::context::tls_client) {
    if (m_opts.concurrency == 0) {
      m_opts.concurrency = 1;
    }
    SSL_CTX_set_min_proto_version(m_tls_ctx.native_handle(), TLS1_2_VERSION);
    m_tls_ctx.set_verify_mode(ssl::verify_peer);
    // A host without a system store can still trust ca_file alone.
    error_code ignored;
    m_tls_ctx.set_default_verify_paths(ignored);
    if (!m_opts.ca_file.empty()) {
      error_code ec;
      m_tls_ctx.load_verify_file(m_opts.ca_file.string(), ec);
      if (ec) {
        throw std::runtime_error(
            fmt::format("ca_file {}: cannot load: {}", m_opts.ca_file.string(), ec.message()));
      }
    }
  }

  // A turn to have a request in flight; given back when destroyed. A waiter
  // is woken by setting its timer into the past, which also works when the
  // wake-up comes before it starts waiting.
  class Slot {
  public:
    explicit Slot(Impl& impl) : m_impl(impl), m_timer(impl.m_ex) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() {
      if (m_state == State::held) {
        m_impl.release_slot();
      } else if (m_state == State::waiting) {
        m_impl.m_waiters.erase(m_position);
      }
    }

    asio::awaitable<void> acquire() {
      if (m_impl.m_in_flight < m_impl.m_opts.concurrency && m_impl.m_waiters.empty()) {
        ++m_impl.m_in_flight;
        m_state = State::held;
        co_return;
      }
      m_timer.expires_at(asio::steady_timer::time_point::max());
      m_position = m_impl.m_waiters.insert(m_impl.m_waiters.end(), this);
      m_state = State::waiting;
      while (m_state == State::waiting) {
        error_code ec;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
    }

    // Called by release_slot: the slot passes straight to this waiter.
    void grant() {
      m_state = State::held;
      m_timer.expires_at(asio::steady_timer::time_point::min());
    }

  private:
    enum class State { idle, waiting, held };
    Impl& m_impl;
    asio::steady_timer m_timer;
    State m_state = State::idle;
    std::list<Slot*>::iterator m_position;
  };

  void release_slot() {
    if (m_waiters.empty()) {
      --m_in_flight;
      return;
    }
    Slot* next = m_waiters.front();
    m_waiters.pop_front();
    next->grant();
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    for (;;) {
      // Newest first: the one least likely to have been closed by the server.
      const auto it = std::find_if(m_idle.rbegin(), m_idle.rend(),
                                   [&key](const auto& conn) { return conn->key == key; });
      if (it == m_idle.rend()) {
        return nullptr;
      }
      auto conn = std::move(*it);
      m_idle.erase(std::next(it).base());
      if (still_open(conn->tcp().socket())) {
        return conn;
      }
      retire(std::move(conn), false); // the server hung up while it sat idle
    }
  }

  void keep_idle(std::unique_ptr<Connection> conn) {
    conn->tcp().expires_never();
    if (m_idle.size() >= m_opts.concurrency) {
      retire(std::move(m_idle.front()), true);
      m_idle.erase(m_idle.begin());
    }
    m_idle.push_back(std::move(conn));
  }

  // Closes a connection we are done with. A TLS connection that ended cleanly
  // says goodbye (close_notify) in the background; a broken one is just closed.
  void retire(std::unique_ptr<Connection> conn, bool graceful) {
    if (graceful && conn->tls) {
      asio::co_spawn(m_ex, shutdown_tls(std::move(conn)), asio::detached);
      return;
    }
    error_code ignored;
    conn->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->tcp().close();
  }

  static asio::awaitable<void> shutdown_tls(std::unique_ptr<Connection> conn) {
    conn->tcp().expires_after(k_tls_shutdown_timeout);
    error_code ec;
    co_await conn->tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    // Every error is ignored here, ssl::error::stream_truncated included: it
    // means the server closed TCP without its own close_notify, which many do
    // after answering. That is benign because the response we used was already
    // complete, framed by Content-Length or chunked encoding, before the
    // shutdown began; a truncation attack cannot cut what was already read.
    // (A body framed by end-of-stream is different: there stream_truncated
    // comes from the read and fails the request.)
    conn->tcp().close();
  }

  asio::awaitable<tl::expected<std::unique_ptr<Connection>, HttpError>>
  open(const Url& url, const std::string& key, Clock::time_point deadline, std::string_view what) {
    error_code ec;
    // getaddrinfo cannot be cancelled; resolv.conf's own timeouts bound it, and
    // the deadline is checked once it returns.
    tcp::resolver resolver(m_ex);
    const auto endpoints = co_await resolver.async_resolve(
        url.host, url.port, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::connect, what, "resolve", ec.message()));
    }
    if (Clock::now() >= deadline) {
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::timeout, what, "resolve", "deadline passed"));
    }

    auto conn = std::make_unique<Connection>();
    conn->key = key;
    if (url.scheme == "https") {
      conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(m_ex, m_tls_ctx);
    } else {
      conn->plain = std::make_unique<beast::tcp_stream>(m_ex);
    }
    conn->tcp().expires_at(deadline);
    co_await conn->tcp().async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      const auto kind =
          ec == beast::error::timeout ? HttpErrorKind::timeout : HttpErrorKind::connect;
      co_return tl::make_unexpected(make_error(kind, what, "connect", ec.message()));
    }
    if (!conn->tls) {
      co_return conn;
    }

    // SNI carries names only (RFC 6066); the certificate check takes either.
    if (!util::set_server_name(conn->tls->native_handle(), url.host)) {
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::tls, what, "handshake", "cannot set the server name"));
    }
    conn->tls->set_verify_mode(ssl::verify_peer);
    if (!util::expect_peer_name(conn->tls->native_handle(), url.host)) {
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::tls, what, "handshake", "cannot set the expected host name"));
    }
    conn->tcp().expires_at(deadline);
    co_await conn->tls->async_handshake(ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == beast::error::timeout) {
        co_return tl::make_unexpected(
            make_error(HttpErrorKind::timeout, what, "handshake", "deadline passed"));
      }
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::tls, what, "handshake",
                     util::handshake_failure(ec, conn->tls->native_handle())));
    }
    co_return conn;
  }

  static asio::awaitable<Result> send(std::shared_ptr<Impl> self, HttpRequest request) {
    const Url& url = request.url;
    const auto verb = http::to_string(request.method);
    const std::string what =
        fmt::format("{} {}:{}", std::string_view(verb.data(), verb.size()), url.host, url.port);
    if (!valid_url(url)) {
      co_return tl::make_unexpected(HttpError{HttpErrorKind::protocol, "request: invalid url"});
    }
    if (request.method == http::verb::unknown) {
      co_return tl::make_unexpected(
          make_error(HttpErrorKind::protocol, what, "request", "unknown method"));
    }

    http::request<http::string_body> req{request.method, url.target, 11};
    req.set(http::field::host, host_header(url));
    req.set(http::field::user_agent, beast::string_view(k_user_agent.data(), k_user_agent.size()));
    for (const auto& [name, value] : request.headers) {
      if (!valid_field_name(name) || !valid_field_value(value)) {
        // Neither the name nor the value is repeated: the value may be a secret.
        co_return tl::make_unexpected(
            make_error(HttpErrorKind::protocol, what, "request", "a header is not valid HTTP"));
      }
      req.insert(name, value);
    }
    req.body() = std::move(request.body);
    const bool req_resendable = request.resend_if_unanswered;
    req.keep_alive(true);
    req.prepare_payload();

    Slot slot(*self);
    co_await slot.acquire();
    const auto deadline = Clock::now() + self->m_opts.timeout;
    const std::string key = fmt::format("{}://{}:{}", url.scheme, url.host, url.port);
    const std::size_t body_limit = self->m_opts.max_response_bytes;

    auto conn = self->take_idle(key);
    bool reused = conn != nullptr;
    for (bool retried = false;; retried = true) {
      if (!conn) {
        auto opened = co_await self->open(url, key, deadline, what);
        if (!opened) {
          co_return tl::make_unexpected(std::move(opened.error()));
        }
        conn = std::move(*opened);
        reused = false;
      }
      // Not `?:` with a co_await in each branch: g++ 12 mishandles the result
      // (ASan caught a short string still pointing into the freed frame).
      Exchange ex;
      if (conn->tls) {
        ex = co_await exchange(*conn->tls, conn->tcp(), req, deadline, body_limit);
      } else {
        ex = co_await exchange(*conn->plain, conn->tcp(), req, deadline, body_limit);
      }
      if (!ex.ec) {
        if (ex.reusable) {
          self->keep_idle(std::move(conn));
        } else {
          self->retire(std::move(conn), true);
        }
        co_return std::move(ex.response);
      }
      self->retire(std::move(conn), false);
      // A kept-alive connection the server has meanwhile closed fails like this
      // on first use, and one fresh try is usually safe. But once the whole
      // request was written the server may have acted on it: only a request
      // that may be sent twice is. After any response byte, or a timeout,
      // none is.
      const bool may_resend = !ex.reading || req_resendable;
      if (reused && !retried && !ex.got_some && ex.ec != beast::error::timeout && may_resend) {
        continue;
      }
      co_return tl::make_unexpected(describe_exchange_error(ex, what, body_limit));
    }
  }

  asio::any_io_executor m_ex;
  HttpClientOptions m_opts;
  ssl::context m_tls_ctx;
  std::vector<std::unique_ptr<Connection>> m_idle; // oldest first
  unsigned m_in_flight = 0;
  std::list<Slot*> m_waiters;
};

HttpClient::HttpClient(boost::asio::any_io_executor ex, HttpClientOptions opts)
    : m_impl(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

HttpClient::~HttpClient() = default;

boost::asio::awaitable<tl::expected<HttpResponse, HttpError>>
HttpClient::send(HttpRequest request) {
  // Not a coroutine itself: the frame below owns a reference to the pool, so
  // it stays valid even if this client is destroyed before the send finishes.
  return Impl::send(m_impl, std::move(request));
}

} // namespace laporsms::lapor

// An HTTP/1.1 client for the upstream API: Boost.Beast over plain TCP or TLS
// (OpenSSL), kept-alive connections reused per host, a bounded number of
// requests in flight, and one deadline per request. Redirects are not
// followed. Runs on one io_context thread; not thread-safe.
#pragma once

// clang-format off
#include <utility> // before any Asio header (asio issue #944)
// clang-format on

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::lapor {

// An absolute http or https URL split into what a request needs.
struct Url {
  std::string scheme; // "http" or "https", lower case
  std::string host;   // lower case; an IPv6 literal without its brackets
  std::string port;   // decimal; 80 or 443 when the URL names none
  std::string target; // path and query, at least "/"; the fragment is dropped

  bool operator==(const Url&) const = default;
};

// Parses `url`. Fails, with a reason that does not repeat the URL (it may carry
// a secret in its query), on another scheme, user info, an empty host, a bad
// port, or blanks and control characters anywhere.
tl::expected<Url, std::string> parse_url(std::string_view url);

struct HttpRequest {
  boost::beast::http::verb method = boost::beast::http::verb::post;
  Url url;
  // Sent in this order after Host and User-Agent; Content-Length is added.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Whether the request may be sent again on a fresh connection when a
  // reused one failed after the whole request was written and before any
  // answer: the server may have acted on it. True for reads and for APIs
  // with an idempotency key; false files a report twice at worst.
  bool resend_if_unanswered = true;
};

struct HttpResponse {
  unsigned status = 0;
  std::string content_type; // the Content-Type header as sent, or empty
  std::string body;
};

enum class HttpErrorKind {
  connect,   // name resolution or TCP connect failed
  tls,       // TLS handshake or certificate verification failed
  timeout,   // the request's deadline passed
  io,        // the connection broke while writing or reading
  too_large, // the response body exceeded max_response_bytes
  protocol,  // the peer's HTTP was malformed, or the request could not be sent as given
};

std::string_view to_string(HttpErrorKind kind);

struct HttpError {
  HttpErrorKind kind = HttpErrorKind::io;
  // "<verb> <host>:<port>: <step>: <reason>"; never the target, headers or body,
  // so no token can reach a log through it.
  std::string message;
};

struct HttpClientOptions {
  // Bounds a whole send() from the moment it gets its turn: resolve, connect,
  // handshake, write and read together, the one retry on a fresh connection
  // included. Each step's tcp_stream expiry is set to this one deadline.
  std::chrono::milliseconds timeout{15000};
  // Requests in flight at once (more wait their turn), and kept-alive idle
  // connections held at most.
  unsigned concurrency = 4;
  // Extra PEM bundle trusted for https, besides the system store; empty: none.
  std::filesystem::path ca_file;
  std::size_t max_response_bytes = 1 << 20;
};

// What the upstream stages (the forwarder, the status poller) need of HTTP:
// one request out, its whole response back. HttpClient is the real one; the
// stages' unit tests put a scripted API in its place.
class HttpTransport {
public:
  virtual ~HttpTransport() = default;
  virtual boost::asio::awaitable<tl::expected<HttpResponse, HttpError>>
  send(HttpRequest request) = 0;
};

class HttpClient final : public HttpTransport {
public:
  // Throws std::runtime_error when `opts.ca_file` is set but cannot be loaded.
  HttpClient(boost::asio::any_io_executor ex, HttpClientOptions opts);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` and reads the whole response. Reuses an idle kept-alive
  // connection to the same scheme, host and port when there is one, and
  // retries once on a fresh connection when a reused one turns out stale
  // (broke before any byte of the response arrived). TLS checks the
  // certificate chain against the system store plus ca_file and the host name
  // (SNI is sent for names, not for IP literals). A 3xx comes back as a
  // response. Network and protocol trouble comes back as an HttpError; only
  // std::bad_alloc and the like escape as exceptions. Safe to destroy the
  // client while sends are still suspended: they keep what they need alive.
  boost::asio::awaitable<tl::expected<HttpResponse, HttpError>> send(HttpRequest request) override;

private:
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

} // namespace laporsms::lapor

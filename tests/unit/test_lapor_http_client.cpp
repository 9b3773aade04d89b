#include <laporsms/lapor/http_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

using namespace laporsms::lapor;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;
using Result = tl::expected<HttpResponse, HttpError>;

namespace {

// What the test server does with one request.
struct Reply {
  std::string raw;                   // written as is
  bool close_after = false;          // close the connection after writing
  bool silent = false;               // never answer, keep the connection open
  std::chrono::milliseconds delay{}; // wait this long before answering
  bool drop = false;                 // read the request, then hang up without answering
};

std::string ok(std::string_view body, std::string_view extra_headers = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" +
         std::string(body);
}

// A loopback HTTP/1.1 server, plain or TLS, answering from a script.
struct TestServer {
  explicit TestServer(asio::io_context& io)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}

  unsigned short port() const { return acceptor.local_endpoint().port(); }

  tcp::acceptor acceptor;
  std::function<Reply(const http::request<http::string_body>&, int index)> handler;
  std::shared_ptr<ssl::context> tls;
  int accepted = 0;
  int handshake_failures = 0;
  int in_progress = 0;
  int max_in_progress = 0;
  std::string server_name; // SNI of the last TLS connection
  std::vector<http::request<http::string_body>> requests;
};

template <class Stream> asio::awaitable<void> serve_requests(Stream& stream, TestServer& server) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> request;
    error_code ec;
    co_await http::async_read(stream, buffer, request,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    server.requests.push_back(request);
    const Reply reply = server.handler(request, static_cast<int>(server.requests.size()) - 1);
    if (reply.drop) {
      co_return;
    }
    ++server.in_progress;
    server.max_in_progress = std::max(server.max_in_progress, server.in_progress);
    asio::steady_timer timer(stream.get_executor());
    timer.expires_after(reply.silent ? std::chrono::milliseconds(10s) : reply.delay);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    --server.in_progress;
    if (reply.silent) {
      co_return;
    }
    co_await asio::async_write(stream, asio::buffer(reply.raw),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec || reply.close_after) {
      co_return;
    }
  }
}

asio::awaitable<void> serve_connection(tcp::socket socket, TestServer& server) {
  if (!server.tls) {
    co_await serve_requests(socket, server);
    co_return;
  }
  ssl::stream<tcp::socket> stream(std::move(socket), *server.tls);
  error_code ec;
  co_await stream.async_handshake(ssl::stream_base::server,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    ++server.handshake_failures;
    co_return;
  }
  const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
  server.server_name = name ? name : "";
  co_await serve_requests(stream, server);
}

asio::awaitable<void> accept_loop(TestServer& server) {
  for (;;) {
    error_code ec;
    tcp::socket socket =
        co_await server.acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    ++server.accepted;
    asio::co_spawn(server.acceptor.get_executor(), serve_connection(std::move(socket), server),
                   asio::detached);
  }
}

// Runs `body` on `io` until it finishes (at most a few seconds).
template <class Body> void run(asio::io_context& io, Body body) {
  bool done = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    io.stop();
    if (e) {
      std::rethrow_exception(e);
    }
  });
  io.run_for(5s);
  REQUIRE(done);
}

HttpRequest post_to(const std::string& url, std::string body = "ping") {
  HttpRequest request;
  request.url = parse_url(url).value();
  request.body = std::move(body);
  return request;
}

HttpClientOptions quick_options() {
  HttpClientOptions options;
  options.timeout = 2s;
  return options;
}

// A self-signed certificate and its key, made fresh for a test.
struct TestCertificate {
  std::string certificate_pem;
  std::string key_pem;
};

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(size));
}

TestCertificate make_certificate(const std::string& subject_alt_names) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  REQUIRE(cert);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("laporsms test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, subject_alt_names},
                                   std::pair{NID_basic_constraints, std::string("CA:TRUE")}}) {
    X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
    REQUIRE(extension);
    X509_add_ext(cert.get(), extension, -1);
    X509_EXTENSION_free(extension);
  }
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);

  std::unique_ptr<BIO, decltype(&BIO_free)> cert_bio(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key_bio(BIO_new(BIO_s_mem()), BIO_free);
  REQUIRE(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1);
  REQUIRE(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                   nullptr) == 1);
  return {bio_to_string(cert_bio.get()), bio_to_string(key_bio.get())};
}

std::shared_ptr<ssl::context> server_context(const TestCertificate& certificate) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->use_certificate_chain(asio::buffer(certificate.certificate_pem));
  context->use_private_key(asio::buffer(certificate.key_pem), ssl::context::pem);
  return context;
}

// A PEM file for ca_file, removed when the test ends.
struct TempFile {
  explicit TempFile(const std::string& content)
      : path(std::filesystem::temp_directory_path() /
             ("laporsms-test-ca-" + std::to_string(::getpid()) + ".pem")) {
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

// Two POSTs, 50 ms apart, over a kept-alive connection that fails the
// second. `hang_up` (how): after the first answer, which promised
// keep-alive, while the connection sits idle; or once it has read the
// second request, before answering (so it may have acted on it).
// `second_resendable` is that request's resend_if_unanswered.
struct StaleRun {
  Result first;
  Result second;
  int accepted = 0;
  std::size_t requests = 0;
};

enum class HangUp { while_idle, after_reading };

StaleRun post_twice_over_a_stale_connection(bool second_resendable, HangUp hang_up) {
  asio::io_context io;
  TestServer server(io);
  server.handler = [hang_up](const auto&, int index) {
    Reply reply{ok("r" + std::to_string(index))};
    reply.close_after = index == 0 && hang_up == HangUp::while_idle;
    reply.drop = index == 1 && hang_up == HangUp::after_reading;
    return reply;
  };
  asio::co_spawn(io, accept_loop(server), asio::detached);
  HttpClient client(io.get_executor(), quick_options());
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  StaleRun out;
  run(io, [&]() -> asio::awaitable<void> {
    out.first = co_await client.send(post_to(url));
    asio::steady_timer pause(io, 50ms);
    co_await pause.async_wait(asio::use_awaitable);
    auto second = post_to(url);
    second.resend_if_unanswered = second_resendable;
    out.second = co_await client.send(std::move(second));
  });
  out.accepted = server.accepted;
  out.requests = server.requests.size();
  return out;
}

} // namespace

TEST_SUITE("lapor::HttpClient") {
  TEST_CASE("parse_url splits a URL and fills in default ports") {
    CHECK(parse_url("https://www.lapor.go.id/api/stream/addstream").value() ==
          Url{"https", "www.lapor.go.id", "443", "/api/stream/addstream"});
    CHECK(parse_url("HTTP://Example.COM").value() == Url{"http", "example.com", "80", "/"});
    CHECK(parse_url("http://127.0.0.1:8080?a=1#frag").value() ==
          Url{"http", "127.0.0.1", "8080", "/?a=1"});
    CHECK(parse_url("https://[::1]:8443/x?y").value() == Url{"https", "::1", "8443", "/x?y"});
    CHECK(parse_url("http://h:0080/").value().port == "80");
  }

  TEST_CASE("parse_url refuses what is not a plain http or https URL") {
    for (const char* bad :
         {"", "ftp://h/", "h/x", "http://", "http://:80/", "http://u:p@h/", "http://h:/",
          "http://h:0/", "http://h:65536/", "http://h:8o/", "http://h h/", "http://h/a b",
          "http://[::1/", "http://[zz]/", "http://h\x01/", "http://h!/"}) {
      CAPTURE(bad);
      CHECK_FALSE(parse_url(bad));
    }
    const auto error = parse_url("http://u:secret@h/").error();
    CHECK(error.find("secret") == std::string::npos);
  }

  TEST_CASE("a POST round trip carries method, target, headers and body") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int) { return Reply{ok("hello")}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());
    const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      auto request = post_to(base + "/api/stream?x=1", "isi laporan");
      request.headers = {{"X-Test", "yes"}, {"Content-Type", "text/xml; charset=UTF-8"}};
      result = co_await client.send(std::move(request));
    });

    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(result->content_type == "text/plain");
    CHECK(result->body == "hello");
    REQUIRE(server.requests.size() == 1);
    const auto& seen = server.requests[0];
    CHECK(seen.method() == http::verb::post);
    CHECK(seen.target() == "/api/stream?x=1");
    CHECK(seen[http::field::host] == "127.0.0.1:" + std::to_string(server.port()));
    CHECK(seen["X-Test"] == "yes");
    CHECK(seen[http::field::content_type] == "text/xml; charset=UTF-8");
    CHECK(seen[http::field::content_length] == "11");
    CHECK(seen.body() == "isi laporan");
  }

  TEST_CASE("a kept-alive connection is reused for the next request") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int index) { return Reply{ok("r" + std::to_string(index))}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result first;
    Result second;
    run(io, [&]() -> asio::awaitable<void> {
      first = co_await client.send(post_to(url));
      second = co_await client.send(post_to(url));
    });

    REQUIRE(first);
    REQUIRE(second);
    CHECK(first->body == "r0");
    CHECK(second->body == "r1");
    CHECK(server.accepted == 1);
    CHECK(server.requests.size() == 2);
  }

  TEST_CASE("an idle connection the server has closed is not used again") {
    // Its keep-alive timeout ran out while we had nothing to send: reused, a
    // request that may not be sent twice would fail after it was written.
    const auto run = post_twice_over_a_stale_connection(false, HangUp::while_idle);
    REQUIRE(run.first);
    REQUIRE(run.second);
    CHECK(run.second->body == "r1");
    CHECK(run.accepted == 2);
    CHECK(run.requests == 2);
  }

  TEST_CASE("a stale kept-alive connection is retried once on a fresh one") {
    const auto run = post_twice_over_a_stale_connection(true, HangUp::after_reading);
    REQUIRE(run.first);
    REQUIRE(run.second);
    CHECK(run.second->body == "r2");
    CHECK(run.accepted == 2);
    CHECK(run.requests == 3);
  }

  TEST_CASE("a request that may not be sent twice is not resent after it was written whole") {
    const auto run = post_twice_over_a_stale_connection(false, HangUp::after_reading);
    REQUIRE(run.first);
    REQUIRE_FALSE(run.second); // the caller decides, and counts a possible duplicate
    CHECK(run.second.error().kind == HttpErrorKind::io);
    CHECK(run.accepted == 1);
    CHECK(run.requests == 2);
  }

  TEST_CASE("a reused connection that breaks mid-response is not retried") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int index) {
      return index == 0 ? Reply{ok("r0")} : Reply{"HTTP/1.1 200 OK\r\nContent-Le", true};
    };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result first;
    Result second;
    run(io, [&]() -> asio::awaitable<void> {
      first = co_await client.send(post_to(url));
      second = co_await client.send(post_to(url));
    });

    REQUIRE(first);
    REQUIRE_FALSE(second);
    CHECK(second.error().kind == HttpErrorKind::io);
    CHECK(server.accepted == 1);
    CHECK(server.requests.size() == 2);
  }

  TEST_CASE("a server that never answers times out within the deadline") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int) { return Reply{"", false, true}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.timeout = 200ms;
    HttpClient client(io.get_executor(), options);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result result;
    std::chrono::steady_clock::duration elapsed{};
    run(io, [&]() -> asio::awaitable<void> {
      const auto start = std::chrono::steady_clock::now();
      result = co_await client.send(post_to(url));
      elapsed = std::chrono::steady_clock::now() - start;
    });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::timeout);
    CHECK(elapsed >= 190ms);
    CHECK(elapsed < 700ms);
    CHECK(server.requests.size() == 1);
  }

  TEST_CASE("a redirect is returned, not followed") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int) {
      return Reply{"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"};
    };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      result = co_await client.send(post_to(url));
      // Give a follow-up request, were there one, time to arrive.
      asio::steady_timer pause(io, 50ms);
      co_await pause.async_wait(asio::use_awaitable);
    });

    REQUIRE(result);
    CHECK(result->status == 302);
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].target() == "/");
  }

  TEST_CASE("a response body over max_response_bytes is too_large") {
    asio::io_context io;
    TestServer server(io);
    SUBCASE("announced by Content-Length") {
      server.handler = [](const auto&, int) { return Reply{ok(std::string(4096, 'x'))}; };
    }
    SUBCASE("until the server closes") {
      server.handler = [](const auto&, int) {
        return Reply{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + std::string(4096, 'x'), true};
      };
    }
    SUBCASE("grown chunk by chunk") {
      const std::string chunk = "320\r\n" + std::string(800, 'x') + "\r\n";
      server.handler = [chunk](const auto&, int) {
        return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk +
                     "0\r\n\r\n"};
      };
    }
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.max_response_bytes = 1024;
    HttpClient client(io.get_executor(), options);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result result;
    run(io, [&]() -> asio::awaitable<void> { result = co_await client.send(post_to(url)); });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::too_large);
  }

  TEST_CASE("a response body of exactly max_response_bytes is accepted") {
    asio::io_context io;
    TestServer server(io);
    SUBCASE("announced by Content-Length") {
      server.handler = [](const auto&, int) { return Reply{ok(std::string(1024, 'x'))}; };
    }
    SUBCASE("in chunks") {
      const std::string chunk = "200\r\n" + std::string(512, 'x') + "\r\n";
      server.handler = [chunk](const auto&, int) {
        return Reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk +
                     "0\r\n\r\n"};
      };
    }
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.max_response_bytes = 1024;
    HttpClient client(io.get_executor(), options);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result result;
    run(io, [&]() -> asio::awaitable<void> { result = co_await client.send(post_to(url)); });

    REQUIRE(result);
    CHECK(result->body == std::string(1024, 'x'));
  }

  TEST_CASE("a refused connection is a connect error") {
    asio::io_context io;
    unsigned short port = 0;
    {
      tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port = closed.local_endpoint().port();
    }
    HttpClient client(io.get_executor(), quick_options());

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      result = co_await client.send(post_to("http://127.0.0.1:" + std::to_string(port) + "/"));
    });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::connect);
    CHECK(result.error().message.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  }

  TEST_CASE("requests in flight never exceed concurrency") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int) { return Reply{ok("ok"), false, false, 30ms}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.concurrency = 2;
    HttpClient client(io.get_executor(), options);
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    std::vector<Result> results;
    run(io, [&]() -> asio::awaitable<void> {
      int remaining = 5;
      asio::steady_timer all_done(io, asio::steady_timer::time_point::max());
      for (int i = 0; i < 5; ++i) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
              results.push_back(co_await client.send(post_to(url)));
              if (--remaining == 0) {
                all_done.expires_at(asio::steady_timer::time_point::min());
              }
            },
            asio::detached);
      }
      error_code ec;
      co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    });

    REQUIRE(results.size() == 5);
    for (const auto& result : results) {
      CHECK(result);
    }
    CHECK(server.max_in_progress == 2);
    CHECK(server.accepted == 2);
  }

  TEST_CASE("a header that could smuggle another is refused before sending") {
    asio::io_context io;
    TestServer server(io);
    server.handler = [](const auto&, int) { return Reply{ok("")}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      auto request = post_to(url);
      request.headers = {{"Authorization", "Bearer tok\r\nX-Evil: 1"}};
      result = co_await client.send(std::move(request));
    });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::protocol);
    CHECK(result.error().message.find("tok") == std::string::npos);
    CHECK(server.accepted == 0);
  }

  TEST_CASE("https to a self-signed certificate outside the trust store fails with tls") {
    const auto certificate = make_certificate("IP:127.0.0.1,DNS:localhost");
    asio::io_context io;
    TestServer server(io);
    server.tls = server_context(certificate);
    server.handler = [](const auto&, int) { return Reply{ok("secret")}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    HttpClient client(io.get_executor(), quick_options());

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      result =
          co_await client.send(post_to("https://127.0.0.1:" + std::to_string(server.port()) + "/"));
    });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::tls);
    CHECK(result.error().message.find("certificate") != std::string::npos);
    CHECK(server.requests.empty());
  }

  TEST_CASE("https works when ca_file trusts the certificate, with SNI and reuse") {
    const auto certificate = make_certificate("IP:127.0.0.1,DNS:localhost");
    const TempFile ca_file(certificate.certificate_pem);
    asio::io_context io;
    TestServer server(io);
    server.tls = server_context(certificate);
    server.handler = [](const auto&, int index) {
      return Reply{ok("tls" + std::to_string(index))};
    };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.ca_file = ca_file.path;
    HttpClient client(io.get_executor(), options);

    Result by_name;
    Result again;
    Result by_address;
    run(io, [&]() -> asio::awaitable<void> {
      const std::string port = std::to_string(server.port());
      by_name = co_await client.send(post_to("https://localhost:" + port + "/a"));
      again = co_await client.send(post_to("https://localhost:" + port + "/b"));
      by_address = co_await client.send(post_to("https://127.0.0.1:" + port + "/c"));
    });

    REQUIRE(by_name);
    REQUIRE(again);
    REQUIRE(by_address);
    CHECK(by_name->body == "tls0");
    CHECK(again->body == "tls1");
    CHECK(by_address->body == "tls2");
    // localhost reused one connection; the address is another pool key, and
    // carries no SNI.
    CHECK(server.accepted == 2);
    CHECK(server.server_name.empty());
    REQUIRE(server.requests.size() == 3);
    CHECK(server.requests[0][http::field::host] == "localhost:" + std::to_string(server.port()));
  }

  TEST_CASE("https sends the host name as SNI") {
    const auto certificate = make_certificate("DNS:localhost");
    const TempFile ca_file(certificate.certificate_pem);
    asio::io_context io;
    TestServer server(io);
    server.tls = server_context(certificate);
    server.handler = [](const auto&, int) { return Reply{ok("x")}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.ca_file = ca_file.path;
    HttpClient client(io.get_executor(), options);

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      result =
          co_await client.send(post_to("https://localhost:" + std::to_string(server.port()) + "/"));
    });

    REQUIRE(result);
    CHECK(server.server_name == "localhost");
  }

  TEST_CASE("a trusted certificate for another host name fails with tls") {
    const auto certificate = make_certificate("DNS:other.example");
    const TempFile ca_file(certificate.certificate_pem);
    asio::io_context io;
    TestServer server(io);
    server.tls = server_context(certificate);
    server.handler = [](const auto&, int) { return Reply{ok("x")}; };
    asio::co_spawn(io, accept_loop(server), asio::detached);
    auto options = quick_options();
    options.ca_file = ca_file.path;
    HttpClient client(io.get_executor(), options);

    Result result;
    run(io, [&]() -> asio::awaitable<void> {
      result =
          co_await client.send(post_to("https://127.0.0.1:" + std::to_string(server.port()) + "/"));
    });

    REQUIRE_FALSE(result);
    CHECK(result.error().kind == HttpErrorKind::tls);
    CHECK(server.requests.empty());
  }

  TEST_CASE("an unreadable ca_file is refused when the client is made") {
    asio::io_context io;
    auto options = quick_options();
    options.ca_file = "/nonexistent/laporsms-ca.pem";
    CHECK_THROWS_WITH_AS(HttpClient(io.get_executor(), options),
                         doctest::Contains("/nonexistent/laporsms-ca.pem"), std::runtime_error);
  }
}

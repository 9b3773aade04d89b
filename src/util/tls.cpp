#include <laporsms/util/net.hpp>
#include <laporsms/util/tls.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

namespace laporsms::util {

bool is_ip_literal(std::string_view host) {
  boost::system::error_code ec;
  asio::ip::make_address(std::string(host), ec);
  return !ec;
}

bool set_server_name(ssl_st* ssl, const std::string& host) {
  return is_ip_literal(host) || SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

bool expect_peer_name(ssl_st* ssl, const std::string& host) {
  if (is_ip_literal(host)) {
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  }
  return SSL_set1_host(ssl, host.c_str()) == 1;
}

std::string handshake_failure(const boost::system::error_code& error, ssl_st* ssl) {
  std::string reason = error.message();
  // OpenSSL keeps a verify result even when nothing was verified: only a
  // failed verification gets its reason appended.
  const bool verify_failed =
      error.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(error.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  const long verify = ssl != nullptr && verify_failed ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (verify != X509_V_OK) {
    reason += fmt::format(" ({})", X509_verify_cert_error_string(verify));
  }
  return reason;
}

std::optional<std::string> ca_file_problem(const std::filesystem::path& path) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  context.load_verify_file(path.string(), ec);
  if (ec) {
    return fmt::format("'{}' holds no PEM certificate OpenSSL can load ({})", path.string(),
                       ec.message());
  }
  return std::nullopt;
}

} // namespace laporsms::util

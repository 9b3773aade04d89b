// What the SMPP link and the HTTP client share about TLS as a client: who
// gets a server name, how a failed handshake is told, which CA files load.
#pragma once

#include <boost/system/error_code.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

struct ssl_st;

namespace laporsms::util {

// Whether `host` is an IP address (v4 or v6), which SNI may not carry (RFC 6066).
bool is_ip_literal(std::string_view host);

// Sets the SNI server name to `host` unless it is an IP address. False when
// OpenSSL refuses the name.
bool set_server_name(ssl_st* ssl, const std::string& host);

// Makes certificate verification also check that the certificate is for
// `host` (a DNS name, or an IP address against its IP SANs). OpenSSL then
// names a mismatch itself ("hostname mismatch"). False when OpenSSL refuses.
bool expect_peer_name(ssl_st* ssl, const std::string& host);

// A failed handshake in words: the error, and when certificate verification
// failed, OpenSSL's reason ("unable to get local issuer certificate", ...).
std::string handshake_failure(const boost::system::error_code& error, ssl_st* ssl);

// Why `path` cannot serve as a CA bundle (not PEM, no certificate in it,
// unreadable), or nullopt when it loads.
std::optional<std::string> ca_file_problem(const std::filesystem::path& path);

} // namespace laporsms::util

// What the two upstream adapters' fuzz targets share: how an input becomes
// the API's answer (or a transport failure), and the promises every result
// keeps whatever the API sends.
//
// Input: octet 0 picks the HTTP status (k_statuses; past its end, a
// transport failure whose message is the body), octet 1 the Content-Type
// (k_content_types; past its end, the body's first line is the header and
// the rest the body). The rest is the body.
#pragma once

#include <laporsms/lapor/adapter.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace adapter_fuzz {

using namespace laporsms::lapor;

// The secret the adapters must never repeat; lower case, so even the
// lower-cased media type in an error cannot hide it.
inline constexpr std::string_view k_token = "s3cr3t-t0ken";

inline constexpr std::array<unsigned, 24> k_statuses = {200, 200, 200, 201, 202, 204, 409, 400,
                                                        401, 403, 404, 408, 409, 413, 422, 429,
                                                        500, 502, 503, 302, 100, 0,   299, 999};

inline constexpr std::array<std::string_view, 12> k_content_types = {
    "text/xml; charset=UTF-8",
    "application/json",
    "text/xml",
    "application/json; charset=utf-8",
    "Application/XML",
    "application/problem+json",
    "application/soap+xml",
    "text/html",
    "text/plain",
    "",
    "  TEXT/XML ; charset=iso-8859-1",
    "application/xml;",
};

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

inline tl::expected<HttpResponse, HttpError> response_from(const std::uint8_t* data,
                                                           std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  if (data[0] >= k_statuses.size()) {
    const auto kind = static_cast<HttpErrorKind>(data[0] % 6);
    return tl::unexpected(HttpError{kind, std::string(rest)});
  }
  HttpResponse response;
  response.status = k_statuses[data[0]];
  if (data[1] < k_content_types.size()) {
    response.content_type = k_content_types[data[1]];
  } else {
    const auto line = rest.find('\n');
    response.content_type = rest.substr(0, line);
    rest = line == std::string_view::npos ? std::string_view() : rest.substr(line + 1);
  }
  response.body = rest;
  return response;
}

// 1 to 64 printable ASCII characters without blanks.
inline bool tracking_id_shape(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  for (const char c : id) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return false;
    }
  }
  return true;
}

// Strict UTF-8 without C0 controls or DEL: fit for a log line and a column.
inline bool clean_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      if (b0 < 0x20 || b0 == 0x7f) {
        return false;
      }
      ++i;
      continue;
    }
    std::size_t n = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((b0 & 0xE0) == 0xC0) {
      n = 2;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < n) {
      return false;
    }
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

// A text the adapter hands on (to a log line, the database, an SMS): clean,
// bounded, without the token.
inline void check_text(std::string_view text, std::size_t max_bytes, const char* what) {
  if (text.size() > max_bytes || !clean_text(text) || text.find(k_token) != std::string::npos) {
    std::fprintf(stderr, "invariant broken: %s is not clean, bounded and secret-free: %.*s\n", what,
                 static_cast<int>(text.size()), text.data());
    std::abort();
  }
}

// What an HTTP status decides before any body is read, for statuses the
// body cannot change.
inline void check_status_rule(const tl::expected<HttpResponse, HttpError>& response,
                              Outcome outcome) {
  if (!response) {
    check(outcome == Outcome::temporary, "a transport failure is temporary");
    return;
  }
  const unsigned status = response->status;
  if (status == 401 || status == 403) {
    check(outcome == Outcome::auth_error, "401 and 403 are auth errors");
  } else if (status == 408 || status == 429 || status >= 500 || status < 200 ||
             (status >= 300 && status < 400)) {
    check(outcome == Outcome::temporary, "408, 429, 1xx, 3xx and 5xx are temporary");
  } else if (status >= 400 && status < 500 && status != 409) {
    check(outcome == Outcome::rejected, "another 4xx is rejected");
  }
}

inline void check_submit(const tl::expected<HttpResponse, HttpError>& response,
                         const SubmitResult& result) {
  check_status_rule(response, result.outcome);
  check(result.error.empty() == (result.outcome == Outcome::delivered),
        "an error exactly when not delivered");
  check_text(result.error, 200, "the error");
  check_text(result.transaction_id, 64, "the transaction id");
  if (result.outcome == Outcome::delivered) {
    check(tracking_id_shape(result.tracking_id), "a delivered report has a usable tracking id");
  } else {
    check(result.tracking_id.empty() && result.transaction_id.empty(), "no ids unless delivered");
  }
}

} // namespace adapter_fuzz

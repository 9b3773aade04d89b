// Upstream adapters: how a report becomes an HTTP request for one API
// dialect, and how that API's answer becomes an outcome. No I/O here; the
// Forwarder sends what build_* returns with the HttpClient and hands the
// result to classify_*.
#pragma once

#include <laporsms/lapor/http_client.hpp>

#include <tl/expected.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace laporsms::lapor {

// One report as the upstream sees it.
struct Submission {
  std::string ref;         // local reference, e.g. "MTR4K7Q"; also the idempotency key
  std::string msisdn;      // international form without '+', e.g. "628123456789"
  std::string text;        // UTF-8, the report as written
  std::string received_at; // RFC 3339 with offset, e.g. "2026-11-29T13:05:00+07:00"
  bool rahasia = true;     // confidential
  bool anonim = true;      // anonymous
};

enum class Outcome {
  delivered,  // the API holds the report (or, for a status read, answered)
  temporary,  // try again later: 5xx, 408, 429, 3xx, network and protocol trouble
  auth_error, // 401/403: retried slowly, operators alerted
  rejected,   // permanent for this report: other 4xx, or an answer we cannot use
};

std::string_view to_string(Outcome outcome);

struct SubmitResult {
  Outcome outcome = Outcome::temporary;
  std::string tracking_id;    // set when delivered
  std::string transaction_id; // lapor-xml's <transaksiid>, when sent
  std::string error;          // short, for logs and the database; never holds the token
};

struct StatusResult {
  Outcome outcome = Outcome::temporary;
  std::string tracking_id; // as the API echoed it, or empty
  std::string status;      // e.g. "Diproses"; any string the API sends, passed through
  std::string note;        // may be empty
  std::string updated_at;  // as the API wrote it, may be empty
  std::string error;       // as in SubmitResult
};

class Adapter {
public:
  virtual ~Adapter() = default;

  // The request that files `submission` upstream.
  virtual HttpRequest build_submit(const Submission& submission) const = 0;
  // The one place each submit outcome is decided.
  virtual SubmitResult
  classify_submit(const tl::expected<HttpResponse, HttpError>& response) const = 0;

  // Whether this API can read back a report's status. When it cannot, the two
  // calls below throw std::logic_error: calling them is a bug.
  virtual bool supports_status() const = 0;
  // Whether the API recognises a repeated submission (an idempotency key):
  // without it, a retry after a timeout may file the report twice.
  virtual bool idempotent() const = 0;
  // The request that reads the status of `tracking_id`.
  virtual HttpRequest build_status(std::string_view tracking_id) const = 0;
  virtual StatusResult
  classify_status(const tl::expected<HttpResponse, HttpError>& response) const = 0;
};

struct AdapterOptions {
  std::string url;        // where reports are POSTed
  std::string token;      // the API secret
  std::string status_url; // rest-json only; empty: no status polling
};

// Throw std::invalid_argument, naming the option, when `url` (or a non-empty
// `status_url`) is not an http or https URL.
std::unique_ptr<Adapter> make_lapor_xml_adapter(AdapterOptions options);
std::unique_ptr<Adapter> make_rest_json_adapter(AdapterOptions options);

// Shared by the two adapters; not meant for other parts.
namespace detail {

// The outcome an HTTP status decides on its own: 401/403 auth_error, 408/429,
// 1xx, 3xx and 5xx temporary, other 4xx rejected. 2xx is left to the body.
Outcome outcome_for_status(unsigned status);

// The outcome of a transport failure: always temporary, the request may not
// even have reached the API.
Outcome outcome_for_error(const HttpError& error);

// `text` made safe for a log line or a database column: `secret` replaced by
// "***", control characters by blanks, cut to `max_bytes` on a UTF-8 boundary.
std::string sanitize(std::string_view text, std::string_view secret, std::size_t max_bytes);

// Length of the valid UTF-8 sequence starting at `text[i]` (i < size), or 0
// when the bytes there are not one (overlong forms and surrogates included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type);

// Whether `id` can serve as a tracking id: 1 to 64 printable ASCII characters
// without blanks. It is repeated to citizens by SMS and stored.
bool valid_tracking_id(std::string_view id);

} // namespace detail

} // namespace laporsms::lapor

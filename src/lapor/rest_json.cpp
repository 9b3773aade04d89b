// The `rest-json` adapter (interfaces.md §4): JSON over HTTP with a bearer
// token, an idempotency key per report, and an optional status read-back.
// Replies are parsed without exceptions; anything unexpected in them is a
// value, never a throw that could leave this file.
#include <laporsms/lapor/adapter.hpp>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

namespace laporsms::lapor {

namespace {

using nlohmann::json;

constexpr std::string_view k_shortcode = "1708";
constexpr std::size_t k_error_bytes = 200;
constexpr std::size_t k_snippet_bytes = 120;
constexpr std::size_t k_status_bytes = 100;
constexpr std::size_t k_note_bytes = 300;
constexpr std::size_t k_updated_at_bytes = 64;

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

// The body as JSON, or a discarded value when it is not JSON at all.
json parse_body(const std::string& body) {
  try {
    return json::parse(body, nullptr, /*allow_exceptions=*/false);
  } catch (const json::exception&) {
    return json(json::value_t::discarded);
  }
}

// The body as a JSON object, or nullopt for anything else (not JSON, an
// array, a bare string...).
std::optional<json> as_object(json value) {
  if (value.is_discarded() || !value.is_object()) {
    return std::nullopt;
  }
  return value;
}

// tracking_id as a string, accepting a JSON string or a non-negative integer.
std::optional<std::string> tracking_id_of(const json& object) {
  const auto it = object.find("tracking_id");
  if (it == object.end()) {
    return std::nullopt;
  }
  std::string id;
  if (it->is_string()) {
    id = trim(it->get_ref<const std::string&>());
  } else if (it->is_number_unsigned()) {
    id = std::to_string(it->get<std::uint64_t>());
  } else if (it->is_number_integer() && it->get<std::int64_t>() >= 0) {
    id = std::to_string(it->get<std::int64_t>());
  } else {
    return std::nullopt;
  }
  if (!detail::valid_tracking_id(id)) {
    return std::nullopt;
  }
  return id;
}

// An optional string member: absent or null gives "", another type nullopt.
std::optional<std::string> optional_string(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::string();
  }
  if (!it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view segment) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : segment) {
    if (is_unreserved(c)) {
      out.push_back(c);
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(k_hex[u >> 4]);
      out.push_back(k_hex[u & 0x0F]);
    }
  }
  return out;
}

class RestJsonAdapter final : public Adapter {
public:
  RestJsonAdapter(Url url, std::optional<Url> status_url, std::string token)
      : m_url(std::move(url)), m_status_url(std::move(status_url)), m_token(std::move(token)) {}

  HttpRequest build_submit(const Submission& submission) const override {
    // ordered_json keeps the documented key order, which helps whoever reads
    // the API's logs; the API itself must not depend on it.
    nlohmann::ordered_json body;
    body["ref"] = submission.ref;
    body["channel"] = "sms";
    body["shortcode"] = k_shortcode;
    body["msisdn"] = submission.msisdn;
    body["text"] = submission.text;
    body["received_at"] = submission.received_at;
    body["rahasia"] = submission.rahasia;
    body["anonim"] = submission.anonim;
    HttpRequest request;
    request.method = boost::beast::http::verb::post;
    request.url = m_url;
    request.headers = {
        {"Authorization", "Bearer " + m_token},
        {"Idempotency-Key", submission.ref},
        {"Content-Type", "application/json"},
    };
    // Broken UTF-8 (never expected from the SMS decoder) becomes U+FFFD
    // instead of an exception.
    request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    return request;
  }

  SubmitResult
  classify_submit(const tl::expected<HttpResponse, HttpError>& response) const override {
    SubmitResult result;
    if (!response) {
      result.outcome = detail::outcome_for_error(response.error());
      result.error = transport_error(response.error());
      return result;
    }
    const unsigned status = response->status;
    // 409: the API already holds a report under this idempotency key; with its
    // tracking id that is the success an earlier, unacknowledged try had.
    const bool conflict = status == 409;
    result.outcome = detail::outcome_for_status(status);
    if (result.outcome != Outcome::delivered && !conflict) {
      result.error = http_error(status, response->body);
      return result;
    }
    // A page that is not JSON at all is not the API's answer (a proxy's or
    // a maintenance page): try again later. JSON that says no is its answer.
    json body = parse_body(response->body);
    result.outcome = body.is_discarded() ? Outcome::temporary : Outcome::rejected;
    const auto object = as_object(std::move(body));
    if (!object) {
      result.error = error_text(fmt::format("HTTP {} with a body that is not a JSON object: {}",
                                            status, snippet(response->body)));
      return result;
    }
    const auto tracking_id = tracking_id_of(*object);
    if (!tracking_id) {
      result.error = error_text(
          fmt::format("HTTP {} without a usable tracking_id: {}", status, snippet(response->body)));
      return result;
    }
    result.outcome = Outcome::delivered;
    result.tracking_id = *tracking_id;
    return result;
  }

  bool supports_status() const override { return m_status_url.has_value(); }
  bool idempotent() const override { return true; }

  HttpRequest build_status(std::string_view tracking_id) const override {
    if (!m_status_url) {
      throw std::logic_error("rest-json: no status_url configured");
    }
    HttpRequest request;
    request.method = boost::beast::http::verb::get;
    request.url = *m_status_url;
    // The id becomes one more path segment, before any query the URL has.
    std::string& target = request.url.target;
    const auto query = target.find('?');
    std::string path = target.substr(0, query);
    const std::string rest = query == std::string::npos ? std::string() : target.substr(query);
    if (path.empty() || path.back() != '/') {
      path.push_back('/');
    }
    target = path + percent_encode(tracking_id) + rest;
    request.headers = {{"Authorization", "Bearer " + m_token}};
    return request;
  }

  StatusResult
  classify_status(const tl::expected<HttpResponse, HttpError>& response) const override {
    if (!m_status_url) {
      throw std::logic_error("rest-json: no status_url configured");
    }
    StatusResult result;
    if (!response) {
      result.outcome = detail::outcome_for_error(response.error());
      result.error = transport_error(response.error());
      return result;
    }
    const unsigned status = response->status;
    result.outcome = detail::outcome_for_status(status);
    if (result.outcome != Outcome::delivered) {
      result.error = http_error(status, response->body);
      return result;
    }
    result.outcome = Outcome::rejected;
    const auto object = as_object(parse_body(response->body));
    if (!object) {
      result.error = error_text(fmt::format("HTTP {} with a body that is not a JSON object: {}",
                                            status, snippet(response->body)));
      return result;
    }
    const auto it = object->find("status");
    const std::string status_text =
        it != object->end() && it->is_string()
            ? trim(detail::sanitize(it->get_ref<const std::string&>(), m_token, k_status_bytes))
            : std::string();
    const auto note = optional_string(*object, "note");
    const auto updated_at = optional_string(*object, "updated_at");
    if (status_text.empty() || !note || !updated_at) {
      result.error = error_text(
          fmt::format("HTTP {} without a usable status: {}", status, snippet(response->body)));
      return result;
    }
    result.outcome = Outcome::delivered;
    result.tracking_id = tracking_id_of(*object).value_or(std::string());
    result.status = status_text;
    result.note = trim(detail::sanitize(*note, m_token, k_note_bytes));
    result.updated_at = trim(detail::sanitize(*updated_at, m_token, k_updated_at_bytes));
    return result;
  }

private:
  std::string snippet(std::string_view body) const {
    return detail::sanitize(body, m_token, k_snippet_bytes);
  }
  std::string error_text(std::string_view text) const {
    return detail::sanitize(text, m_token, k_error_bytes);
  }
  std::string transport_error(const HttpError& error) const {
    return error_text(fmt::format("{}: {}", to_string(error.kind), error.message));
  }
  std::string http_error(unsigned status, std::string_view body) const {
    return error_text(fmt::format("HTTP {}: {}", status, snippet(body)));
  }

  Url m_url;
  std::optional<Url> m_status_url;
  std::string m_token;
};

} // namespace

std::unique_ptr<Adapter> make_rest_json_adapter(AdapterOptions options) {
  auto url = parse_url(options.url);
  if (!url) {
    throw std::invalid_argument("upstream.url: " + url.error());
  }
  std::optional<Url> status_url;
  if (!options.status_url.empty()) {
    auto parsed = parse_url(options.status_url);
    if (!parsed) {
      throw std::invalid_argument("upstream.status_url: " + parsed.error());
    }
    status_url = std::move(*parsed);
  }
  return std::make_unique<RestJsonAdapter>(std::move(*url), std::move(status_url),
                                           std::move(options.token));
}

} // namespace laporsms::lapor

// The `lapor-xml` adapter: the LAPOR! stream API (interfaces.md §4). The
// document is built and read with pugixml, so every value is escaped by the
// library and never pasted into markup by hand.
#include <laporsms/lapor/adapter.hpp>

#include <fmt/core.h>
#include <pugixml.hpp>

#include <stdexcept>

namespace laporsms::lapor {

namespace {

constexpr std::size_t k_error_bytes = 200;
constexpr std::size_t k_snippet_bytes = 120;
constexpr std::size_t k_transaction_id_bytes = 64;
constexpr std::string_view k_replacement = "\xEF\xBF\xBD"; // U+FFFD

// `text` with what XML 1.0 cannot carry at all, even as a character reference
// (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF, broken UTF-8), replaced
// by U+FFFD. Everything else, emoji included, passes through as UTF-8.
std::string xml_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = detail::utf8_sequence_length(text, i);
    if (length == 0) {
      out.append(k_replacement);
      ++i;
      continue;
    }
    const std::string_view sequence = text.substr(i, length);
    const auto c = static_cast<unsigned char>(sequence.front());
    const bool bad_control = length == 1 && c < 0x20 && c != '\t' && c != '\n' && c != '\r';
    const bool noncharacter = sequence == "\xEF\xBF\xBE" || sequence == "\xEF\xBF\xBF";
    out.append(bad_control || noncharacter ? k_replacement : sequence);
    i += length;
  }
  return out;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  return std::string(text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1));
}

bool is_xml_media_type(const std::string& type) {
  return type == "text/xml" || type == "application/xml" ||
         (type.size() > 4 && type.compare(type.size() - 4, 4, "+xml") == 0);
}

struct StringWriter : pugi::xml_writer {
  std::string out;
  void write(const void* data, size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

class LaporXmlAdapter final : public Adapter {
public:
  LaporXmlAdapter(Url url, std::string token) : m_url(std::move(url)), m_token(std::move(token)) {}

  HttpRequest build_submit(const Submission& submission) const override {
    // Whitespace nodes reproduce the published layout exactly; format_raw
    // keeps pugixml from adding its own.
    pugi::xml_document doc;
    auto declaration = doc.append_child(pugi::node_declaration);
    declaration.append_attribute("version") = "1.0";
    declaration.append_attribute("encoding") = "UTF-8";
    doc.append_child(pugi::node_pcdata).set_value("\n");

    auto lapor = doc.append_child("lapor");
    lapor.append_attribute("token") = xml_safe(m_token).c_str();
    lapor.append_child(pugi::node_pcdata).set_value("\n  ");
    auto pelapor = lapor.append_child("pelapor");
    pelapor.append_child("email");
    pelapor.append_child("telpon").text().set(xml_safe(submission.msisdn).c_str());
    pelapor.append_child("namadepan").text().set("Warga");
    pelapor.append_child("namabelakang").text().set("SMS 1708");
    lapor.append_child(pugi::node_pcdata).set_value("\n  ");
    auto laporan = lapor.append_child("laporan");
    laporan.append_attribute("rahasia") = submission.rahasia ? "1" : "0";
    laporan.append_attribute("anonim") = submission.anonim ? "1" : "0";
    laporan.append_child("isi").text().set(xml_safe(submission.text).c_str());
    lapor.append_child(pugi::node_pcdata).set_value("\n");
    doc.append_child(pugi::node_pcdata).set_value("\n");

    StringWriter writer;
    doc.save(writer, "", pugi::format_raw, pugi::encoding_utf8);

    HttpRequest request;
    request.method = boost::beast::http::verb::post;
    request.url = m_url;
    request.headers = {{"Content-Type", "text/xml; charset=UTF-8"}};
    request.body = std::move(writer.out);
    request.resend_if_unanswered = false; // no idempotency key: a second POST is a second report
    return request;
  }

  SubmitResult
  classify_submit(const tl::expected<HttpResponse, HttpError>& response) const override {
    SubmitResult result;
    if (!response) {
      result.outcome = detail::outcome_for_error(response.error());
      result.error = error_text(
          fmt::format("{}: {}", to_string(response.error().kind), response.error().message));
      return result;
    }
    const unsigned status = response->status;
    result.outcome = detail::outcome_for_status(status);
    if (result.outcome != Outcome::delivered) {
      result.error = error_text(fmt::format("HTTP {}: {}", status, snippet(response->body)));
      return result;
    }

    // A 2xx is success only with a body we can read a tracking id from. A
    // page that is not XML is not the API's answer (a proxy's or a
    // maintenance page): try again later. XML without a tracking id is the
    // API saying no (interfaces.md).
    result.outcome = Outcome::temporary;
    const std::string type = detail::media_type(response->content_type);
    if (!is_xml_media_type(type)) {
      result.error = error_text(fmt::format("HTTP {} with content type '{}', not XML: {}", status,
                                            type, snippet(response->body)));
      return result;
    }
    pugi::xml_document doc;
    // No DTD processing happens in pugixml, so entity tricks cannot expand.
    const auto parsed = doc.load_buffer(response->body.data(), response->body.size(),
                                        pugi::parse_default, pugi::encoding_auto);
    if (!parsed) {
      result.error = error_text(fmt::format("HTTP {} with unparseable XML: {} at offset {}", status,
                                            parsed.description(), parsed.offset));
      return result;
    }
    result.outcome = Outcome::rejected;
    const auto root = doc.document_element();
    const auto tracking = root.child("trackingid");
    const auto transaction = root.child("transaksiid");
    if (!tracking || !transaction) {
      result.error = error_text(fmt::format("HTTP {} without trackingid and transaksiid: {}",
                                            status, snippet(response->body)));
      return result;
    }
    const std::string tracking_id = trim(tracking.text().get());
    if (!detail::valid_tracking_id(tracking_id)) {
      result.error = error_text(fmt::format("HTTP {} with an empty or malformed trackingid: {}",
                                            status, snippet(response->body)));
      return result;
    }
    result.outcome = Outcome::delivered;
    result.tracking_id = tracking_id;
    result.transaction_id =
        detail::sanitize(trim(transaction.text().get()), m_token, k_transaction_id_bytes);
    return result;
  }

  bool supports_status() const override { return false; }
  bool idempotent() const override { return false; }

  HttpRequest build_status(std::string_view /*tracking_id*/) const override {
    throw std::logic_error("lapor-xml has no status read-back");
  }

  StatusResult
  classify_status(const tl::expected<HttpResponse, HttpError>& /*response*/) const override {
    throw std::logic_error("lapor-xml has no status read-back");
  }

private:
  std::string snippet(std::string_view body) const {
    return detail::sanitize(body, m_token, k_snippet_bytes);
  }
  std::string error_text(std::string_view text) const {
    return detail::sanitize(text, m_token, k_error_bytes);
  }

  Url m_url;
  std::string m_token;
};

} // namespace

std::unique_ptr<Adapter> make_lapor_xml_adapter(AdapterOptions options) {
  auto url = parse_url(options.url);
  if (!url) {
    throw std::invalid_argument("upstream.url: " + url.error());
  }
  return std::make_unique<LaporXmlAdapter>(std::move(*url), std::move(options.token));
}

} // namespace laporsms::lapor

#include <laporsms/lapor/adapter.hpp>

#include <doctest/doctest.h>
#include <pugixml.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace laporsms::lapor;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Response = tl::expected<HttpResponse, HttpError>;

namespace {

const std::string k_token = "s3cret-T0ken";

Submission sample_submission() {
  Submission s;
  s.ref = "MTR4K7Q";
  s.msisdn = "628123456789";
  s.text = "report text";
  s.received_at = "2026-11-29T13:05:00+07:00";
  return s;
}

std::unique_ptr<Adapter> xml_adapter() {
  return make_lapor_xml_adapter({"https://www.lapor.go.id/api/stream/addstream", k_token, ""});
}

std::unique_ptr<Adapter> json_adapter(std::string status_url = "https://api.example.id/status") {
  return make_rest_json_adapter({"https://api.example.id/reports", k_token, status_url});
}

Response reply(unsigned status, std::string content_type, std::string body) {
  return HttpResponse{status, std::move(content_type), std::move(body)};
}

Response failure(HttpErrorKind kind) {
  return tl::make_unexpected(HttpError{kind, "POST api.example.id:443: step: it broke"});
}

struct Row {
  const char* name;
  Response response;
  Outcome outcome;
  std::string tracking_id;
};

const std::string k_xml_ok = "<?xml version=\"1.0\"?><lapor><trackingid>1916449</trackingid>"
                             "<transaksiid>TRX-88</transaksiid></lapor>";

} // namespace

TEST_SUITE("lapor::Adapter") {
  TEST_CASE("only a request with an idempotency key may be sent again unanswered") {
    CHECK_FALSE(xml_adapter()->build_submit(sample_submission()).resend_if_unanswered);
    CHECK(json_adapter()->build_submit(sample_submission()).resend_if_unanswered);
  }

  TEST_CASE("lapor-xml submit is the documented document") {
    const auto request = xml_adapter()->build_submit(sample_submission());
    CHECK(request.method == boost::beast::http::verb::post);
    CHECK(request.url == Url{"https", "www.lapor.go.id", "443", "/api/stream/addstream"});
    CHECK(request.headers == Headers{{"Content-Type", "text/xml; charset=UTF-8"}});
    CHECK(request.body ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<lapor token=\"s3cret-T0ken\">\n"
          "  <pelapor><email/><telpon>628123456789</telpon><namadepan>Warga</namadepan>"
          "<namabelakang>SMS 1708</namabelakang></pelapor>\n"
          "  <laporan rahasia=\"1\" anonim=\"1\"><isi>report text</isi></laporan>\n"
          "</lapor>\n");
  }

  TEST_CASE("lapor-xml writes cleared confidentiality flags as 0") {
    auto submission = sample_submission();
    submission.rahasia = false;
    submission.anonim = false;
    const auto request = xml_adapter()->build_submit(submission);
    CHECK(request.body.find("<laporan rahasia=\"0\" anonim=\"0\">") != std::string::npos);
  }

  TEST_CASE("lapor-xml escapes markup and quotes and keeps emoji") {
    auto submission = sample_submission();
    submission.text = "a < b & \"c\" 'd' > e \xF0\x9F\x98\x80 </isi>";
    const auto adapter = make_lapor_xml_adapter({"http://127.0.0.1:8080/add", "t\"o&k<en>'", ""});
    const auto request = adapter->build_submit(submission);
    CHECK(request.body.find("<isi>a &lt; b &amp; \"c\" 'd' &gt; e \xF0\x9F\x98\x80 &lt;/isi&gt;"
                            "</isi>") != std::string::npos);
    CHECK(request.body.find("token=\"t&quot;o&amp;k&lt;en>'\"") != std::string::npos);

    pugi::xml_document doc;
    REQUIRE(doc.load_string(request.body.c_str()));
    CHECK(std::string(doc.child("lapor").attribute("token").value()) == "t\"o&k<en>'");
    CHECK(std::string(doc.child("lapor").child("laporan").child("isi").text().get()) ==
          submission.text);
  }

  TEST_CASE("lapor-xml replaces what XML cannot carry and stays well-formed") {
    auto submission = sample_submission();
    submission.text = std::string("bell\x01 nul") + '\0' + " bad\xFF utf8 tab\tok";
    const auto request = xml_adapter()->build_submit(submission);
    pugi::xml_document doc;
    REQUIRE(doc.load_buffer(request.body.data(), request.body.size()));
    CHECK(std::string(doc.child("lapor").child("laporan").child("isi").text().get()) ==
          "bell\xEF\xBF\xBD nul\xEF\xBF\xBD bad\xEF\xBF\xBD utf8 tab\tok");
  }

  TEST_CASE("lapor-xml has no status read-back") {
    const auto adapter = xml_adapter();
    CHECK_FALSE(adapter->supports_status());
    CHECK_THROWS_AS(adapter->build_status("1916449"), std::logic_error);
    CHECK_THROWS_AS(adapter->classify_status(reply(200, "application/json", "{}")),
                    std::logic_error);
  }

  TEST_CASE("rest-json submit is the documented JSON with bearer and idempotency key") {
    auto submission = sample_submission();
    submission.text = "jalan \"berlubang\"\n\xF0\x9F\x98\x80";
    submission.anonim = false;
    const auto request = json_adapter()->build_submit(submission);
    CHECK(request.method == boost::beast::http::verb::post);
    CHECK(request.url == Url{"https", "api.example.id", "443", "/reports"});
    CHECK(request.headers == Headers{{"Authorization", "Bearer s3cret-T0ken"},
                                     {"Idempotency-Key", "MTR4K7Q"},
                                     {"Content-Type", "application/json"}});
    CHECK(request.body == "{\"ref\":\"MTR4K7Q\",\"channel\":\"sms\",\"shortcode\":\"1708\","
                          "\"msisdn\":\"628123456789\","
                          "\"text\":\"jalan \\\"berlubang\\\"\\n\xF0\x9F\x98\x80\","
                          "\"received_at\":\"2026-11-29T13:05:00+07:00\","
                          "\"rahasia\":true,\"anonim\":false}");
    CHECK(request.body.find(k_token) == std::string::npos);
  }

  TEST_CASE("rest-json submit survives broken UTF-8 in the text") {
    auto submission = sample_submission();
    submission.text = "bad\xFFtext";
    const auto request = json_adapter()->build_submit(submission);
    CHECK(request.body.find("\"text\":\"bad\xEF\xBF\xBDtext\"") != std::string::npos);
  }

  TEST_CASE("rest-json status GET appends the tracking id as a path segment") {
    SUBCASE("plain") {
      const auto request = json_adapter()->build_status("1916449");
      CHECK(request.method == boost::beast::http::verb::get);
      CHECK(request.url == Url{"https", "api.example.id", "443", "/status/1916449"});
      CHECK(request.headers == Headers{{"Authorization", "Bearer s3cret-T0ken"}});
      CHECK(request.body.empty());
    }
    SUBCASE("trailing slash and query") {
      const auto request =
          json_adapter("http://10.0.0.5:8080/v1/status/?src=sms")->build_status("a/b c");
      CHECK(request.url == Url{"http", "10.0.0.5", "8080", "/v1/status/a%2Fb%20c?src=sms"});
    }
  }

  TEST_CASE("rest-json supports status only with a status_url") {
    CHECK(json_adapter()->supports_status());
    const auto without = json_adapter("");
    CHECK_FALSE(without->supports_status());
    CHECK_THROWS_AS(without->build_status("1"), std::logic_error);
  }

  TEST_CASE("a bad url is refused when the adapter is made, naming the option") {
    CHECK_THROWS_WITH_AS(make_lapor_xml_adapter({"ftp://x/", k_token, ""}),
                         doctest::Contains("upstream.url"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(make_rest_json_adapter({"https://ok.example/", k_token, "not a url"}),
                         doctest::Contains("upstream.status_url"), std::invalid_argument);
  }

  TEST_CASE("lapor-xml classify_submit decides every branch") {
    const std::vector<Row> rows = {
        {"200 with trackingid and transaksiid", reply(200, "text/xml; charset=UTF-8", k_xml_ok),
         Outcome::delivered, "1916449"},
        {"application/xml and blanks around the id",
         reply(200, "Application/XML",
               "<r>\n <trackingid> 77 </trackingid>\n <transaksiid/>\n</r>"),
         Outcome::delivered, "77"},
        {"201 counts as 2xx", reply(201, "text/xml", k_xml_ok), Outcome::delivered, "1916449"},
        {"200 without trackingid",
         reply(200, "text/xml", "<lapor><transaksiid>1</transaksiid></lapor>"), Outcome::rejected,
         ""},
        {"200 with an empty trackingid",
         reply(200, "text/xml",
               "<lapor><trackingid> </trackingid><transaksiid>1</transaksiid></lapor>"),
         Outcome::rejected, ""},
        {"200 without transaksiid",
         reply(200, "text/xml", "<lapor><trackingid>5</trackingid></lapor>"), Outcome::rejected,
         ""},
        {"200 with a trackingid too long to be one",
         reply(200, "text/xml",
               "<a><trackingid>" + std::string(65, '9') + "</trackingid><transaksiid/></a>"),
         Outcome::rejected, ""},
        {"200 with unparseable XML", reply(200, "text/xml", "<lapor><trackingid>5</lapor"),
         Outcome::temporary, ""},
        {"200 with an empty body", reply(200, "text/xml", ""), Outcome::temporary, ""},
        {"200 with HTML (a maintenance page)", reply(200, "text/html", k_xml_ok),
         Outcome::temporary, ""},
        {"200 without a content type", reply(200, "", k_xml_ok), Outcome::temporary, ""},
        {"401", reply(401, "text/plain", "no"), Outcome::auth_error, ""},
        {"403", reply(403, "text/plain", "no"), Outcome::auth_error, ""},
        {"400", reply(400, "text/xml", "<e/>"), Outcome::rejected, ""},
        {"404", reply(404, "text/html", ""), Outcome::rejected, ""},
        {"422", reply(422, "text/xml", "<e/>"), Outcome::rejected, ""},
        {"408", reply(408, "", ""), Outcome::temporary, ""},
        {"429", reply(429, "", ""), Outcome::temporary, ""},
        {"500", reply(500, "text/html", "<h1>oops</h1>"), Outcome::temporary, ""},
        {"502", reply(502, "", ""), Outcome::temporary, ""},
        {"503", reply(503, "", ""), Outcome::temporary, ""},
        {"302 is not followed and not the report's fault", reply(302, "", ""), Outcome::temporary,
         ""},
        {"connect error", failure(HttpErrorKind::connect), Outcome::temporary, ""},
        {"timeout", failure(HttpErrorKind::timeout), Outcome::temporary, ""},
        {"io error", failure(HttpErrorKind::io), Outcome::temporary, ""},
        {"tls error", failure(HttpErrorKind::tls), Outcome::temporary, ""},
        {"response too large", failure(HttpErrorKind::too_large), Outcome::temporary, ""},
        {"protocol error", failure(HttpErrorKind::protocol), Outcome::temporary, ""},
    };
    const auto adapter = xml_adapter();
    for (const auto& row : rows) {
      CAPTURE(row.name);
      const auto result = adapter->classify_submit(row.response);
      CHECK(to_string(result.outcome) == to_string(row.outcome));
      CHECK(result.tracking_id == row.tracking_id);
      CHECK(result.error.empty() == (row.outcome == Outcome::delivered));
      CHECK(result.error.size() <= 200);
    }
    CHECK(adapter->classify_submit(rows[0].response).transaction_id == "TRX-88");
  }

  TEST_CASE("rest-json classify_submit decides every branch") {
    const std::vector<Row> rows = {
        {"200 with a string id", reply(200, "application/json", R"({"tracking_id":"1916449"})"),
         Outcome::delivered, "1916449"},
        {"201 with a numeric id", reply(201, "application/json", R"({"tracking_id":1916449})"),
         Outcome::delivered, "1916449"},
        {"409 with an id: filed before", reply(409, "application/json", R"({"tracking_id":"42"})"),
         Outcome::delivered, "42"},
        {"409 without an id", reply(409, "application/json", R"({"error":"dup"})"),
         Outcome::rejected, ""},
        {"200 without an id", reply(200, "application/json", "{}"), Outcome::rejected, ""},
        {"200 with a null id", reply(200, "application/json", R"({"tracking_id":null})"),
         Outcome::rejected, ""},
        {"200 with an empty id", reply(200, "application/json", R"({"tracking_id":""})"),
         Outcome::rejected, ""},
        {"200 with a negative id", reply(200, "application/json", R"({"tracking_id":-5})"),
         Outcome::rejected, ""},
        {"200 with a fractional id", reply(200, "application/json", R"({"tracking_id":1.5})"),
         Outcome::rejected, ""},
        {"200 with an id holding a blank",
         reply(200, "application/json", R"({"tracking_id":"a b"})"), Outcome::rejected, ""},
        {"200 with an array", reply(200, "application/json", R"([{"tracking_id":"1"}])"),
         Outcome::rejected, ""},
        {"200 that is not JSON (a maintenance page)", reply(200, "text/html", "<html>"),
         Outcome::temporary, ""},
        {"200 with truncated JSON", reply(200, "application/json", R"({"tracking_id":"1)"),
         Outcome::temporary, ""},
        {"200 with broken UTF-8 in JSON", reply(200, "application/json", "{\"x\":\"\xFF\"}"),
         Outcome::temporary, ""},
        {"401", reply(401, "", ""), Outcome::auth_error, ""},
        {"403", reply(403, "", ""), Outcome::auth_error, ""},
        {"400", reply(400, "application/json", R"({"error":"text"})"), Outcome::rejected, ""},
        {"422", reply(422, "", ""), Outcome::rejected, ""},
        {"408", reply(408, "", ""), Outcome::temporary, ""},
        {"429", reply(429, "", ""), Outcome::temporary, ""},
        {"500", reply(500, "", ""), Outcome::temporary, ""},
        {"503", reply(503, "", ""), Outcome::temporary, ""},
        {"301", reply(301, "", ""), Outcome::temporary, ""},
        {"connect error", failure(HttpErrorKind::connect), Outcome::temporary, ""},
        {"timeout", failure(HttpErrorKind::timeout), Outcome::temporary, ""},
        {"io error", failure(HttpErrorKind::io), Outcome::temporary, ""},
        {"tls error", failure(HttpErrorKind::tls), Outcome::temporary, ""},
    };
    const auto adapter = json_adapter();
    for (const auto& row : rows) {
      CAPTURE(row.name);
      const auto result = adapter->classify_submit(row.response);
      CHECK(to_string(result.outcome) == to_string(row.outcome));
      CHECK(result.tracking_id == row.tracking_id);
      CHECK(result.error.empty() == (row.outcome == Outcome::delivered));
    }
  }

  TEST_CASE("errors never carry the token") {
    const std::string echo = "bad request for token " + k_token + " and Bearer " + k_token;
    for (const auto& adapter : {xml_adapter(), json_adapter()}) {
      for (const unsigned status : {200u, 400u, 500u}) {
        CAPTURE(status);
        const auto result = adapter->classify_submit(reply(status, "text/plain", echo));
        CHECK(result.outcome != Outcome::delivered);
        CHECK(result.error.find(k_token) == std::string::npos);
        CHECK(result.error.find("***") != std::string::npos);
      }
    }
  }

  TEST_CASE("rest-json classify_status reads status, note and time") {
    const auto adapter = json_adapter();
    SUBCASE("a full answer") {
      const auto result = adapter->classify_status(
          reply(200, "application/json",
                R"({"tracking_id":1916449,"status":"Diproses","note":"Sedang\nditinjau",)"
                R"("updated_at":"2026-11-30T08:00:00+07:00"})"));
      CHECK(result.outcome == Outcome::delivered);
      CHECK(result.tracking_id == "1916449");
      CHECK(result.status == "Diproses");
      CHECK(result.note == "Sedang ditinjau");
      CHECK(result.updated_at == "2026-11-30T08:00:00+07:00");
      CHECK(result.error.empty());
    }
    SUBCASE("an unknown status passes through; note may be null or absent") {
      const auto result = adapter->classify_status(
          reply(200, "application/json", R"({"status":"Menunggu Dinas","note":null})"));
      CHECK(result.outcome == Outcome::delivered);
      CHECK(result.status == "Menunggu Dinas");
      CHECK(result.note.empty());
      CHECK(result.updated_at.empty());
    }
    SUBCASE("a long note is cut on a character boundary") {
      std::string note;
      for (int i = 0; i < 200; ++i) {
        note += "\xC3\xA9"; // é, two bytes
      }
      const auto result = adapter->classify_status(
          reply(200, "application/json", R"({"status":"Selesai","note":")" + note + "\"}"));
      CHECK(result.outcome == Outcome::delivered);
      CHECK(result.note.size() == 300);
      CHECK(result.note == note.substr(0, 300));
    }
    SUBCASE("unusable answers") {
      for (const char* body : {"{}", R"({"status":""})", R"({"status":5})",
                               R"({"status":"Selesai","note":7})", "[]", "nope"}) {
        CAPTURE(body);
        const auto result = adapter->classify_status(reply(200, "application/json", body));
        CHECK(result.outcome == Outcome::rejected);
        CHECK_FALSE(result.error.empty());
      }
    }
    SUBCASE("status codes and transport errors") {
      CHECK(adapter->classify_status(reply(404, "", "")).outcome == Outcome::rejected);
      CHECK(adapter->classify_status(reply(401, "", "")).outcome == Outcome::auth_error);
      CHECK(adapter->classify_status(reply(503, "", "")).outcome == Outcome::temporary);
      CHECK(adapter->classify_status(reply(429, "", "")).outcome == Outcome::temporary);
      CHECK(adapter->classify_status(failure(HttpErrorKind::timeout)).outcome ==
            Outcome::temporary);
    }
  }

  TEST_CASE("sanitize redacts, blanks controls and cuts on a UTF-8 boundary") {
    CHECK(detail::sanitize("a TOK b TOK", "TOK", 100) == "a *** b ***");
    CHECK(detail::sanitize("line\r\nnext\x7f", "", 100) == "line  next ");
    CHECK(detail::sanitize("bad\xFF\xC0\x80", "", 100) == "bad???");
    CHECK(detail::sanitize("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", "", 6) == "\xF0\x9F\x98\x80");
    CHECK(detail::sanitize("abc", "", 0).empty());
  }

  TEST_CASE("media_type drops parameters and case") {
    CHECK(detail::media_type(" Text/XML ; charset=UTF-8") == "text/xml");
    CHECK(detail::media_type("") == "");
    CHECK(detail::media_type(";x") == "");
  }
}

// laporctl's text for people fits 80 columns (issue 13): widths counted in
// display columns, not bytes; cuts shown by …; a report's text wrapped under
// its row; `report REF` reads as the life of the report.
#include <laporsms/cli/render.hpp>
#include <laporsms/cli/status.hpp>
#include <laporsms/cli/text.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

using namespace laporsms;
using nlohmann::json;

namespace {

// Columns of a line, counted independently of the code under test: one per
// UTF-8 lead byte, two for the CJK ideographs and the emoji these tests use.
int columns_of(const std::string& line) {
  int n = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if ((byte & 0xC0) == 0x80) {
      continue;
    }
    ++n;
    if (byte == 0xE6 || byte == 0xE8 || byte == 0xF0) { // 日本語 (U+65E5 ...), 🚧 (U+1F6A7)
      ++n;
    }
  }
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

void check_fits(const std::string& text) {
  for (const auto& line : lines_of(text)) {
    INFO("line: ", line);
    CHECK(columns_of(line) <= 80);
    CHECK(line.find('\x1b') == std::string::npos);
  }
}

const std::string k_long_text =
    "Jalan berlubang di Jl. Jenderal Sudirman depan Pasar Induk Kramat Jati sudah tiga minggu "
    "tidak diperbaiki 🚧, sudah ada dua pengendara motor jatuh; mohon segera ditindaklanjuti "
    "oleh Dinas Bina Marga 日本語 ÉÑÜ";
const std::string k_long_link = "telkomsel-jabodetabek-primary-transceiver-link-number-one";

json report_row() {
  return json{{"ref", "MTR4K7QXYZ"},
              {"tracking_id", "3f2b9c1e-7d4a-4c55-9a0e-1b2c3d4e5f60"},
              {"msisdn", "6281234567890123"},
              {"state", "forwarded"},
              {"status", "Belum Terverifikasi oleh instansi yang berwenang di tingkat provinsi"},
              {"text", k_long_text + "\n\x1b[31mbaris kedua\x1b[0m"},
              {"received_at", "2026-11-29T13:05:07+07:00"},
              {"link", k_long_link}};
}

} // namespace

TEST_SUITE("cli.text") {
  TEST_CASE("display_width counts columns, not bytes") {
    CHECK(cli::display_width("abc") == 3);
    CHECK(cli::display_width("ÉÑÜ") == 3);       // 6 bytes
    CHECK(cli::display_width("日本語") == 6);    // wide
    CHECK(cli::display_width("🚧") == 2);         // emoji
    CHECK(cli::display_width("e\xCC\x81") == 1); // e + combining acute
    CHECK(cli::display_width("a\xFF"
                             "b") == 3);       // an invalid byte is one U+FFFD
    CHECK(cli::display_width("a\nb\tc") == 5); // controls become spaces
  }

  TEST_CASE("truncate cuts at a code point and ends with one ellipsis") {
    CHECK(cli::truncate("Jalan Ahmad Yani", 16) == "Jalan Ahmad Yani");
    CHECK(cli::truncate("Jalan Ahmad Yani", 9) == "Jalan Ah\u2026");
    CHECK(cli::truncate("ÉÉÉÉÉÉ", 4) == "ÉÉÉ\u2026");
    // A wide character that does not fit whole is left out.
    CHECK(cli::truncate("ab日本語", 5) == "ab日\u2026");
    CHECK(cli::display_width(cli::truncate("ab日本語", 5)) <= 5);
    CHECK(cli::pad("ÉÑ", 4) == "ÉÑ  ");
    CHECK(cli::pad("7", 3, true) == "  7");
    CHECK(cli::one_line("a\x1b[31mb") == "a [31mb");
  }

  TEST_CASE("wrap breaks between words, keeps every word, and marks a cut") {
    const auto lines = cli::wrap(k_long_text, 30);
    std::string joined;
    for (const auto& line : lines) {
      CHECK(columns_of(line) <= 30);
      joined += (joined.empty() ? "" : " ") + line;
    }
    CHECK(joined == k_long_text);
    const auto cut = cli::wrap(k_long_text, 30, 2);
    REQUIRE(cut.size() == 2);
    CHECK(cut[1].size() >= 3);
    CHECK(cut[1].substr(cut[1].size() - 3) == "\u2026");
    CHECK(columns_of(cut[1]) <= 30);
    // A line break starts a new line; a word longer than a line is split.
    CHECK(cli::wrap("satu\ndua", 20) == std::vector<std::string>{"satu", "dua"});
    CHECK(cli::wrap("abcdefghij", 4) == std::vector<std::string>{"abcd", "efgh", "ij"});
  }

  TEST_CASE("a table shrinks its widest columns to fit") {
    cli::Table table;
    table.add_column("A", 3);
    table.add_column("B", 3);
    table.add_row({std::string(60, 'x'), std::string(60, 'y')}, {std::string(100, 'z')});
    const auto text = table.render(80);
    check_fits(text);
    CHECK(text.find("\u2026") != std::string::npos);
  }

  TEST_CASE("human_duration and compact_duration") {
    CHECK(cli::human_duration(0.25) == "250 ms");
    CHECK(cli::human_duration(12.34) == "12.3 s");
    CHECK(cli::human_duration(245) == "4 min 5 s");
    CHECK(cli::human_duration(3 * 3600 + 12 * 60) == "3 h 12 min");
    CHECK(cli::compact_duration(245) == "4m05s");
    CHECK(cli::compact_duration(2 * 86400 + 4 * 3600) == "2d04h");
  }
}

TEST_SUITE("cli.render") {
  TEST_CASE("reports: every line fits, the text wraps under its row") {
    const auto text = cli::render_reports_text(json::array({report_row(), report_row()}));
    check_fits(text);
    const auto lines = lines_of(text);
    REQUIRE(lines.size() >= 5);
    CHECK(lines[0].rfind("REF", 0) == 0);
    CHECK(lines[1].rfind("MTR4K7QXYZ", 0) == 0);
    CHECK(lines[1].find("forwarded") != std::string::npos);
    CHECK(lines[1].find("2026-11-29 13:05") != std::string::npos);
    CHECK(lines[1].find("\u2026") != std::string::npos); // the long tracking id or link
    CHECK(lines[2].rfind("  status: Belum Terverifikasi", 0) == 0);
    CHECK(lines[3].rfind("  Jalan berlubang di Jl. Jenderal Sudirman", 0) == 0);
    CHECK(text.find('\x1b') == std::string::npos);
    CHECK(cli::render_reports_text(json::array()) == "no reports\n");
  }

  TEST_CASE("report: the life of the report, in 80 columns") {
    auto r = report_row();
    r["inbound"] = json::array({{{"at", "2026-11-29T13:05:07+07:00"},
                                 {"link", k_long_link},
                                 {"source_addr", "6281234567890123"},
                                 {"data_coding", 8},
                                 {"text", "LAPORYAI " + k_long_text}}});
    r["attempts"] = json::array({{{"started_at", "2026-11-29T13:05:08+07:00"},
                                  {"finished_at", "2026-11-29T13:05:13+07:00"},
                                  {"outcome", "temporary"},
                                  {"error", "HTTP 503 Service Unavailable: " + k_long_text}},
                                 {{"started_at", "2026-11-29T13:05:20+07:00"},
                                  {"finished_at", "2026-11-29T13:05:21+07:00"},
                                  {"outcome", "delivered"},
                                  {"error", nullptr}}});
    r["status_history"] = json::array(
        {{{"at", "2026-11-30T09:00:00+07:00"}, {"status", "Diproses"}, {"note", k_long_text}}});
    r["replies"] = json::array({{{"kind", "received"},
                                 {"state", "delivered"},
                                 {"text", "Terima kasih, laporan Anda kami terima dengan nomor "
                                          "MTR4K7QXYZ. Kami teruskan ke LAPOR! dan kabari Anda."},
                                 {"at", "2026-11-29T13:05:07+07:00"},
                                 {"updated_at", "2026-11-29T13:05:09+07:00"},
                                 {"last_error", nullptr}},
                                {{"kind", "forwarded"},
                                 {"state", "undeliverable"},
                                 {"text", "Laporan MTR4K7QXYZ sudah masuk LAPOR!"},
                                 {"at", "2026-11-29T13:05:21+07:00"},
                                 {"updated_at", "2026-11-29T13:06:00+07:00"},
                                 {"last_error", "receipt: UNDELIV (err 001)"}}});
    r["upstream_job"] = {{"state", "done"},
                         {"attempts", 2},
                         {"next_attempt_at", "2026-11-29T13:05:20+07:00"},
                         {"last_error", nullptr}};
    const auto text = cli::render_report_text(r);
    check_fits(text);
    CHECK(text.rfind("Report MTR4K7QXYZ, tracking id #3f2b9c1e", 0) == 0);
    CHECK(text.find("\nfrom 6281234567890123 via\ntelkomsel-jabodetabek") != std::string::npos);
    CHECK(text.find("\nreceived 2026-11-29 13:05:07 (+07:00)\n") != std::string::npos);
    CHECK(text.find("\nInbound SMS (1)\n") != std::string::npos);
    CHECK(text.find("\nUpstream (2 attempts)\n") != std::string::npos);
    CHECK(text.find("  2026-11-29 13:05:08     5.0 s  temporary") != std::string::npos);
    CHECK(text.find("    why: HTTP 503 Service Unavailable") != std::string::npos);
    // The tracking id came 14 s after the SMS.
    CHECK(text.find("  2026-11-29 13:05:20     1.0 s  delivered\n    tracking id "
                    "#3f2b9c1e-7d4a-4c55-9a0e-1b2c3d4e5f60, 14.0 s after the SMS\n") !=
          std::string::npos);
    CHECK(text.find("\nStatus history (1)\n  2026-11-30 09:00:00  Diproses\n") !=
          std::string::npos);
    CHECK(text.find("  2026-11-29 13:05:07  received        delivered 2026-11-29 13:05:09") !=
          std::string::npos);
    CHECK(text.find("forwarded       undeliverable 2026-11-29 13:06:00") != std::string::npos);
    CHECK(text.find("    why: receipt: UNDELIV (err 001)") != std::string::npos);
    // The whole text, every word of it, under "Text".
    const auto at = text.find("\nText\n");
    REQUIRE(at != std::string::npos);
    std::string joined;
    for (const auto& line : lines_of(text.substr(at + 6, text.find("\n\n", at + 6) - at - 6))) {
      joined += (joined.empty() ? "" : " ") + line.substr(2);
    }
    // The escape sequence is gone: ESC is a blank, which starts the second line.
    CHECK(joined == k_long_text + "  [31mbaris kedua [0m");
  }

  TEST_CASE("messages: rows fit, text and why under them") {
    const json messages = json::array({{{"direction", "out"},
                                        {"msisdn", "6281234567890123"},
                                        {"link", k_long_link},
                                        {"text", k_long_text},
                                        {"state", "undeliverable"},
                                        {"at", "2026-11-29T13:05:07+07:00"},
                                        {"error", "receipt: UNDELIV " + k_long_text}},
                                       {{"direction", "in"},
                                        {"msisdn", "6281234567890123"},
                                        {"link", "xl"},
                                        {"text", "LAPORYAI " + k_long_text},
                                        {"state", "stored"},
                                        {"at", "2026-11-29T13:05:00+07:00"},
                                        {"error", nullptr}}});
    const auto text = cli::render_messages_text(messages);
    check_fits(text);
    CHECK(text.find("2026-11-29 13:05:07  out") != std::string::npos);
    CHECK(text.find("\n    why: receipt: UNDELIV") != std::string::npos);
    CHECK(text.find("  LAPORYAI Jalan berlubang") != std::string::npos);
  }

  TEST_CASE("status, backup, check and the daemon's answers fit") {
    json status{{"daemon", "running"},
                {"version", "0.1.0"},
                {"links", json::array({{{"name", k_long_link},
                                        {"state", "binding"},
                                        {"since", "2026-11-29T06:05:00Z"},
                                        {"bind", "receiver+transmitter"},
                                        {"window_in_use", 10},
                                        {"last_error", "TLS handshake failed: " + k_long_text}}})},
                {"upstream", {{"state", "retrying"}, {"last_error", k_long_text}}},
                {"queues",
                 {{"inbound_today", 123456},
                  {"upstream_pending", 123456},
                  {"upstream_failed", 12},
                  {"outbound_pending", 99999},
                  {"oldest_unforwarded_age_s", 86400},
                  {"held", 3},
                  {"replies_unknown", 7}}},
                {"throughput", {{"inbound_last_minute", 42}}}};
    const auto text = cli::render_status_text(status);
    check_fits(text);
    CHECK(text.rfind("daemon:    running (laporsmsd 0.1.0)\n", 0) == 0);
    CHECK(text.find("replies in doubt 7") != std::string::npos);
    CHECK(text.find("  last error: TLS handshake failed") != std::string::npos);

    const std::string path = "/var/backups/laporsms/" + std::string(90, 'b') + "/laporsms.db";
    check_fits(cli::render_backup_text(
        {{"file", path}, {"reports", 5}, {"pages", 10}, {"bytes", 4096}, {"seconds", 0.5}}));
    const auto check = cli::render_check_text({{"file", path},
                                               {"sound", false},
                                               {"problems", json::array({k_long_text})},
                                               {"schema_version", 7},
                                               {"pages", 1},
                                               {"reports", 0}});
    check_fits(check);
    CHECK(check.find("NOT sound; 1 problem(s)") != std::string::npos);
    check_fits(cli::render_control_text({{"ok", true}, {"message", k_long_text}}));
  }
}

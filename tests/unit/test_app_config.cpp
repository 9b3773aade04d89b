#include <laporsms/app/config.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdlib.h>
#include <string>
#include <string_view>
#include <sys/stat.h>

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace laporsms::app;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

// The smallest file that loads: one link with its three required keys.
constexpr std::string_view k_minimal = R"([[smsc]]
name = "telkomsel"
host = "127.0.0.1"
system_id = "metro1708"
)";

Config parse_ok(std::string_view text) {
  auto config = parse_config(text, "test.toml");
  if (!config) {
    FAIL_CHECK(config.error().to_string());
  }
  REQUIRE(config.has_value());
  return *std::move(config);
}

std::string error_of(std::string_view text, const fs::path& path = "test.toml") {
  const auto config = parse_config(text, path);
  REQUIRE_FALSE(config.has_value());
  return config.error().to_string();
}

// k_minimal followed by `more`, so the lines of `more` start at 5.
std::string minimal_and(std::string_view more) {
  return std::string(k_minimal) + std::string(more);
}

using test_util::TempDir;

constexpr auto k_0600 = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto k_0640 = k_0600 | fs::perms::group_read;
constexpr auto k_0644 = k_0640 | fs::perms::others_read;
constexpr auto k_0602 = k_0600 | fs::perms::others_write;

// A link with a secret file, so tests can vary only the file.
std::string link_with_password_file(const fs::path& file) {
  return "[[smsc]]\nname = \"a\"\nhost = \"h\"\nsystem_id = \"s\"\npassword_file = \"" +
         file.string() + "\"\n";
}

// A self-signed CA certificate (EC P-256), only ever loaded, never trusted.
constexpr const char* k_test_ca_pem =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBjTCCATOgAwIBAgIUYSPSDuqoD2G7WtXb1f2I6mrpN4wwCgYIKoZIzj0EAwIw\n"
    "GzEZMBcGA1UEAwwQbGFwb3JzbXMgdGVzdCBDQTAgFw0yNjExMzAwNTMxNTJaGA8y\n"
    "MTI2MTEwNjA1MzE1MlowGzEZMBcGA1UEAwwQbGFwb3JzbXMgdGVzdCBDQTBZMBMG\n"
    "ByqGSM49AgEGCCqGSM49AwEHA0IABHtJf4FHf2G3Vtwb5Sf7PDGu7VVOYNk9EYdN\n"
    "jvsEOtfzeHfHKQVa4IT/XztoJvFH7Tzy1S+Uv5z5LMICIU1SKxSjUzBRMB0GA1Ud\n"
    "DgQWBBQBR1cLrH4JxuF8MepGBnkOofEr5jAfBgNVHSMEGDAWgBQBR1cLrH4JxuF8\n"
    "MepGBnkOofEr5jAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDS\n"
    "Ck50PSC5oC/P1dU3kmSiT23JeBoRFxzG115Dv1dNzQIgBF5u3MlQ4k+DVoHxQ9T4\n"
    "GmtSzpr7paWhA4Q8Uhds6iI=\n"
    "-----END CERTIFICATE-----\n";

} // namespace

TEST_SUITE("app::Config") {
  TEST_CASE("a minimal file gets every default of interfaces.md") {
    const Config config = parse_ok(k_minimal);
    REQUIRE(config.smsc.size() == 1);
    const SmscConfig& link = config.smsc[0];
    CHECK(link.name == "telkomsel");
    CHECK(link.host == "127.0.0.1");
    CHECK(link.port == 2775);
    CHECK_FALSE(link.tls);
    CHECK(link.system_id == "metro1708");
    CHECK(link.password.empty());
    CHECK(link.system_type.empty());
    CHECK(link.bind == SmscConfig::BindKind::transceiver);
    CHECK(link.address_range.empty());
    CHECK(link.source_addr == "1708");
    CHECK(link.source_addr_ton == 3);
    CHECK(link.source_addr_npi == 0);
    CHECK(link.enquire_link_interval == 30s);
    CHECK(link.response_timeout == 10s);
    CHECK(link.window == 10);
    CHECK(link.submit_rate == 50);
    CHECK(link.reconnect_min == 1s);
    CHECK(link.reconnect_max == 60s);
    CHECK(link.default_data_coding == laporsms::sms::DefaultCoding::gsm7);
    CHECK(link.fallback.empty());
    CHECK(link.unknown_resend_after == 10min);

    CHECK(config.store.path == "/var/lib/laporsms/laporsms.db");
    CHECK(config.store.synchronous == StoreConfig::Synchronous::full);

    CHECK(config.upstream.adapter == UpstreamConfig::Adapter::lapor_xml);
    CHECK(config.upstream.url == "https://www.lapor.go.id/api/stream/addstream");
    CHECK(config.upstream.token.empty());
    CHECK(config.upstream.ca_file.empty());
    CHECK(config.upstream.timeout == 15s);
    CHECK(config.upstream.concurrency == 4);
    CHECK(config.upstream.retry_min == 5s);
    CHECK(config.upstream.retry_max == 1h);
    CHECK(config.upstream.give_up_after == 72h);
    CHECK(config.upstream.status_url.empty());
    CHECK(config.upstream.poll_interval == 15min);
    CHECK(config.upstream.rahasia);
    CHECK(config.upstream.anonim);

    CHECK(config.reports.ref_prefix == "MTR");
    CHECK(config.keywords.report == std::vector<std::string>{"LAPORYAI"});
    CHECK(config.keywords.status == std::vector<std::string>{"CEK", "STATUS"});
    CHECK(config.keywords.help == std::vector<std::string>{"INFO", "BANTUAN", "HELP"});

    CHECK(config.limits.max_reports_per_sender == 5);
    CHECK(config.limits.sender_window == 1h);
    CHECK(config.limits.min_report_chars == 10);
    CHECK_FALSE(config.limits.reply_to_short_numbers);

    CHECK(config.replies.received == "Terima kasih, laporan Anda kami terima dengan nomor {ref}. "
                                     "Kami teruskan ke LAPOR! dan kabari Anda via SMS.");
    CHECK(config.replies.forwarded ==
          "Laporan {ref} sudah masuk LAPOR! dengan Tracking ID #{tracking_id}. Pantau: "
          "lapor.go.id/pengaduan/{tracking_id} atau SMS CEK {tracking_id} ke 1708.");
    CHECK(config.replies.status_changed == "Laporan #{tracking_id}: {status}. {note}");
    CHECK(config.replies.status_reply ==
          "Laporan {ref} (#{tracking_id}): {status}, diperbarui {updated}.");
    CHECK(config.replies.help == "Format: LAPORYAI spasi isi laporan, kirim ke 1708. Cek status: "
                                 "CEK spasi nomor laporan.");
    CHECK(config.replies.empty_report ==
          "Isi laporan belum ada. Ketik LAPORYAI spasi isi laporan, kirim ke 1708.");
    CHECK(config.replies.unknown_ref ==
          "Nomor laporan {ref} tidak ditemukan. Periksa kembali nomornya.");
    CHECK(config.replies.rate_limited == "Laporan Anda sudah banyak dalam 1 jam terakhir. Laporan "
                                         "berikutnya kami simpan untuk diperiksa petugas.");
    CHECK(config.replies.failed == "Maaf, laporan {ref} belum dapat diteruskan ke LAPOR!. Petugas "
                                   "kami akan menindaklanjuti.");

    CHECK(config.control.socket == "/run/laporsms/control.sock");
    CHECK(config.metrics.listen.empty());
    CHECK(config.daemon.shutdown_grace == 10s);
    CHECK(config.daemon.log_level == "info");
    CHECK(config.source == "test.toml");
  }

  TEST_CASE("a full file sets every key") {
    const Config config = parse_ok(R"(
[[smsc]]
name = "telkomsel"
host = "smsc1.example.net"
port = 3775
tls = true
system_id = "metro1708"
password = "pw123456"
system_type = "VMA"
bind = "receiver+transmitter"
address_range = "^1708"
source_addr = "1708"
source_addr_ton = 5
source_addr_npi = 1
enquire_link_interval = "45s"
response_timeout = "5s"
window = 20
submit_rate = 100
reconnect_min = "2s"
reconnect_max = "2m"
default_data_coding = "latin1"
fallback = "indosat"

[[smsc]]
name = "indosat"
host = "smsc2.example.net"
system_id = "metro"
default_data_coding = "ascii"

[store]
path = "/srv/lapor/db.sqlite"
synchronous = "normal"

[upstream]
adapter = "rest-json"
url = "http://127.0.0.1:8080/reports"
token = "t0ken"
timeout = "20s"
concurrency = 8
retry_min = "10s"
retry_max = "2h"
give_up_after = "4d"
status_url = "http://127.0.0.1:8080/status"
poll_interval = "5m"
rahasia = false
anonim = false

[reports]
ref_prefix = "bks"

[keywords]
report = ["LAPOR", "ADUAN"]
status = ["CEK"]
help = ["INFO"]

[limits]
max_reports_per_sender = 3
sender_window = "30m"
min_report_chars = 0
reply_to_short_numbers = true

[replies]
received = "Diterima {ref}"
forwarded = "{ref} = #{tracking_id}"
status_changed = "{ref} #{tracking_id} {status} {note}"
status_reply = "{ref} #{tracking_id} {status} {updated}"
help = "Bantuan"
empty_report = "Kosong"
unknown_ref = "Tidak ada {ref}"
rate_limited = "Terlalu banyak"
failed = "Gagal {ref}"

[control]
socket = "/tmp/laporsms.sock"

[metrics]
listen = "[::1]:9708"

[daemon]
shutdown_grace = "0s"
log_level = "debug"
)");
    REQUIRE(config.smsc.size() == 2);
    const SmscConfig& first = config.smsc[0];
    CHECK(first.host == "smsc1.example.net");
    CHECK(first.port == 3775);
    CHECK(first.tls);
    CHECK(first.password == "pw123456");
    CHECK(first.system_type == "VMA");
    CHECK(first.bind == SmscConfig::BindKind::receiver_transmitter);
    CHECK(first.address_range == "^1708");
    CHECK(first.source_addr_ton == 5);
    CHECK(first.source_addr_npi == 1);
    CHECK(first.enquire_link_interval == 45s);
    CHECK(first.response_timeout == 5s);
    CHECK(first.window == 20);
    CHECK(first.submit_rate == 100);
    CHECK(first.reconnect_min == 2s);
    CHECK(first.reconnect_max == 2min);
    CHECK(first.default_data_coding == laporsms::sms::DefaultCoding::latin1);
    CHECK(first.fallback == "indosat");
    CHECK(config.smsc[1].name == "indosat");
    CHECK(config.smsc[1].default_data_coding == laporsms::sms::DefaultCoding::ascii);

    CHECK(config.store.path == "/srv/lapor/db.sqlite");
    CHECK(config.store.synchronous == StoreConfig::Synchronous::normal);

    CHECK(config.upstream.adapter == UpstreamConfig::Adapter::rest_json);
    CHECK(config.upstream.url == "http://127.0.0.1:8080/reports");
    CHECK(config.upstream.token == "t0ken");
    CHECK(config.upstream.timeout == 20s);
    CHECK(config.upstream.concurrency == 8);
    CHECK(config.upstream.retry_min == 10s);
    CHECK(config.upstream.retry_max == 2h);
    CHECK(config.upstream.give_up_after == 96h);
    CHECK(config.upstream.status_url == "http://127.0.0.1:8080/status");
    CHECK(config.upstream.poll_interval == 5min);
    CHECK_FALSE(config.upstream.rahasia);
    CHECK_FALSE(config.upstream.anonim);

    CHECK(config.reports.ref_prefix == "BKS");
    CHECK(config.keywords.report == std::vector<std::string>{"LAPOR", "ADUAN"});
    CHECK(config.keywords.status == std::vector<std::string>{"CEK"});
    CHECK(config.keywords.help == std::vector<std::string>{"INFO"});

    CHECK(config.limits.max_reports_per_sender == 3);
    CHECK(config.limits.sender_window == 30min);
    CHECK(config.limits.min_report_chars == 0);
    CHECK(config.limits.reply_to_short_numbers);

    CHECK(config.replies.received == "Diterima {ref}");
    CHECK(config.replies.forwarded == "{ref} = #{tracking_id}");
    CHECK(config.replies.status_changed == "{ref} #{tracking_id} {status} {note}");
    CHECK(config.replies.status_reply == "{ref} #{tracking_id} {status} {updated}");
    CHECK(config.replies.help == "Bantuan");
    CHECK(config.replies.empty_report == "Kosong");
    CHECK(config.replies.unknown_ref == "Tidak ada {ref}");
    CHECK(config.replies.rate_limited == "Terlalu banyak");
    CHECK(config.replies.failed == "Gagal {ref}");

    CHECK(config.control.socket == "/tmp/laporsms.sock");
    CHECK(config.metrics.listen == "[::1]:9708");
    CHECK(config.daemon.shutdown_grace == 0ms);
    CHECK(config.daemon.log_level == "debug");
  }

  TEST_CASE("the shipped conf/laporsmsd.toml loads and holds the defaults") {
    const fs::path shipped = fs::path(__FILE__).parent_path() / "../../conf/laporsmsd.toml";
    const auto loaded = load_config(shipped);
    if (!loaded) {
      FAIL_CHECK(loaded.error().to_string());
    }
    REQUIRE(loaded.has_value());
    CHECK(loaded->source == shipped);
    // Everything but the link must equal what a minimal file gets.
    Config expected = parse_ok(k_minimal);
    expected.source = shipped;
    CHECK(*loaded == expected);
  }

  TEST_CASE("errors print as PATH:LINE: key 'KEY': MESSAGE") {
    CHECK(ConfigError{"/etc/laporsms/laporsmsd.toml", 7, "smsc[0].port", "bad"}.to_string() ==
          "/etc/laporsms/laporsmsd.toml:7: key 'smsc[0].port': bad");
    CHECK(ConfigError{"a.toml", 0, "", "cannot"}.to_string() == "a.toml:0: cannot");
  }

  TEST_CASE("TOML syntax errors name the line") {
    CHECK(error_of("[[smsc]]\nname = \"a\"\nname = \"b\"\n") ==
          "test.toml:3: TOML syntax error: Error while parsing key-value pair: cannot redefine "
          "existing string 'name'");
    CHECK(error_of(minimal_and("system_type = VMA\n")) ==
          "test.toml:5: TOML syntax error: Error while parsing value: could not determine value "
          "type (text values need quotes, e.g. host = \"smsc.example.net\")");
  }

  TEST_CASE("syntax errors on a secret's line withhold the parser's text") {
    const std::string withheld =
        "TOML syntax error near a secret (details withheld so that the secret stays out of "
        "logs); check the quotes, e.g. password = \"...\"";
    // toml++ alone would answer "expected 'true', saw 'tr0'".
    CHECK(error_of(minimal_and("password = tr0ub4dor\n")) == "test.toml:5: " + withheld);
    CHECK(error_of("[upstream]\ntoken = fals3hood\n") == "test.toml:2: " + withheld);
    CHECK(error_of("[upstream]\ntoken = \"\"\"ab\n\ncd\n") == "test.toml:4: " + withheld);
  }

  TEST_CASE("unknown keys are refused with a suggestion") {
    CHECK(error_of(minimal_and("prot = 2775\n")) ==
          "test.toml:5: key 'smsc[0].prot': unknown setting (did you mean 'port'?)");
    CHECK(error_of(minimal_and("Port = 2775\n")) ==
          "test.toml:5: key 'smsc[0].Port': unknown setting (did you mean 'port'?)");
    CHECK(error_of(minimal_and("[store]\nwal = true\n")) ==
          "test.toml:6: key 'store.wal': unknown setting; [store] takes: path, synchronous, "
          "max_size_mb, retention, "
          "blank_text_after");
    CHECK(error_of(minimal_and("[upstream]\ntoken_fil = \"x\"\n")) ==
          "test.toml:6: key 'upstream.token_fil': unknown setting (did you mean 'token_file'?)");
  }

  TEST_CASE("of several unknown keys the first in the file is named") {
    CHECK(error_of(minimal_and("zz_first = 1\naa_second = 2\n")) ==
          "test.toml:5: key 'smsc[0].zz_first': unknown setting; [[smsc]] takes: name, host, "
          "port, tls, tls_verify, ca_file, system_id, password, password_file, "
          "password_credential, system_type, bind, address_range, "
          "source_addr, source_addr_ton, source_addr_npi, enquire_link_interval, "
          "response_timeout, window, submit_rate, reconnect_min, reconnect_max, "
          "default_data_coding, fallback, reply_max_age, unknown_resend_after, redelivery_horizon");
    CHECK(error_of(minimal_and("[zz]\n[aa]\n")).find("test.toml:5: key 'zz': unknown table") == 0);
  }

  TEST_CASE("unknown tables are refused") {
    CHECK(error_of(minimal_and("\n[stor]\npath = \"x\"\n")) ==
          "test.toml:6: key 'stor': unknown table (did you mean [store]?)");
    CHECK(error_of(minimal_and("[database]\n")) ==
          "test.toml:5: key 'database': unknown table; the tables are: [smsc], [store], "
          "[upstream], [reports], [keywords], [limits], [replies], [control], [metrics], "
          "[daemon]");
    CHECK(error_of("verbose = true\n" + std::string(k_minimal)) ==
          "test.toml:1: key 'verbose': unknown setting outside of any table; the tables are: "
          "[smsc], [store], [upstream], [reports], [keywords], [limits], [replies], [control], "
          "[metrics], [daemon]");
    CHECK(error_of(minimal_and("[store.extra]\nx = 1\n")) ==
          "test.toml:5: key 'store.extra': unknown setting; [store] takes: path, synchronous, "
          "max_size_mb, retention, "
          "blank_text_after");
  }

  TEST_CASE("tables of the wrong shape") {
    CHECK(error_of("[smsc]\nname = \"a\"\n") ==
          "test.toml:1: key 'smsc': write the table as [[smsc]] with double brackets (one such "
          "table per carrier link)");
    CHECK(error_of("smsc = []\n") ==
          "test.toml:1: key 'smsc': at least one [[smsc]] table is required");
    CHECK(error_of("smsc = [1]\n") ==
          "test.toml:1: key 'smsc[0]': must be a [[smsc]] table, not a whole number");
    CHECK(error_of("store = 5\n" + std::string(k_minimal)) ==
          "test.toml:1: key 'store': must be a table: write [store] on a line of its own, with "
          "its settings below it");
  }

  TEST_CASE("wrong types name what was found") {
    CHECK(error_of(minimal_and("port = \"2775\"\n")) ==
          "test.toml:5: key 'smsc[0].port': must be a whole number (without quotes), not text");
    CHECK(error_of(minimal_and("port = 27.75\n")) ==
          "test.toml:5: key 'smsc[0].port': must be a whole number (without quotes), not a "
          "decimal number");
    CHECK(error_of(minimal_and("tls = \"yes\"\n")) ==
          "test.toml:5: key 'smsc[0].tls': must be true or false (without quotes), not text");
    CHECK(error_of(minimal_and("system_type = 5\n")) ==
          "test.toml:5: key 'smsc[0].system_type': must be text in quotes, not a whole number");
    CHECK(error_of(minimal_and("enquire_link_interval = 30\n")) ==
          "test.toml:5: key 'smsc[0].enquire_link_interval': must be a duration in quotes like "
          "\"30s\", not a whole number");
    CHECK(error_of(minimal_and("[keywords]\nreport = \"LAPORYAI\"\n")) ==
          "test.toml:6: key 'keywords.report': must be a list of words in quotes like [\"CEK\", "
          "\"STATUS\"], not text");
    CHECK(error_of(minimal_and("[daemon]\nshutdown_grace = 1979-05-27\n")) ==
          "test.toml:6: key 'daemon.shutdown_grace': must be a duration in quotes like \"30s\", "
          "not a date");
  }

  TEST_CASE("at least one link is required") {
    CHECK(error_of("") == "test.toml:0: key 'smsc': at least one [[smsc]] table is required: it "
                          "tells the daemon which carrier SMSC to connect to");
    CHECK(error_of("[store]\npath = \"/x\"\n").find("test.toml:0: key 'smsc':") == 0);
  }

  TEST_CASE("required link keys name the table's line") {
    CHECK(error_of("\n[[smsc]]\nhost = \"h\"\nsystem_id = \"s\"\n") ==
          "test.toml:2: key 'smsc[0].name': is required in every [[smsc]] table (it names the "
          "link in logs, metrics and laporctl)");
    CHECK(error_of("[[smsc]]\nname = \"a\"\nsystem_id = \"s\"\n") ==
          "test.toml:1: key 'smsc[0].host': is required in every [[smsc]] table (the SMSC's host "
          "name or address)");
    CHECK(error_of(std::string(k_minimal) + "\n[[smsc]]\nname = \"b\"\nhost = \"h\"\n") ==
          "test.toml:6: key 'smsc[1].system_id': is required in every [[smsc]] table (the "
          "account name the carrier gave us)");
    CHECK(error_of("[[smsc]]\nname = \"\"\nhost = \"h\"\nsystem_id = \"s\"\n") ==
          "test.toml:2: key 'smsc[0].name': must not be empty (it names the link in logs, "
          "metrics and laporctl)");
  }

  TEST_CASE("link names are unique and usable") {
    CHECK(error_of(std::string(k_minimal) + "[[smsc]]\nname = \"Telkomsel\"\nhost = \"h\"\n"
                                            "system_id = \"s\"\n") ==
          "test.toml:6: key 'smsc[1].name': the name \"Telkomsel\" is already used by smsc[0]; "
          "every link needs its own name");
    CHECK(error_of("[[smsc]]\nname = \"tel kom\"\nhost = \"h\"\nsystem_id = \"s\"\n") ==
          "test.toml:2: key 'smsc[0].name': \"tel kom\" is not a usable link name; use up to 32 "
          "letters, digits, '-', '_' or '.'");
  }

  TEST_CASE("fallback must name another link") {
    CHECK(error_of(minimal_and("fallback = \"indosat\"\n")) ==
          "test.toml:5: key 'smsc[0].fallback': no [[smsc]] link is named \"indosat\"");
    CHECK(error_of(minimal_and("fallback = \"telkomsel\"\n")) ==
          "test.toml:5: key 'smsc[0].fallback': a link cannot be its own fallback");
    CHECK(error_of(minimal_and("[[smsc]]\nname = \"xl\"\nhost = \"h\"\nsystem_id = \"s\"\n"
                               "fallback = \"telkomsl\"\n")) ==
          "test.toml:9: key 'smsc[1].fallback': no [[smsc]] link is named \"telkomsl\" (did you "
          "mean \"telkomsel\"?)");
    // A fallback may name a link defined further down.
    const Config config = parse_ok(minimal_and(
        "fallback = \"xl\"\n[[smsc]]\nname = \"xl\"\nhost = \"h\"\nsystem_id = \"s\"\n"));
    CHECK(config.smsc[0].fallback == "xl");
  }

  TEST_CASE("numbers out of range") {
    CHECK(error_of(minimal_and("port = 0\n")) ==
          "test.toml:5: key 'smsc[0].port': must be between 1 and 65535, not 0");
    CHECK(error_of(minimal_and("port = 65536\n")) ==
          "test.toml:5: key 'smsc[0].port': must be between 1 and 65535, not 65536");
    CHECK(parse_ok(minimal_and("port = 65535\n")).smsc[0].port == 65535);
    CHECK(error_of(minimal_and("window = 0\n")) ==
          "test.toml:5: key 'smsc[0].window': must be between 1 and 1000, not 0");
    CHECK(error_of(minimal_and("window = 1001\n")) ==
          "test.toml:5: key 'smsc[0].window': must be between 1 and 1000, not 1001");
    CHECK(parse_ok(minimal_and("window = 1000\n")).smsc[0].window == 1000);
    CHECK(error_of(minimal_and("submit_rate = 0\n")) ==
          "test.toml:5: key 'smsc[0].submit_rate': must be between 1 and 4294967295, not 0");
    CHECK(error_of(minimal_and("source_addr_ton = 256\n")) ==
          "test.toml:5: key 'smsc[0].source_addr_ton': must be between 0 and 255, not 256");
    CHECK(error_of(minimal_and("[upstream]\nconcurrency = 0\n")) ==
          "test.toml:6: key 'upstream.concurrency': must be between 1 and 64, not 0");
    CHECK(error_of(minimal_and("[limits]\nmax_reports_per_sender = -1\n")) ==
          "test.toml:6: key 'limits.max_reports_per_sender': must be between 1 and 4294967295, "
          "not -1");
  }

  TEST_CASE("SMPP string fields keep to their protocol limits") {
    CHECK(error_of("[[smsc]]\nname = \"a\"\nhost = \"h\"\nsystem_id = \"sixteen_chars_xx\"\n") ==
          "test.toml:4: key 'smsc[0].system_id': must be at most 15 characters (an SMPP 3.4 "
          "limit), not 16");
    CHECK(error_of(minimal_and("source_addr = \"\"\n")) ==
          "test.toml:5: key 'smsc[0].source_addr': must not be empty (it is the sender of our "
          "replies, e.g. \"1708\")");
    CHECK(error_of(minimal_and("system_type = \"caf\xC3\xA9\"\n")) ==
          "test.toml:5: key 'smsc[0].system_type': must hold only plain ASCII letters, digits "
          "and punctuation");
  }

  TEST_CASE("reconnect_min must not exceed reconnect_max") {
    CHECK(error_of(minimal_and("reconnect_min = \"2m\"\nreconnect_max = \"1m\"\n")) ==
          "test.toml:6: key 'smsc[0].reconnect_max': reconnect_min (2m) must not be longer than "
          "reconnect_max (1m)");
    // Only reconnect_min was written: it is the one to change.
    CHECK(error_of(minimal_and("reconnect_min = \"5m\"\n")) ==
          "test.toml:5: key 'smsc[0].reconnect_min': reconnect_min (5m) must not be longer than "
          "reconnect_max (1m)");
    CHECK(parse_ok(minimal_and("reconnect_min = \"1m\"\n")).smsc[0].reconnect_min == 1min);
  }

  TEST_CASE("retry_min must not exceed retry_max") {
    CHECK(error_of(minimal_and("[upstream]\nretry_min = \"1h\"\nretry_max = \"30m\"\n")) ==
          "test.toml:7: key 'upstream.retry_max': retry_min (1h) must not be longer than "
          "retry_max (30m)");
    CHECK(error_of(minimal_and("[upstream]\nretry_min = \"2h\"\n")) ==
          "test.toml:6: key 'upstream.retry_min': retry_min (2h) must not be longer than "
          "retry_max (1h)");
  }

  TEST_CASE("durations must parse and be positive") {
    CHECK(error_of(minimal_and("response_timeout = \"10\"\n")) ==
          "test.toml:5: key 'smsc[0].response_timeout': \"10\" is not a duration: the number 10 "
          "needs a unit (ms, s, m, h or d), e.g. \"10s\"");
    CHECK(error_of(minimal_and("[upstream]\ntimeout = \"0s\"\n")) ==
          "test.toml:6: key 'upstream.timeout': must be longer than 0s");
    CHECK(error_of(minimal_and("[limits]\nsender_window = \"1 h\"\n")) ==
          "test.toml:6: key 'limits.sender_window': \"1 h\" is not a duration: unexpected \" "
          "h\"; write it like \"500ms\", \"30s\", \"10m\", \"2h\" or \"1h30m\"");
    CHECK(error_of(minimal_and("[upstream]\ngive_up_after = \"3w\"\n")) ==
          "test.toml:6: key 'upstream.give_up_after': \"3w\" is not a duration: unknown unit "
          "\"w\" (use ms, s, m, h or d)");
    CHECK(parse_ok(minimal_and("[daemon]\nshutdown_grace = \"0s\"\n")).daemon.shutdown_grace ==
          0ms);
    // 0 turns the judging of replies in doubt off.
    CHECK(parse_ok(minimal_and("unknown_resend_after = \"0s\"\n")).smsc[0].unknown_resend_after ==
          0ms);
    CHECK(parse_ok(minimal_and("unknown_resend_after = \"30m\"\n")).smsc[0].unknown_resend_after ==
          30min);
  }

  TEST_CASE("enumerations list their choices") {
    CHECK(error_of(minimal_and("bind = \"transciever\"\n")) ==
          "test.toml:5: key 'smsc[0].bind': \"transciever\" is not one of: transceiver, "
          "receiver+transmitter (did you mean \"transceiver\"?)");
    CHECK(error_of(minimal_and("default_data_coding = \"utf8\"\n")) ==
          "test.toml:5: key 'smsc[0].default_data_coding': \"utf8\" is not one of: gsm7, "
          "latin1, ascii");
    CHECK(error_of(minimal_and("[store]\nsynchronous = \"off\"\n")) ==
          "test.toml:6: key 'store.synchronous': \"off\" is not one of: full, normal");
    CHECK(error_of(minimal_and("[upstream]\nadapter = \"lapor_xml\"\n")) ==
          "test.toml:6: key 'upstream.adapter': \"lapor_xml\" is not one of: lapor-xml, "
          "rest-json (did you mean \"lapor-xml\"?)");
    CHECK(error_of(minimal_and("[daemon]\nlog_level = \"warn\"\n")) ==
          "test.toml:6: key 'daemon.log_level': \"warn\" is not one of: debug, info, warning, "
          "error (did you mean \"warning\"?)");
    for (const char* level : {"debug", "info", "warning", "error"}) {
      CHECK(parse_ok(minimal_and("[daemon]\nlog_level = \""s + level + "\"\n")).daemon.log_level ==
            level);
    }
  }

  TEST_CASE("ref_prefix is 2 to 4 letters, stored upper case") {
    CHECK(parse_ok(minimal_and("[reports]\nref_prefix = \"dk\"\n")).reports.ref_prefix == "DK");
    CHECK(parse_ok(minimal_and("[reports]\nref_prefix = \"Jkta\"\n")).reports.ref_prefix == "JKTA");
    CHECK(error_of(minimal_and("[reports]\nref_prefix = \"M\"\n")) ==
          "test.toml:6: key 'reports.ref_prefix': must be 2 to 4 letters A-Z, like \"MTR\", not "
          "\"M\"");
    CHECK(error_of(minimal_and("[reports]\nref_prefix = \"MTRXY\"\n")).find("not \"MTRXY\"") !=
          std::string::npos);
    CHECK(error_of(minimal_and("[reports]\nref_prefix = \"M1R\"\n")).find("not \"M1R\"") !=
          std::string::npos);
  }

  TEST_CASE("keywords are non-empty lists of single words") {
    CHECK(error_of(minimal_and("[keywords]\nstatus = []\n")) ==
          "test.toml:6: key 'keywords.status': must name at least one keyword");
    CHECK(error_of(minimal_and("[keywords]\nhelp = [\"INFO\",\n  \"\"]\n")) ==
          "test.toml:7: key 'keywords.help[1]': must not be empty");
    CHECK(error_of(minimal_and("[keywords]\nhelp = [\"INFO\", 3]\n")) ==
          "test.toml:6: key 'keywords.help[1]': must be a word in quotes, not a whole number");
    CHECK(error_of(minimal_and("[keywords]\nreport = [\"LAPOR YAI\"]\n")) ==
          "test.toml:6: key 'keywords.report[0]': \"LAPOR YAI\" must be one word without blanks");
  }

  TEST_CASE("a keyword may belong to one list only") {
    CHECK(error_of(minimal_and("[keywords]\nstatus = [\"CEK\"]\nhelp = [\"INFO\", \"cek\"]\n")) ==
          "test.toml:7: key 'keywords.help[1]': \"cek\" is also a keyword at "
          "keywords.status[0]; a keyword may appear only once");
    // A written keyword that clashes with a default list is the one blamed.
    CHECK(error_of(minimal_and("[keywords]\nreport = [\"LAPOR\", \"STATUS\"]\n")) ==
          "test.toml:6: key 'keywords.report[1]': \"STATUS\" is also a keyword at "
          "keywords.status[1] (a default); a keyword may appear only once");
    CHECK(error_of(minimal_and("[keywords]\nhelp = [\"INFO\", \"Info\"]\n"))
              .find("key 'keywords.help[1]'") != std::string::npos);
  }

  TEST_CASE("password and password_file together are refused") {
    CHECK(error_of(minimal_and("password = \"\"\npassword_file = \"/x\"\n")) ==
          "test.toml:6: key 'smsc[0].password_file': set either password or password_file, not "
          "both");
    CHECK(error_of(minimal_and("[upstream]\ntoken_file = \"/x\"\ntoken = \"t\"\n")) ==
          "test.toml:6: key 'upstream.token_file': set either token or token_file, not both");
  }

  TEST_CASE("a secret file is read and its trailing newline trimmed") {
    const TempDir dir;
    const fs::path file = dir.write("smpp.secret", "s3cret\n", k_0600);
    CHECK(parse_ok(link_with_password_file(file)).smsc[0].password == "s3cret");
    dir.write("smpp.secret", "s3cret\r\n", k_0640);
    CHECK(parse_ok(link_with_password_file(file)).smsc[0].password == "s3cret");
    dir.write("smpp.secret", "s3cret", k_0640);
    CHECK(parse_ok(link_with_password_file(file)).smsc[0].password == "s3cret");

    const fs::path token = dir.write("lapor.token", "abc.def-ghi\n", k_0640);
    const Config config =
        parse_ok(minimal_and("[upstream]\ntoken_file = \"" + token.string() + "\"\n"));
    CHECK(config.upstream.token == "abc.def-ghi");
  }

  TEST_CASE("laporctl's load skips the secret files: an operator need not be able to read them") {
    const TempDir dir;
    // A file nobody may read (and, as root, one that does not exist at all).
    const fs::path unreadable = dir.write("smpp.secret", "s3cret\n", fs::perms::none);
    const std::string text = link_with_password_file(unreadable) + "[upstream]\ntoken_file = \"" +
                             (dir.path() / "missing.token").string() + "\"\n";
    const auto skipped = parse_config(text, "test.toml", Secrets::skip);
    REQUIRE(skipped.has_value());
    CHECK(skipped->smsc[0].password.empty());
    CHECK(skipped->upstream.token.empty());
    CHECK_FALSE(parse_config(text, "test.toml").has_value()); // the daemon's load still reads them
    // Everything else is still checked.
    CHECK_FALSE(parse_config(text + "[store]\nsynchronous = \"off\"\n", "test.toml", Secrets::skip)
                    .has_value());
  }

  TEST_CASE("a relative secret file is found beside the configuration") {
    const TempDir dir;
    dir.write("smpp.secret", "pw\n", k_0600);
    const auto config =
        parse_config(link_with_password_file("smpp.secret"), dir.path() / "laporsmsd.toml");
    REQUIRE(config.has_value());
    CHECK(config->smsc[0].password == "pw");
  }

  TEST_CASE("a secret file open to other users is refused") {
    const TempDir dir;
    const fs::path readable = dir.write("smpp.secret", "s3cret\n", k_0644);
    CHECK(error_of(link_with_password_file(readable)) ==
          "test.toml:5: key 'smsc[0].password_file': the secret file '" + readable.string() +
              "' is open to other users (mode 0644); refusing it. Restrict it, e.g. chmod o-rwx '" +
              readable.string() + "'");
    const fs::path writable = dir.write("lapor.token", "t0ken\n", k_0602);
    const std::string error =
        error_of(minimal_and("[upstream]\n\ntoken_file = \"" + writable.string() + "\"\n"));
    CHECK(error.find("test.toml:7: key 'upstream.token_file': the secret file '") == 0);
    CHECK(error.find("(mode 0602)") != std::string::npos);
    CHECK(error.find("t0ken") == std::string::npos);
  }

  TEST_CASE("unusable secret files") {
    const TempDir dir;
    const fs::path missing = dir.path() / "missing.secret";
    CHECK(error_of(link_with_password_file(missing)) ==
          "test.toml:5: key 'smsc[0].password_file': secret file: cannot open '" +
              missing.string() + "': No such file or directory");
    const fs::path empty = dir.write("empty.secret", "\n", k_0600);
    CHECK(error_of(link_with_password_file(empty)) ==
          "test.toml:5: key 'smsc[0].password_file': the secret file '" + empty.string() +
              "' is empty");
    const fs::path lines = dir.write("lines.secret", "one\ntwo\n", k_0600);
    CHECK(error_of(link_with_password_file(lines)) ==
          "test.toml:5: key 'smsc[0].password_file': the secret file '" + lines.string() +
              "' holds more than one line; put only the secret in it");
    CHECK(error_of(link_with_password_file(dir.path())) ==
          "test.toml:5: key 'smsc[0].password_file': secret file: '" + dir.path().string() +
              "' is not a regular file");
    CHECK(error_of(minimal_and("password_file = \"\"\n")) ==
          "test.toml:5: key 'smsc[0].password_file': must name the file that holds the secret");
  }

  TEST_CASE("secret values never appear in errors") {
    const TempDir dir;
    const fs::path long_password = dir.write("long.secret", "Sup3rS3cretPw\n", k_0600);
    const std::string from_file = error_of(link_with_password_file(long_password));
    CHECK(from_file == "test.toml:5: key 'smsc[0].password_file': must be at most 8 characters "
                       "(an SMPP 3.4 limit), not 13");
    const std::string inline_error = error_of(minimal_and("password = \"Sup3rS3cretPw\"\n"));
    CHECK(inline_error == "test.toml:5: key 'smsc[0].password': must be at most 8 characters (an "
                          "SMPP 3.4 limit), not 13");
    const std::string token_error =
        error_of(minimal_and("[upstream]\ntoken = \"Sup3r\\u0007S3cret\"\n"));
    CHECK(token_error ==
          "test.toml:6: key 'upstream.token': the token must not contain control characters");
    for (const auto& error : {from_file, inline_error, token_error}) {
      CHECK(error.find("Sup3r") == std::string::npos);
    }
    CHECK(error_of(minimal_and("password = 12345678\n")) ==
          "test.toml:5: key 'smsc[0].password': must be text in quotes, not a whole number");
  }

  TEST_CASE("upstream URLs must be http or https") {
    CHECK(error_of(minimal_and("[upstream]\nurl = \"ftp://lapor.go.id/x\"\n")) ==
          "test.toml:6: key 'upstream.url': scheme must be http or https (e.g. "
          "\"https://www.lapor.go.id/api/stream/addstream\")");
    CHECK(error_of(minimal_and("[upstream]\nurl = \"https://\"\n")).find("key 'upstream.url'") !=
          std::string::npos);
    CHECK(
        error_of(minimal_and("[upstream]\nurl = \"https://a b/\"\n")).find("key 'upstream.url'") !=
        std::string::npos);
    CHECK(parse_ok(minimal_and("[upstream]\nurl = \"HTTPS://Lapor.go.id\"\n")).upstream.url ==
          "HTTPS://Lapor.go.id");
    CHECK(error_of(minimal_and(
              "[upstream]\nadapter = \"rest-json\"\nstatus_url = \"status.example\"\n")) ==
          "test.toml:7: key 'upstream.status_url': must start with http:// or https:// (e.g. "
          "\"https://pengaduan.example.go.id/api/status\")");
    CHECK(error_of(minimal_and("[upstream]\nstatus_url = \"https://x/status\"\n")) ==
          "test.toml:6: key 'upstream.status_url': is used only with adapter = \"rest-json\" "
          "(the lapor-xml API has no status read-back); remove it or change the adapter");
  }

  TEST_CASE("ca_file must exist and hold a certificate") {
    const TempDir dir;
    const fs::path bundle = dir.write("ca.pem", k_test_ca_pem, k_0644);
    CHECK(parse_ok(minimal_and("[upstream]\nca_file = \"" + bundle.string() + "\"\n"))
              .upstream.ca_file == bundle);
    CHECK(error_of(minimal_and("[upstream]\nca_file = \"" + (dir.path() / "no.pem").string() +
                               "\"\n")) == "test.toml:6: key 'upstream.ca_file': '" +
                                               (dir.path() / "no.pem").string() +
                                               "' is not a readable file (a PEM CA bundle)");
    // Found at check time, not when the daemon starts.
    const fs::path broken = dir.write("broken.pem", "-----BEGIN CERTIFICATE-----\n", k_0644);
    const auto error =
        error_of(minimal_and("[[smsc]]\nname = \"b\"\nhost = \"h\"\nsystem_id = \"s\"\n"
                             "password = \"p\"\ntls = true\nca_file = \"" +
                             broken.string() + "\"\n"));
    CHECK(error.find("key 'smsc[1].ca_file': '" + broken.string() + "' holds no PEM certificate") !=
          std::string::npos);
  }

  TEST_CASE("each reply may use only its own placeholders") {
    struct Case {
      const char* name;
      const char* allowed;
      const char* hint;
    };
    const Case cases[] = {
        {"received", "{ref}", "; this reply may use {ref}"},
        {"forwarded", "{ref} {tracking_id}", "; this reply may use {ref}, {tracking_id}"},
        {"status_changed", "{tracking_id} {status} {note} {ref}",
         "; this reply may use {tracking_id}, {status}, {note}, {ref}"},
        {"status_reply", "{ref} {tracking_id} {status} {updated}",
         "; this reply may use {ref}, {tracking_id}, {status}, {updated}"},
        {"help", "", "; this reply takes no placeholders"},
        {"empty_report", "", "; this reply takes no placeholders"},
        {"unknown_ref", "{ref}", "; this reply may use {ref}"},
        {"rate_limited", "", "; this reply takes no placeholders"},
        {"failed", "{ref}", "; this reply may use {ref}"},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const std::string ok = minimal_and("[replies]\n"s + c.name + " = \"x " + c.allowed + "\"\n");
      CHECK(parse_ok(ok).source == "test.toml");
      const std::string bad =
          minimal_and("[replies]\n"s + c.name + " = \"x " + c.allowed + " {msisdn}\"\n");
      CHECK(error_of(bad) ==
            "test.toml:6: key 'replies."s + c.name + "': unknown placeholder {msisdn}" + c.hint);
    }
  }

  TEST_CASE("placeholder errors suggest the close name; other braces are text") {
    CHECK(error_of(minimal_and("[replies]\nforwarded = \"#{trackingid}\"\n")) ==
          "test.toml:6: key 'replies.forwarded': unknown placeholder {trackingid}; this reply may "
          "use {ref}, {tracking_id} (did you mean {tracking_id}?)");
    // "{ ref }", "{}" and a lone brace are not placeholders.
    const Config config = parse_ok(minimal_and("[replies]\nhelp = \"{ ref } {} { {{\"\n"));
    CHECK(config.replies.help == "{ ref } {} { {{");
    // "{1}" is one to the renderer (sms::render_template), so it is checked as one.
    CHECK(error_of(minimal_and("[replies]\nhelp = \"{1}\"\n")) ==
          "test.toml:6: key 'replies.help': unknown placeholder {1}; this reply takes no "
          "placeholders");
    CHECK(error_of(minimal_and("[replies]\nhelp = \"{{ref}}\"\n"))
              .find("unknown placeholder {ref}") != std::string::npos);
    CHECK(error_of(minimal_and("[replies]\nrate_limited = \"\"\n")) ==
          "test.toml:6: key 'replies.rate_limited': must not be empty: it is sent to citizens as "
          "an SMS");
  }

  TEST_CASE("metrics.listen is host:port or empty") {
    CHECK(parse_ok(minimal_and("[metrics]\nlisten = \"127.0.0.1:9708\"\n")).metrics.listen ==
          "127.0.0.1:9708");
    CHECK(parse_ok(minimal_and("[metrics]\nlisten = \"localhost:9708\"\n")).metrics.listen ==
          "localhost:9708");
    CHECK(error_of(minimal_and("[metrics]\nlisten = \"9708\"\n")) ==
          "test.toml:6: key 'metrics.listen': \"9708\" is not an address and port like "
          "\"127.0.0.1:9708\" (or empty to serve no metrics)");
    for (const char* bad : {":9708", "127.0.0.1:0", "127.0.0.1:70000", "::1:9708", "[]:1", "h:"}) {
      CAPTURE(bad);
      CHECK(error_of(minimal_and("[metrics]\nlisten = \""s + bad + "\"\n"))
                .find("key 'metrics.listen'") != std::string::npos);
    }
  }

  TEST_CASE("store and control paths") {
    CHECK(error_of(minimal_and("[store]\npath = \"\"\n")) ==
          "test.toml:6: key 'store.path': must not be empty");
    CHECK(error_of(minimal_and("[control]\nsocket = \"/" + std::string(120, 's') + "\"\n")) ==
          "test.toml:6: key 'control.socket': is longer than 107 bytes, the limit for a Unix "
          "socket path");
  }

  TEST_CASE("load_config reads a file and reports a missing one") {
    const TempDir dir;
    const fs::path file = dir.write("laporsmsd.toml", k_minimal, k_0640);
    const auto loaded = load_config(file);
    REQUIRE(loaded.has_value());
    CHECK(loaded->source == file);
    CHECK(loaded->smsc.at(0).name == "telkomsel");

    const fs::path missing = dir.path() / "nope.toml";
    const auto error = load_config(missing);
    REQUIRE_FALSE(error.has_value());
    CHECK(error.error().line == 0);
    CHECK(error.error().to_string() == missing.string() +
                                           ":0: cannot load the configuration: cannot open '" +
                                           missing.string() + "': No such file or directory");

    const fs::path bad = dir.write("bad.toml", minimal_and("port = 0\n"), k_0640);
    CHECK(load_config(bad).error().to_string() ==
          bad.string() + ":5: key 'smsc[0].port': must be between 1 and 65535, not 0");
  }

  TEST_CASE("the config path: --config beats LAPORSMS_CONFIG beats the default") {
    const char* saved = std::getenv("LAPORSMS_CONFIG");
    const std::string saved_value = saved != nullptr ? saved : "";
    ::unsetenv("LAPORSMS_CONFIG");
    CHECK(resolve_config_path(std::nullopt) == "/etc/laporsms/laporsmsd.toml");
    ::setenv("LAPORSMS_CONFIG", "", 1);
    CHECK(resolve_config_path(std::nullopt) == "/etc/laporsms/laporsmsd.toml");
    ::setenv("LAPORSMS_CONFIG", "/srv/env.toml", 1);
    CHECK(resolve_config_path(std::nullopt) == "/srv/env.toml");
    CHECK(resolve_config_path(fs::path("cli.toml")) == "cli.toml");
    if (saved != nullptr) {
      ::setenv("LAPORSMS_CONFIG", saved_value.c_str(), 1);
    } else {
      ::unsetenv("LAPORSMS_CONFIG");
    }
  }

  TEST_CASE("enumerations print as the file spells them") {
    CHECK(to_string(SmscConfig::BindKind::transceiver) == "transceiver");
    CHECK(to_string(SmscConfig::BindKind::receiver_transmitter) == "receiver+transmitter");
    CHECK(to_string(StoreConfig::Synchronous::normal) == "normal");
    CHECK(to_string(UpstreamConfig::Adapter::rest_json) == "rest-json");
    CHECK(to_string(UpstreamConfig::Adapter::lapor_xml) == "lapor-xml");
  }
}

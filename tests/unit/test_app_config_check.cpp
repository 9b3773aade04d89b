// check_config: every fault of a file in one run, the warnings, and secrets
// from systemd credentials ($CREDENTIALS_DIRECTORY).
#include <laporsms/app/config.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdlib.h>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace laporsms::app;
using namespace std::string_literals;

namespace {

constexpr std::string_view k_minimal = R"([[smsc]]
name = "telkomsel"
host = "127.0.0.1"
system_id = "metro1708"
)";

std::vector<std::string> fault_lines(const ConfigCheck& check) {
  std::vector<std::string> lines;
  for (const auto& fault : check.faults) {
    lines.push_back(fault.to_string());
  }
  return lines;
}

std::vector<std::string> warning_lines(const ConfigCheck& check) {
  std::vector<std::string> lines;
  for (const auto& warning : check.warnings) {
    lines.push_back(warning.to_string());
  }
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    out += line + "\n";
  }
  return out;
}

using test_util::TempDir;

constexpr auto k_0600 = fs::perms::owner_read | fs::perms::owner_write;
constexpr auto k_0400 = fs::perms::owner_read;
constexpr auto k_0644 = k_0600 | fs::perms::group_read | fs::perms::others_read;

// Sets (or with nullopt unsets) an environment variable for one scope.
class EnvScope {
public:
  EnvScope(const char* name, std::optional<std::string> value) : m_name(name) {
    if (const char* old = std::getenv(name)) {
      m_saved = old;
    }
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  EnvScope(const EnvScope&) = delete;
  EnvScope& operator=(const EnvScope&) = delete;
  ~EnvScope() {
    if (m_saved) {
      ::setenv(m_name, m_saved->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }

private:
  const char* m_name;
  std::optional<std::string> m_saved;
};

// Five faults of five kinds, one per line that names them.
constexpr std::string_view k_five_faults = R"([[smsc]]
name = "telkomsel"
host = "127.0.0.1"
port = 99999
system_id = "metro1708"
enquire_link_intervall = "30s"

[upstream]
url = "https://user@lapor.example.go.id/api/stream/addstream"
timeout = "15"

[replies]
received = "Terima kasih {nama}, laporan Anda bernomor {ref}."
)";

} // namespace

TEST_SUITE("app::check_config") {
  TEST_CASE("five faults in one file: five lines, each with file, line and key") {
    const ConfigCheck check = check_config_text(k_five_faults, "/etc/laporsms/laporsmsd.toml");
    CHECK_FALSE(check.config.has_value());
    CHECK(joined(fault_lines(check)) ==
          "/etc/laporsms/laporsmsd.toml:4: key 'smsc[0].port': must be between 1 and 65535, not "
          "99999\n"
          "/etc/laporsms/laporsmsd.toml:6: key 'smsc[0].enquire_link_intervall': unknown setting "
          "(did you mean 'enquire_link_interval'?)\n"
          "/etc/laporsms/laporsmsd.toml:9: key 'upstream.url': must not carry user info (e.g. "
          "\"https://www.lapor.go.id/api/stream/addstream\")\n"
          "/etc/laporsms/laporsmsd.toml:10: key 'upstream.timeout': \"15\" is not a duration: the "
          "number 15 needs a unit (ms, s, m, h or d), e.g. \"15s\"\n"
          "/etc/laporsms/laporsmsd.toml:13: key 'replies.received': unknown placeholder {nama}; "
          "this reply may use {ref}\n");
    CHECK(check.warnings.empty());
    // load_config and parse_config keep returning the first of them.
    const auto first = parse_config(k_five_faults, "/etc/laporsms/laporsmsd.toml");
    REQUIRE_FALSE(first.has_value());
    CHECK(first.error() == check.faults.front());
  }

  TEST_CASE("a file is read the same way: every fault, with the file's path") {
    const TempDir dir;
    const fs::path file = dir.write("laporsmsd.toml", k_five_faults, k_0600);
    const ConfigCheck check = check_config(file);
    REQUIRE(check.faults.size() == 5);
    for (const auto& fault : check.faults) {
      CHECK(fault.path == file);
      CHECK(fault.line > 0);
      CHECK_FALSE(fault.key.empty());
    }
  }

  TEST_CASE("the URL check is the daemon's: a port out of range, user info, a bad host") {
    const auto url_fault = [](std::string_view url) {
      const auto check = check_config_text(
          std::string(k_minimal) + "[upstream]\nurl = \"" + std::string(url) + "\"\n", "t.toml");
      REQUIRE(check.faults.size() == 1);
      CHECK(check.faults[0].key == "upstream.url");
      CHECK(check.faults[0].line == 6);
      return check.faults[0].message;
    };
    CHECK(url_fault("https://lapor.go.id:99999/api") ==
          "port must be a number from 1 to 65535 (e.g. "
          "\"https://www.lapor.go.id/api/stream/addstream\")");
    CHECK(url_fault("https://user:pw@lapor.go.id/api").find("must not carry user info") == 0);
    CHECK(url_fault("https://lapor.go.id:0/").find("port must be") == 0);
    CHECK(url_fault("https://la{por}.go.id/").find("host has characters") == 0);
    CHECK(url_fault("https://[fe80::zz]/").find("has an invalid IPv6 address") == 0);
    // The value is never repeated: a URL can carry a secret.
    CHECK(url_fault("https://user:Hunter22@lapor.go.id/").find("Hunter22") == std::string::npos);

    const auto status = check_config_text(std::string(k_minimal) +
                                              "[upstream]\nadapter = \"rest-json\"\n"
                                              "status_url = \"http://me@api.example/status\"\n",
                                          "t.toml");
    REQUIRE(status.faults.size() == 1);
    CHECK(status.faults[0].to_string() ==
          "t.toml:7: key 'upstream.status_url': must not carry user info (e.g. "
          "\"https://pengaduan.example.go.id/api/status\")");
  }

  TEST_CASE("faults in every table are all told, in the order of the file") {
    const auto check = check_config_text(R"(verbose = true
[[smsc]]
name = "telkomsel"
host = "h"
system_id = "s"
tls = "yes"
reconnect_min = "2m"
reconnect_max = "1m"
fallback = "indosta"
[[smsc]]
name = "indosat"
system_id = "s"
[store]
synchronous = "off"
[keywords]
report = ["LAPOR", ""]
[limits]
sender_window = "1h"
min_report_chars = -1
[stor]
[daemon]
log_level = "warn"
)",
                                         "t.toml");
    CHECK(joined(fault_lines(check)) ==
          "t.toml:1: key 'verbose': unknown setting outside of any table; the tables are: "
          "[smsc], [store], [upstream], [reports], [keywords], [limits], [replies], [control], "
          "[metrics], [daemon]\n"
          "t.toml:6: key 'smsc[0].tls': must be true or false (without quotes), not text\n"
          "t.toml:8: key 'smsc[0].reconnect_max': reconnect_min (2m) must not be longer than "
          "reconnect_max (1m)\n"
          "t.toml:9: key 'smsc[0].fallback': no [[smsc]] link is named \"indosta\" (did you "
          "mean \"indosat\"?)\n"
          "t.toml:10: key 'smsc[1].host': is required in every [[smsc]] table (the SMSC's host "
          "name or address)\n"
          "t.toml:14: key 'store.synchronous': \"off\" is not one of: full, normal\n"
          "t.toml:16: key 'keywords.report[1]': must not be empty\n"
          "t.toml:19: key 'limits.min_report_chars': must be between 0 and 10000, not -1\n"
          "t.toml:20: key 'stor': unknown table (did you mean [store]?)\n"
          "t.toml:22: key 'daemon.log_level': \"warn\" is not one of: debug, info, warning, error "
          "(did you mean \"warning\"?)\n");
    // A link whose name is at fault is not named by another's duplicate-name check.
    const auto names = check_config_text(R"([[smsc]]
name = "a b"
host = "h"
system_id = "s"
[[smsc]]
name = "a b"
host = "h"
system_id = "s"
)",
                                         "t.toml");
    REQUIRE(names.faults.size() == 2);
    CHECK(names.faults[0].line == 2);
    CHECK(names.faults[1].line == 6);
    CHECK(names.faults[1].message.find("is not a usable link name") != std::string::npos);
  }

  TEST_CASE("a fault in one key does not make up a fault in another") {
    // reconnect_max is bad: reconnect_min is not compared with its default.
    const auto check = check_config_text(
        std::string(k_minimal) + "reconnect_min = \"2m\"\nreconnect_max = \"x\"\n", "t.toml");
    REQUIRE(check.faults.size() == 1);
    CHECK(check.faults[0].key == "smsc[0].reconnect_max");
    // A list with a bad word is not compared with the other lists.
    const auto words = check_config_text(
        std::string(k_minimal) + "[keywords]\nstatus = [\"CEK\", 5]\nhelp = [\"CEK\"]\n", "t.toml");
    REQUIRE(words.faults.size() == 1);
    CHECK(words.faults[0].key == "keywords.status[1]");
  }

  TEST_CASE("a TOML syntax error is one fault") {
    const auto check =
        check_config_text(std::string(k_minimal) + "port = \n[store]\npath = 5\n", "t.toml");
    REQUIRE(check.faults.size() == 1);
    CHECK(check.faults[0].line == 5);
    CHECK(check.faults[0].key.empty());
    CHECK(check.faults[0].message.find("TOML syntax error") == 0);
  }

  TEST_CASE("unknown keys: every one, with a close known key when there is one") {
    const auto check =
        check_config_text(std::string(k_minimal) + "pasword = \"x\"\nzzz = 1\n[upstream]\n"
                                                   "token_credentail = \"lapor-token\"\n",
                          "t.toml");
    CHECK(joined(fault_lines(check)) ==
          "t.toml:5: key 'smsc[0].pasword': unknown setting (did you mean 'password'?)\n"
          "t.toml:6: key 'smsc[0].zzz': unknown setting; [[smsc]] takes: name, host, port, tls, "
          "tls_verify, ca_file, system_id, password, password_file, password_credential, "
          "system_type, bind, address_range, source_addr, source_addr_ton, source_addr_npi, "
          "enquire_link_interval, response_timeout, window, submit_rate, reconnect_min, "
          "reconnect_max, default_data_coding, fallback, reply_max_age, unknown_resend_after, "
          "redelivery_horizon\n"
          "t.toml:8: key 'upstream.token_credentail': unknown setting (did you mean "
          "'token_credential'?)\n");
  }
}

TEST_SUITE("app::check_config warnings") {
  TEST_CASE("an inline secret in a file others can read") {
    const TempDir dir;
    const std::string text =
        std::string(k_minimal) + "password = \"s3cr3t\"\n[upstream]\ntoken = \"t0k3n-value\"\n";
    const fs::path open_file = dir.write("open.toml", text, k_0644);
    const ConfigCheck check = check_config(open_file);
    REQUIRE(check.config.has_value());
    CHECK(joined(warning_lines(check)) ==
          open_file.string() +
              ":5: warning: key 'smsc[0].password': the secret is written in a file other users "
              "can read (mode 0644); use password_credential (LoadCredential=) or password_file "
              "instead, or chmod o-r '" +
              open_file.string() + "'\n" + open_file.string() +
              ":7: warning: key 'upstream.token': the secret is written in a file other users can "
              "read (mode 0644); use token_credential (LoadCredential=) or token_file instead, or "
              "chmod o-r '" +
              open_file.string() + "'\n");
    for (const auto& line : warning_lines(check)) {
      CHECK(line.find("s3cr3t") == std::string::npos);
      CHECK(line.find("t0k3n") == std::string::npos);
    }
    // The same file closed to others, and an empty inline secret, warn of nothing.
    CHECK(check_config(dir.write("closed.toml", text, k_0600)).warnings.empty());
    CHECK(
        check_config(dir.write("empty.toml", std::string(k_minimal) + "password = \"\"\n", k_0644))
            .warnings.empty());
  }

  TEST_CASE("a token sent over http:// to another host") {
    const auto warnings_of = [](std::string_view upstream) {
      return warning_lines(check_config_text(
          std::string(k_minimal) + "[upstream]\n" + std::string(upstream), "t.toml"));
    };
    CHECK(warnings_of("url = \"http://lapor.example.go.id/api\"\ntoken = \"t\"\n") ==
          std::vector<std::string>{
              "t.toml:6: warning: key 'upstream.url': sends the API token in clear text to "
              "lapor.example.go.id (http://, not https://); anyone on the path can read it"});
    // A token from a file counts too (laporctl, which skips it, still sees the key).
    CHECK(warnings_of("url = \"http://10.1.2.3:8080/api\"\ntoken_credential = \"lapor-token\"\n")
              .size() == 1);
    CHECK(warning_lines(check_config_text(std::string(k_minimal) +
                                              "[upstream]\nurl = \"http://10.1.2.3/\"\n"
                                              "token_file = \"/nonexistent\"\n",
                                          "t.toml", Secrets::skip))
              .size() == 1);
    CHECK(warnings_of("adapter = \"rest-json\"\nurl = \"https://api.example/r\"\n"
                      "status_url = \"http://api.example/s\"\ntoken = \"t\"\n")
              .at(0)
              .find("t.toml:8: warning: key 'upstream.status_url'") == 0);
    // No token, https, or loopback: nothing to warn of.
    CHECK(warnings_of("url = \"http://lapor.example.go.id/api\"\n").empty());
    CHECK(warnings_of("url = \"https://lapor.example.go.id/api\"\ntoken = \"t\"\n").empty());
    for (const char* local : {"127.0.0.1:8080", "127.9.9.9", "localhost", "[::1]:80",
                              "api.localhost", "[::ffff:127.0.0.1]"}) {
      CAPTURE(local);
      CHECK(warnings_of("url = \"http://"s + local + "/api\"\ntoken = \"t\"\n").empty());
    }
  }

  TEST_CASE("tls_verify = false") {
    const auto with_tls =
        check_config_text(std::string(k_minimal) + "tls = true\ntls_verify = false\n", "t.toml");
    REQUIRE(with_tls.config.has_value());
    CHECK(warning_lines(with_tls) ==
          std::vector<std::string>{"t.toml:6: warning: key 'smsc[0].tls_verify': the SMSC's "
                                   "certificate is not verified: anyone on the path can pose as "
                                   "the SMSC and take the password"});
    const auto without_tls =
        check_config_text(std::string(k_minimal) + "tls_verify = false\n", "t.toml");
    REQUIRE(without_tls.warnings.size() == 1);
    CHECK(without_tls.warnings[0].key == "smsc[0].tls_verify");
    CHECK(check_config_text(std::string(k_minimal) + "tls = true\ntls_verify = true\n", "t.toml")
              .warnings.empty());
  }

  TEST_CASE("warnings and faults together: the faults still refuse the file") {
    const auto check =
        check_config_text(std::string(k_minimal) + "tls_verify = false\nport = 0\n", "t.toml");
    CHECK_FALSE(check.config.has_value());
    CHECK(check.faults.size() == 1);
    CHECK(check.warnings.size() == 1);
  }
}

TEST_SUITE("app::check_config credentials") {
  TEST_CASE("password_credential and token_credential read $CREDENTIALS_DIRECTORY/NAME") {
    const TempDir dir;
    dir.write("smpp-password", "pw123456\n", k_0400);
    dir.write("lapor-token", "tok-from-systemd\n", k_0400);
    const EnvScope env("CREDENTIALS_DIRECTORY", dir.path().string());
    const std::string text = std::string(k_minimal) +
                             "password_credential = \"smpp-password\"\n"
                             "[upstream]\ntoken_credential = \"lapor-token\"\n";
    const auto check = check_config_text(text, "t.toml");
    REQUIRE(check.faults.empty());
    CHECK(check.config->smsc[0].password == "pw123456");
    CHECK(check.config->upstream.token == "tok-from-systemd");
    CHECK(check.warnings.empty());

    // laporctl skips them: nothing is read, the secrets stay empty.
    const auto skipped = check_config_text(text, "t.toml", Secrets::skip);
    REQUIRE(skipped.config.has_value());
    CHECK(skipped.config->smsc[0].password.empty());
    CHECK(skipped.config->upstream.token.empty());
  }

  TEST_CASE("a missing $CREDENTIALS_DIRECTORY or credential is a fault naming the key") {
    const std::string text = std::string(k_minimal) +
                             "password_credential = \"smpp-password\"\n"
                             "[upstream]\ntoken_credential = \"lapor-token\"\n";
    {
      const EnvScope env("CREDENTIALS_DIRECTORY", std::nullopt);
      CHECK(joined(fault_lines(check_config_text(text, "t.toml"))) ==
            "t.toml:5: key 'smsc[0].password_credential': $CREDENTIALS_DIRECTORY is not set, so "
            "credential 'smpp-password' cannot be read; systemd sets it for a unit with "
            "LoadCredential=smpp-password:FILE\n"
            "t.toml:7: key 'upstream.token_credential': $CREDENTIALS_DIRECTORY is not set, so "
            "credential 'lapor-token' cannot be read; systemd sets it for a unit with "
            "LoadCredential=lapor-token:FILE\n");
      // laporctl works without them.
      CHECK(check_config_text(text, "t.toml", Secrets::skip).faults.empty());
    }
    const TempDir dir;
    dir.write("smpp-password", "pw\n", k_0400);
    const EnvScope env("CREDENTIALS_DIRECTORY", dir.path().string());
    CHECK(joined(fault_lines(check_config_text(text, "t.toml"))) ==
          "t.toml:7: key 'upstream.token_credential': credential 'lapor-token' is not in "
          "$CREDENTIALS_DIRECTORY (" +
              dir.path().string() + "); the unit needs LoadCredential=lapor-token:FILE\n");
    dir.write("lapor-token", "\n", k_0400);
    CHECK(joined(fault_lines(check_config_text(text, "t.toml"))) ==
          "t.toml:7: key 'upstream.token_credential': the credential file '" +
              (dir.path() / "lapor-token").string() + "' is empty\n");
    dir.write("lapor-token", "Sup3rS3cret\n", k_0644);
    const auto open = fault_lines(check_config_text(text, "t.toml"));
    REQUIRE(open.size() == 1);
    CHECK(open[0].find("is open to other users (mode 0644)") != std::string::npos);
    CHECK(open[0].find("Sup3rS3cret") == std::string::npos);
  }

  TEST_CASE("credential names are file names") {
    for (const char* bad : {"", "../etc/shadow", "a/b", ".", ".."}) {
      CAPTURE(bad);
      const auto check =
          check_config_text(std::string(k_minimal) + "password_credential = \"" + bad + "\"\n",
                            "t.toml", Secrets::skip);
      REQUIRE(check.faults.size() == 1);
      CHECK(check.faults[0].key == "smsc[0].password_credential");
      CHECK(check.faults[0].message.find("must be the name of a systemd credential") == 0);
    }
  }

  TEST_CASE("exactly one of the inline key, the file and the credential") {
    CHECK(joined(fault_lines(check_config_text(std::string(k_minimal) +
                                                   "password = \"x\"\n"
                                                   "password_credential = \"smpp-password\"\n",
                                               "t.toml", Secrets::skip))) ==
          "t.toml:6: key 'smsc[0].password_credential': set either password or "
          "password_credential, not both\n");
    CHECK(joined(fault_lines(check_config_text(
              std::string(k_minimal) + "[upstream]\ntoken_credential = \"a\"\n"
                                       "token_file = \"/f\"\n",
              "t.toml"))) == "t.toml:6: key 'upstream.token_credential': set either token_file or "
                             "token_credential, not both\n");
    CHECK(
        joined(fault_lines(check_config_text(std::string(k_minimal) + "[upstream]\ntoken = \"t\"\n"
                                                                      "token_credential = \"a\"\n"
                                                                      "token_file = \"/f\"\n",
                                             "t.toml"))) ==
        "t.toml:7: key 'upstream.token_credential': set only one of token, token_file and "
        "token_credential\n");
  }
}

// The daemon's configuration: the TOML file of interfaces.md §2, read into
// plain value types with every default filled in and every value checked.
// Every problem of a file is reported, each as a ConfigError naming the file,
// line and key; risky but valid settings are ConfigWarnings. Nothing in this
// file logs, and secrets never appear in an error or a warning.
#pragma once

#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/command.hpp>
#include <laporsms/store/records.hpp>

#include <tl/expected.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::app {

// One [[smsc]] table: an SMPP link to one carrier.
struct SmscConfig {
  enum class BindKind { transceiver, receiver_transmitter };

  std::string name; // required, unique; names the link in logs, metrics and laporctl
  std::string host; // required
  std::uint16_t port = 2775;
  bool tls = false;
  bool tls_verify = true;        // verify the SMSC's certificate and host name
  std::filesystem::path ca_file; // extra CA bundle (PEM); the system store is always used
  std::string system_id;         // required
  std::string password;          // inline, from password_file or password_credential; never logged
  std::string system_type;
  BindKind bind = BindKind::transceiver; // "transceiver" | "receiver+transmitter"
  std::string address_range;
  std::string source_addr = "1708"; // sender of our replies
  std::uint8_t source_addr_ton = 3; // network specific (short code)
  std::uint8_t source_addr_npi = 0;
  std::chrono::milliseconds enquire_link_interval{std::chrono::seconds(30)};
  std::chrono::milliseconds response_timeout{std::chrono::seconds(10)};
  unsigned window = 10;      // submit_sm awaiting a response, 1..1000
  unsigned submit_rate = 50; // submit_sm per second, at most
  std::chrono::milliseconds reconnect_min{std::chrono::seconds(1)};
  std::chrono::milliseconds reconnect_max{std::chrono::seconds(60)};
  sms::DefaultCoding default_data_coding = sms::DefaultCoding::gsm7; // meaning of data_coding 0
  std::string fallback; // name of another link that may carry replies while this one is down
  // A reply still queued after this long is not sent at all (marked expired):
  // a "received" SMS days late only confuses the citizen.
  std::chrono::milliseconds reply_max_age{std::chrono::hours(24)};
  // A reply whose submit_sm got no response is judged after this long: a
  // receipt for it means the SMSC had it; none, while later replies got
  // theirs, means it did not, and it is sent once more. 0: never judged
  // (it stays unknown for an operator).
  std::chrono::milliseconds unknown_resend_after{std::chrono::minutes(10)};
  // How long this carrier may redeliver an MO whose deliver_sm_resp it never
  // saw (after an outage: hours to days). Unset: [limits] redelivery_window.
  std::optional<std::chrono::milliseconds> redelivery_horizon;

  bool operator==(const SmscConfig&) const = default;
};

struct StoreConfig {
  enum class Synchronous { full, normal };

  std::filesystem::path path = "/var/lib/laporsms/laporsms.db";
  Synchronous synchronous = Synchronous::full;
  // The database may grow to this many MiB (0: no limit); past it, new SMS
  // are answered with a temporary error until room is made.
  unsigned max_size_mb = 0;
  // Delivered replies and closed reports older than this are pruned, in
  // small batches (0s: keep everything).
  std::chrono::milliseconds retention{std::chrono::hours(24 * 365)};
  // The text of a closed report (and its SMS) is blanked this long after it
  // closed, keeping the audit trail (0s: never).
  std::chrono::milliseconds blank_text_after{0};

  bool operator==(const StoreConfig&) const = default;
};

struct UpstreamConfig {
  enum class Adapter { lapor_xml, rest_json }; // "lapor-xml" | "rest-json"

  Adapter adapter = Adapter::lapor_xml;
  std::string url = "https://www.lapor.go.id/api/stream/addstream";
  std::string token;             // inline, token_file or token_credential; never logged
  std::filesystem::path ca_file; // extra CA bundle; empty = system store only
  std::chrono::milliseconds timeout{std::chrono::seconds(15)};
  unsigned concurrency = 4;
  std::chrono::milliseconds retry_min{std::chrono::seconds(5)};
  std::chrono::milliseconds retry_max{std::chrono::hours(1)};
  std::chrono::milliseconds give_up_after{std::chrono::hours(72)};
  std::string status_url; // rest-json only; empty = no status polling
  std::chrono::milliseconds poll_interval{std::chrono::minutes(15)};
  bool rahasia = true; // default confidentiality flags for lapor-xml
  bool anonim = true;

  bool operator==(const UpstreamConfig&) const = default;
};

struct ReportsConfig {
  std::string ref_prefix = "MTR"; // 2-4 ASCII letters, stored upper case

  bool operator==(const ReportsConfig&) const = default;
};

struct LimitsConfig {
  unsigned max_reports_per_sender = 5; // per sender_window; more are stored but not forwarded
  std::chrono::milliseconds sender_window{std::chrono::hours(1)};
  // An MO identical to one stored from the same link this recently is an
  // SMSC redelivery (our deliver_sm_resp was lost): acknowledged, not stored
  // twice. The default redelivery horizon of every link (see
  // SmscConfig::redelivery_horizon); INFO, CEK and stray texts count as
  // repeated for a minute at most.
  std::chrono::milliseconds redelivery_window{std::chrono::hours(72)};
  // A concatenated SMS still missing parts after this is filed as far as it goes.
  std::chrono::milliseconds concat_timeout{std::chrono::minutes(5)};
  std::size_t min_report_chars = 10;
  bool reply_to_short_numbers = false;

  bool operator==(const LimitsConfig&) const = default;
};

struct ControlConfig {
  std::filesystem::path socket = "/run/laporsms/control.sock";

  bool operator==(const ControlConfig&) const = default;
};

struct MetricsConfig {
  std::string listen; // "host:port" or "[v6]:port"; empty = no metrics endpoint

  bool operator==(const MetricsConfig&) const = default;
};

struct DaemonConfig {
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(10)};
  std::string log_level = "info"; // debug | info | warning | error

  bool operator==(const DaemonConfig&) const = default;
};

struct Config {
  std::vector<SmscConfig> smsc; // at least one
  StoreConfig store;
  UpstreamConfig upstream;
  ReportsConfig reports;
  sms::Keywords keywords; // matching is case-insensitive; a keyword belongs to one list only
  LimitsConfig limits;
  store::ReplyTemplates replies;
  ControlConfig control;
  MetricsConfig metrics;
  DaemonConfig daemon;
  std::filesystem::path source; // the file it came from

  bool operator==(const Config&) const = default;
};

// What is wrong with a configuration, and where. `line` is 1-based; 0 when
// the problem has no line (a missing file, a missing table). `key` is the
// dotted path such as "smsc[0].port", empty for TOML syntax errors.
struct ConfigError {
  std::filesystem::path path;
  std::uint32_t line = 0;
  std::string key;
  std::string message;

  // "PATH:LINE: key 'smsc[0].port': MESSAGE", or "PATH:LINE: MESSAGE" without a key.
  std::string to_string() const;

  bool operator==(const ConfigError&) const = default;
};

// A setting that works but puts a secret at risk: an inline secret in a file
// other users may read, a token sent over plain http to another host, an SMSC
// certificate that is not verified. Never repeats a secret.
struct ConfigWarning {
  std::filesystem::path path;
  std::uint32_t line = 0;
  std::string key;
  std::string message;

  // "PATH:LINE: warning: key 'smsc[0].tls_verify': MESSAGE".
  std::string to_string() const;

  bool operator==(const ConfigWarning&) const = default;
};

// Whether the secrets (password_file, token_file, *_credential) are read.
// laporctl skips them: an operator who may read the configuration need not be
// able to read the secrets, and laporctl never uses them.
enum class Secrets { read, skip };

// Everything one reading of a file found. `config` is set exactly when there
// are no faults.
struct ConfigCheck {
  std::optional<Config> config;
  std::vector<ConfigError> faults;     // in the order of the file (by line)
  std::vector<ConfigWarning> warnings; // in the order of the file (by line)
};

// Reads and checks the file at `path`, including the secret files and
// credentials it names (unless `secrets` is skip: the secrets stay empty), and
// reports every fault and warning. A credential (`password_credential`,
// `token_credential`) is the file of that name in $CREDENTIALS_DIRECTORY
// (systemd's LoadCredential=). The URL checks are the daemon's own
// (lapor::parse_url), the placeholder checks the renderer's
// (sms::template_placeholders). A TOML syntax error is one fault: nothing
// after it can be read.
ConfigCheck check_config(const std::filesystem::path& path, Secrets secrets = Secrets::read);

// check_config on `toml_text` as if it were the file `path_for_messages`,
// which names it in messages and anchors relative password_file, token_file
// and ca_file. Without a file there is no mode: no warning about who can
// read it.
ConfigCheck check_config_text(std::string_view toml_text,
                              const std::filesystem::path& path_for_messages,
                              Secrets secrets = Secrets::read);

// check_config reduced to the configuration or its first fault in the file.
tl::expected<Config, ConfigError> load_config(const std::filesystem::path& path,
                                              Secrets secrets = Secrets::read);

// check_config_text reduced to the configuration or its first fault.
tl::expected<Config, ConfigError> parse_config(std::string_view toml_text,
                                               const std::filesystem::path& path_for_messages,
                                               Secrets secrets = Secrets::read);

// The file to read: `cli_option` (--config) if given, else $LAPORSMS_CONFIG
// if set and not empty, else /etc/laporsms/laporsmsd.toml.
std::filesystem::path resolve_config_path(const std::optional<std::filesystem::path>& cli_option);

// What the intake decides by (keywords, limits, reply templates, the
// upstream's default flags): the snapshot a SIGHUP replaces whole.
store::IntakePolicy intake_policy(const Config& config);

// The spelling used in the file, for logs and laporctl.
std::string_view to_string(SmscConfig::BindKind bind);
std::string_view to_string(StoreConfig::Synchronous synchronous);
std::string_view to_string(UpstreamConfig::Adapter adapter);

} // namespace laporsms::app

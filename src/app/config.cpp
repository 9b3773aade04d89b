#include <laporsms/app/config.hpp>
#include <laporsms/app/duration.hpp>
#include <laporsms/util/tls.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <iterator>
#include <limits>
#include <map>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace laporsms::app {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr std::size_t k_max_config_bytes = 1024 * 1024;
constexpr std::size_t k_max_secret_bytes = 64 * 1024;
// sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
constexpr std::size_t k_max_socket_path = 107;

// Thrown only inside this file; parse_config turns it into a value.
struct Failure {
  ConfigError error;
};

[[noreturn]] void fail(const fs::path& file, std::uint32_t line, std::string key,
                       std::string message) {
  throw Failure{ConfigError{file, line, std::move(key), std::move(message)}};
}

std::uint32_t line_of(const toml::node& node) {
  return node.source().begin.line;
}

std::string_view describe(toml::node_type type) {
  switch (type) {
  case toml::node_type::string:
    return "text";
  case toml::node_type::integer:
    return "a whole number";
  case toml::node_type::floating_point:
    return "a decimal number";
  case toml::node_type::boolean:
    return "true/false";
  case toml::node_type::array:
    return "a list";
  case toml::node_type::table:
    return "a table";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date and time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
  return out;
}

std::string join(const std::vector<std::string_view>& words, std::string_view before = "",
                 std::string_view after = "") {
  std::string out;
  for (const auto& word : words) {
    if (!out.empty()) {
      out += ", ";
    }
    fmt::format_to(std::back_inserter(out), "{}{}{}", before, word, after);
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t cost = ascii_lower(a[i - 1]) == ascii_lower(b[j - 1]) ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate a typo most likely meant, if one is close enough.
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::min<std::size_t>(3, word.size());
  for (const auto& candidate : candidates) {
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best || word.size() < 3) {
    return best;
  }
  // A shortened word ("warn" for "warning") is as likely as a misspelt one.
  const std::string lower = ascii_lower(word);
  for (const auto& candidate : candidates) {
    if (ascii_lower(candidate).rfind(lower, 0) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

bool is_http_url(std::string_view url) {
  const std::string scheme = ascii_lower(url.substr(0, 8));
  std::size_t host_start = 0;
  if (scheme.rfind("https://", 0) == 0) {
    host_start = 8;
  } else if (scheme.rfind("http://", 0) == 0) {
    host_start = 7;
  } else {
    return false;
  }
  const std::size_t host_end = url.find_first_of("/?#", host_start);
  if (url.substr(host_start, host_end - host_start).empty()) {
    return false;
  }
  return std::none_of(url.begin(), url.end(), [](char c) { return c == ' ' || is_control(c); });
}

// "host:port" or "[v6 address]:port" with a port of 1..65535.
bool is_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  const std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), is_ascii_digit)) {
    return false;
  }
  const long number = std::strtol(std::string(port).c_str(), nullptr, 10);
  if (number < 1 || number > 65535) {
    return false;
  }
  if (host.front() == '[') {
    return host.size() > 2 && host.back() == ']';
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) || c == '.' || c == '-' || c == '_';
  });
}

// Closes a POSIX descriptor on every path out, including a thrown Failure.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }

private:
  int m_fd;
};

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

struct FileContents {
  std::string data;
  mode_t mode = 0;
};

// Reads a regular file of at most `limit` bytes. O_NONBLOCK keeps a FIFO put
// in the file's place from hanging the daemon; it does not affect regular files.
tl::expected<FileContents, std::string> read_regular_file(const fs::path& path, std::size_t limit) {
  const FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) {
    return tl::make_unexpected(
        fmt::format("cannot open '{}': {}", path.string(), errno_text(errno)));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    return tl::make_unexpected(
        fmt::format("cannot examine '{}': {}", path.string(), errno_text(errno)));
  }
  if (!S_ISREG(status.st_mode)) {
    return tl::make_unexpected(fmt::format("'{}' is not a regular file", path.string()));
  }
  FileContents contents;
  contents.mode = status.st_mode;
  char buffer[4096];
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      return tl::make_unexpected(
          fmt::format("cannot read '{}': {}", path.string(), errno_text(errno)));
    }
    if (got == 0) {
      break;
    }
    if (contents.data.size() + static_cast<std::size_t>(got) > limit) {
      return tl::make_unexpected(
          fmt::format("'{}' is larger than {} KiB", path.string(), limit / 1024));
    }
    contents.data.append(buffer, static_cast<std::size_t>(got));
  }
  return contents;
}

// The key in `table` not among `known` that comes first in the file (toml++
// keeps keys sorted by name, not by line).
std::optional<std::pair<std::string_view, const toml::node*>>
first_unknown(const toml::table& table, const std::vector<std::string_view>& known) {
  std::optional<std::pair<std::string_view, const toml::node*>> first;
  for (auto&& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) {
      continue;
    }
    if (!first || line_of(node) < line_of(*first->second)) {
      first.emplace(key.str(), &node);
    }
  }
  return first;
}

// One table of the file, e.g. [store] or the first [[smsc]]. It knows which
// keys belong there and turns every problem into a Failure naming the key.
class Section {
public:
  // `name` is the key path of the table ("store", "smsc[0]"), `header` how the
  // operator wrote it ("[store]", "[[smsc]]").
  Section(const fs::path& file, const toml::table& table, std::string name, std::string header,
          std::vector<std::string_view> known)
      : m_file(file), m_table(table), m_name(std::move(name)), m_header(std::move(header)),
        m_known(std::move(known)) {
    if (const auto unknown = first_unknown(m_table, m_known)) {
      std::string message = "unknown setting";
      if (const auto guess = closest(unknown->first, m_known)) {
        message += fmt::format(" (did you mean '{}'?)", *guess);
      } else {
        message += fmt::format("; {} takes: {}", m_header, join(m_known));
      }
      fail(m_file, line_of(*unknown->second), key_path(unknown->first), std::move(message));
    }
  }

  const fs::path& file() const { return m_file; }
  std::uint32_t line() const { return line_of(m_table); }
  std::string key_path(std::string_view key) const { return fmt::format("{}.{}", m_name, key); }
  const toml::node* find(std::string_view key) const { return m_table.get(key); }
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Fails at the key's own line, or at the table's line when the key is absent.
  [[noreturn]] void fail_at(std::string_view key, std::string message) const {
    const toml::node* node = find(key);
    fail(m_file, node != nullptr ? line_of(*node) : line(), key_path(key), std::move(message));
  }

  std::optional<std::string> text(std::string_view key) const {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return std::nullopt;
    }
    if (const auto* value = node->as_string()) {
      return value->get();
    }
    fail_at(key, fmt::format("must be text in quotes, not {}", describe(node->type())));
  }

  std::string required_text(std::string_view key, std::string_view what) const {
    auto value = text(key);
    if (!value) {
      fail_at(key, fmt::format("is required in every {} table ({})", m_header, what));
    }
    if (value->empty()) {
      fail_at(key, fmt::format("must not be empty ({})", what));
    }
    return *std::move(value);
  }

  void read(std::string_view key, std::string& out) const {
    if (auto value = text(key)) {
      out = *std::move(value);
    }
  }

  void read(std::string_view key, bool& out) const {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return;
    }
    const auto* value = node->as_boolean();
    if (value == nullptr) {
      fail_at(key, fmt::format("must be true or false (without quotes), not {}",
                               describe(node->type())));
    }
    out = value->get();
  }

  // A path that, when given, must not be empty.
  void read_path(std::string_view key, fs::path& out) const {
    if (auto value = text(key)) {
      if (value->empty()) {
        fail_at(key, "must not be empty");
      }
      if (std::any_of(value->begin(), value->end(), is_control)) {
        fail_at(key, "must not contain control characters");
      }
      out = *std::move(value);
    }
  }

  template <typename Int>
  void read_integer(std::string_view key, Int& out, std::int64_t min,
                    std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return;
    }
    const auto* value = node->as_integer();
    if (value == nullptr) {
      fail_at(key, fmt::format("must be a whole number (without quotes), not {}",
                               describe(node->type())));
    }
    const std::int64_t number = value->get();
    if (number < min || number > max) {
      if (max == std::numeric_limits<std::int64_t>::max()) {
        fail_at(key, fmt::format("must be at least {}, not {}", min, number));
      }
      fail_at(key, fmt::format("must be between {} and {}, not {}", min, max, number));
    }
    out = static_cast<Int>(number);
  }

  void read_duration(std::string_view key, milliseconds& out,
                     milliseconds min = milliseconds(1)) const {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return;
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
      fail_at(key, fmt::format("must be a duration in quotes like \"30s\", not {}",
                               describe(node->type())));
    }
    auto parsed = parse_duration(value->get());
    if (!parsed) {
      fail_at(key, std::move(parsed.error()));
    }
    if (*parsed < min) {
      fail_at(key, min == milliseconds(1)
                       ? std::string("must be longer than 0s")
                       : fmt::format("must be at least {}", format_duration(min)));
    }
    out = *parsed;
  }

  template <typename Enum>
  void read_choice(std::string_view key, Enum& out,
                   const std::vector<std::pair<std::string_view, Enum>>& choices) const {
    auto value = text(key);
    if (!value) {
      return;
    }
    std::vector<std::string_view> names;
    for (const auto& [name, choice] : choices) {
      if (name == *value) {
        out = choice;
        return;
      }
      names.push_back(name);
    }
    std::string message = fmt::format("\"{}\" is not one of: {}", *value, join(names));
    if (const auto guess = closest(*value, names)) {
      message += fmt::format(" (did you mean \"{}\"?)", *guess);
    }
    fail_at(key, std::move(message));
  }

  // A list of strings; `out` keeps its default when the key is absent.
  // Returns each element's line for later checks, empty when absent.
  std::vector<std::uint32_t> read_words(std::string_view key, std::vector<std::string>& out) const {
    const toml::node* node = find(key);
    if (node == nullptr) {
      return {};
    }
    const auto* list = node->as_array();
    if (list == nullptr) {
      fail_at(key,
              fmt::format("must be a list of words in quotes like [\"CEK\", \"STATUS\"], not {}",
                          describe(node->type())));
    }
    if (list->empty()) {
      fail_at(key, "must name at least one keyword");
    }
    std::vector<std::string> words;
    std::vector<std::uint32_t> lines;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::node& element = *list->get(i);
      const std::string element_key = fmt::format("{}[{}]", key_path(key), i);
      const auto* word = element.as_string();
      if (word == nullptr) {
        fail(m_file, line_of(element), element_key,
             fmt::format("must be a word in quotes, not {}", describe(element.type())));
      }
      if (word->get().empty()) {
        fail(m_file, line_of(element), element_key, "must not be empty");
      }
      if (std::any_of(word->get().begin(), word->get().end(),
                      [](char c) { return c == ' ' || c == '\t' || is_control(c); })) {
        fail(m_file, line_of(element), element_key,
             fmt::format("\"{}\" must be one word without blanks", word->get()));
      }
      words.push_back(word->get());
      lines.push_back(line_of(element));
    }
    out = std::move(words);
    return lines;
  }

private:
  const fs::path& m_file;
  const toml::table& m_table;
  std::string m_name;
  std::string m_header;
  std::vector<std::string_view> m_known;
};

// SMPP 3.4 C-Octet String fields: printable ASCII, bounded length. The
// message never repeats the value, which may be a password.
void check_smpp_field(const Section& section, std::string_view key, std::string_view value,
                      std::size_t max_chars) {
  if (value.size() > max_chars) {
    section.fail_at(key, fmt::format("must be at most {} characters (an SMPP 3.4 limit), not {}",
                                     max_chars, value.size()));
  }
  if (std::any_of(value.begin(), value.end(), [](char c) { return c < 0x20 || c > 0x7E; })) {
    section.fail_at(key, "must hold only plain ASCII letters, digits and punctuation");
  }
}

// Set by parse_config for the one parse running on this thread.
thread_local Secrets t_secrets = Secrets::read;

// A secret comes inline (`inline_key`) or from a file (`file_key`), never both.
// Relative file names are taken from the configuration file's folder.
std::optional<std::string> read_secret(const Section& section, std::string_view inline_key,
                                       std::string_view file_key) {
  if (section.has(inline_key) && section.has(file_key)) {
    section.fail_at(file_key, fmt::format("set either {} or {}, not both", inline_key, file_key));
  }
  if (t_secrets == Secrets::skip) {
    return std::nullopt; // neither read nor checked
  }
  if (!section.has(file_key)) {
    return section.text(inline_key);
  }
  const auto name = section.text(file_key);
  if (name->empty()) {
    section.fail_at(file_key, "must name the file that holds the secret");
  }
  fs::path path(*name);
  if (path.is_relative()) {
    path = section.file().parent_path() / path;
  }
  auto contents = read_regular_file(path, k_max_secret_bytes);
  if (!contents) {
    section.fail_at(file_key, fmt::format("secret file: {}", contents.error()));
  }
  // Other users must neither read the secret nor replace it.
  if ((contents->mode & 0007) != 0) {
    section.fail_at(file_key,
                    fmt::format("the secret file '{}' is open to other users (mode {:04o}); "
                                "refusing it. Restrict it, e.g. chmod o-rwx '{}'",
                                path.string(), contents->mode & 07777, path.string()));
  }
  std::string secret = std::move(contents->data);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.find_first_of("\r\n") != std::string::npos) {
    section.fail_at(file_key, fmt::format("the secret file '{}' holds more than one line; "
                                          "put only the secret in it",
                                          path.string()));
  }
  if (secret.empty()) {
    section.fail_at(file_key, fmt::format("the secret file '{}' is empty", path.string()));
  }
  return secret;
}

// Link names appear in logs, metric labels and laporctl output.
bool is_link_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) || c == '-' || c == '_' || c == '.';
  });
}

// `ca_file`: an extra PEM CA bundle, relative to the config file's folder.
fs::path read_ca_file(const Section& s) {
  const auto ca_file = s.text("ca_file");
  if (!ca_file || ca_file->empty()) {
    return {};
  }
  fs::path path(*ca_file);
  if (path.is_relative()) {
    path = s.file().parent_path() / path;
  }
  std::error_code error;
  if (!fs::is_regular_file(path, error)) {
    s.fail_at("ca_file",
              fmt::format("'{}' is not a readable file (a PEM CA bundle)", path.string()));
  }
  if (auto problem = util::ca_file_problem(path)) {
    s.fail_at("ca_file", std::move(*problem));
  }
  return path;
}

SmscConfig read_smsc(const Section& s) {
  SmscConfig link;
  link.name = s.required_text("name", "it names the link in logs, metrics and laporctl");
  if (!is_link_name(link.name)) {
    s.fail_at("name", fmt::format("\"{}\" is not a usable link name; use up to 32 letters, "
                                  "digits, '-', '_' or '.'",
                                  link.name));
  }
  link.host = s.required_text("host", "the SMSC's host name or address");
  if (link.host.size() > 253 || std::any_of(link.host.begin(), link.host.end(),
                                            [](char c) { return c == ' ' || is_control(c); })) {
    s.fail_at("host", "is not a host name or address");
  }
  s.read_integer("port", link.port, 1, 65535);
  s.read("tls", link.tls);
  s.read("tls_verify", link.tls_verify);
  link.ca_file = read_ca_file(s);
  link.system_id = s.required_text("system_id", "the account name the carrier gave us");
  check_smpp_field(s, "system_id", link.system_id, 15);
  if (auto password = read_secret(s, "password", "password_file")) {
    link.password = *std::move(password);
    check_smpp_field(s, s.has("password_file") ? "password_file" : "password", link.password, 8);
  }
  s.read("system_type", link.system_type);
  check_smpp_field(s, "system_type", link.system_type, 12);
  s.read_choice("bind", link.bind,
                {{"transceiver", SmscConfig::BindKind::transceiver},
                 {"receiver+transmitter", SmscConfig::BindKind::receiver_transmitter}});
  s.read("address_range", link.address_range);
  check_smpp_field(s, "address_range", link.address_range, 40);
  s.read("source_addr", link.source_addr);
  if (link.source_addr.empty()) {
    s.fail_at("source_addr", "must not be empty (it is the sender of our replies, e.g. \"1708\")");
  }
  check_smpp_field(s, "source_addr", link.source_addr, 20);
  s.read_integer("source_addr_ton", link.source_addr_ton, 0, 255);
  s.read_integer("source_addr_npi", link.source_addr_npi, 0, 255);
  s.read_duration("enquire_link_interval", link.enquire_link_interval);
  s.read_duration("response_timeout", link.response_timeout);
  s.read_duration("reply_max_age", link.reply_max_age);
  s.read_duration("unknown_resend_after", link.unknown_resend_after, milliseconds(0));
  if (s.has("redelivery_horizon")) {
    milliseconds horizon{0};
    s.read_duration("redelivery_horizon", horizon, milliseconds(0));
    link.redelivery_horizon = horizon;
  }
  s.read_integer("window", link.window, 1, 1000);
  s.read_integer("submit_rate", link.submit_rate, 1, std::numeric_limits<unsigned>::max());
  s.read_duration("reconnect_min", link.reconnect_min);
  s.read_duration("reconnect_max", link.reconnect_max);
  if (link.reconnect_min > link.reconnect_max) {
    s.fail_at(s.has("reconnect_max") ? "reconnect_max" : "reconnect_min",
              fmt::format("reconnect_min ({}) must not be longer than reconnect_max ({})",
                          format_duration(link.reconnect_min),
                          format_duration(link.reconnect_max)));
  }
  s.read_choice("default_data_coding", link.default_data_coding,
                {{"gsm7", sms::DefaultCoding::gsm7},
                 {"latin1", sms::DefaultCoding::latin1},
                 {"ascii", sms::DefaultCoding::ascii}});
  s.read("fallback", link.fallback);
  return link;
}

void read_links(const fs::path& file, const toml::table& root, Config& config) {
  const toml::node* node = root.get("smsc");
  if (node == nullptr) {
    fail(file, 0, "smsc",
         "at least one [[smsc]] table is required: it tells the daemon which carrier SMSC to "
         "connect to");
  }
  if (node->is_table()) {
    fail(file, line_of(*node), "smsc",
         "write the table as [[smsc]] with double brackets (one such table per carrier link)");
  }
  const auto* list = node->as_array();
  if (list == nullptr) {
    fail(file, line_of(*node), "smsc",
         fmt::format("must be [[smsc]] tables, not {}", describe(node->type())));
  }
  if (list->empty()) {
    fail(file, line_of(*node), "smsc", "at least one [[smsc]] table is required");
  }
  std::vector<std::uint32_t> fallback_lines;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = *list->get(i);
    const std::string name = fmt::format("smsc[{}]", i);
    const auto* table = element.as_table();
    if (table == nullptr) {
      fail(file, line_of(element), name,
           fmt::format("must be a [[smsc]] table, not {}", describe(element.type())));
    }
    const Section section(file, *table, name, "[[smsc]]",
                          {"name",
                           "host",
                           "port",
                           "tls",
                           "tls_verify",
                           "ca_file",
                           "system_id",
                           "password",
                           "password_file",
                           "system_type",
                           "bind",
                           "address_range",
                           "source_addr",
                           "source_addr_ton",
                           "source_addr_npi",
                           "enquire_link_interval",
                           "response_timeout",
                           "window",
                           "submit_rate",
                           "reconnect_min",
                           "reconnect_max",
                           "default_data_coding",
                           "fallback",
                           "reply_max_age",
                           "unknown_resend_after",
                           "redelivery_horizon"});
    SmscConfig link = read_smsc(section);
    for (std::size_t j = 0; j < config.smsc.size(); ++j) {
      if (ascii_lower(config.smsc[j].name) == ascii_lower(link.name)) {
        section.fail_at("name", fmt::format("the name \"{}\" is already used by smsc[{}]; "
                                            "every link needs its own name",
                                            link.name, j));
      }
    }
    const toml::node* fallback = table->get("fallback");
    fallback_lines.push_back(fallback != nullptr ? line_of(*fallback) : line_of(*table));
    config.smsc.push_back(std::move(link));
  }
  // Fallbacks may point forward, so they are checked once every name is known.
  for (std::size_t i = 0; i < config.smsc.size(); ++i) {
    const std::string& fallback = config.smsc[i].fallback;
    if (fallback.empty()) {
      continue;
    }
    const std::string key = fmt::format("smsc[{}].fallback", i);
    if (fallback == config.smsc[i].name) {
      fail(file, fallback_lines[i], key, "a link cannot be its own fallback");
    }
    std::vector<std::string_view> names;
    for (const auto& other : config.smsc) {
      names.push_back(other.name);
    }
    if (std::find(names.begin(), names.end(), fallback) == names.end()) {
      std::string message = fmt::format("no [[smsc]] link is named \"{}\"", fallback);
      if (const auto guess = closest(fallback, names)) {
        message += fmt::format(" (did you mean \"{}\"?)", *guess);
      }
      fail(file, fallback_lines[i], key, std::move(message));
    }
  }
}

void read_store(const Section& s, StoreConfig& store) {
  s.read_path("path", store.path);
  s.read_choice(
      "synchronous", store.synchronous,
      {{"full", StoreConfig::Synchronous::full}, {"normal", StoreConfig::Synchronous::normal}});
  s.read_integer("max_size_mb", store.max_size_mb, 0, 1024 * 1024);
  s.read_duration("retention", store.retention, std::chrono::milliseconds(0));
  s.read_duration("blank_text_after", store.blank_text_after, std::chrono::milliseconds(0));
}

[[noreturn]] void fail_url(const Section& s, std::string_view key, std::string_view example) {
  // The value is not repeated: a URL may carry credentials.
  s.fail_at(key, fmt::format("must be an http:// or https:// URL, e.g. \"{}\"", example));
}

void read_upstream(const Section& s, UpstreamConfig& upstream) {
  s.read_choice("adapter", upstream.adapter,
                {{"lapor-xml", UpstreamConfig::Adapter::lapor_xml},
                 {"rest-json", UpstreamConfig::Adapter::rest_json}});
  s.read("url", upstream.url);
  if (!is_http_url(upstream.url)) {
    fail_url(s, "url", "https://www.lapor.go.id/api/stream/addstream");
  }
  if (auto token = read_secret(s, "token", "token_file")) {
    upstream.token = *std::move(token);
    // The token goes into an HTTP header or an XML attribute as it is.
    if (std::any_of(upstream.token.begin(), upstream.token.end(), is_control)) {
      s.fail_at(s.has("token_file") ? "token_file" : "token",
                "the token must not contain control characters");
    }
  }
  upstream.ca_file = read_ca_file(s);
  s.read_duration("timeout", upstream.timeout);
  s.read_integer("concurrency", upstream.concurrency, 1, 64);
  s.read_duration("retry_min", upstream.retry_min);
  s.read_duration("retry_max", upstream.retry_max);
  if (upstream.retry_min > upstream.retry_max) {
    s.fail_at(s.has("retry_max") ? "retry_max" : "retry_min",
              fmt::format("retry_min ({}) must not be longer than retry_max ({})",
                          format_duration(upstream.retry_min),
                          format_duration(upstream.retry_max)));
  }
  s.read_duration("give_up_after", upstream.give_up_after);
  s.read("status_url", upstream.status_url);
  if (!upstream.status_url.empty()) {
    if (upstream.adapter != UpstreamConfig::Adapter::rest_json) {
      s.fail_at("status_url", "is used only with adapter = \"rest-json\" (the lapor-xml API "
                              "has no status read-back); remove it or change the adapter");
    }
    if (!is_http_url(upstream.status_url)) {
      fail_url(s, "status_url", "https://pengaduan.example.go.id/api/status");
    }
  }
  s.read_duration("poll_interval", upstream.poll_interval);
  s.read("rahasia", upstream.rahasia);
  s.read("anonim", upstream.anonim);
}

void read_reports(const Section& s, ReportsConfig& reports) {
  auto prefix = s.text("ref_prefix");
  if (!prefix) {
    return;
  }
  if (prefix->size() < 2 || prefix->size() > 4 ||
      !std::all_of(prefix->begin(), prefix->end(), is_ascii_letter)) {
    s.fail_at("ref_prefix",
              fmt::format("must be 2 to 4 letters A-Z, like \"MTR\", not \"{}\"", *prefix));
  }
  std::transform(prefix->begin(), prefix->end(), prefix->begin(),
                 [](char c) { return ascii_upper(c); });
  reports.ref_prefix = *std::move(prefix);
}

void read_keywords(const Section& s, KeywordsConfig& keywords) {
  struct List {
    std::string_view key;
    std::vector<std::string>* words;
  };
  const List lists[] = {
      {"report", &keywords.report}, {"status", &keywords.status}, {"help", &keywords.help}};
  struct Seen {
    std::string key;
    std::uint32_t line; // 0 for a default the file did not set
  };
  // A keyword in two lists would make one message mean two things.
  std::map<std::string, Seen> seen; // lower-case keyword -> where it was first
  for (const auto& list : lists) {
    const auto lines = s.read_words(list.key, *list.words);
    for (std::size_t i = 0; i < list.words->size(); ++i) {
      const std::string& word = (*list.words)[i];
      Seen here{fmt::format("{}[{}]", s.key_path(list.key), i), lines.empty() ? 0 : lines[i]};
      const auto [it, inserted] = seen.emplace(ascii_lower(word), here);
      if (inserted) {
        continue;
      }
      // Blame the one the operator wrote; two defaults never clash.
      const Seen& blamed = here.line != 0 ? here : it->second;
      const Seen& other = here.line != 0 ? it->second : here;
      fail(s.file(), blamed.line, blamed.key,
           fmt::format("\"{}\" is also a keyword at {}{}; a keyword may appear only once", word,
                       other.key, other.line == 0 ? " (a default)" : ""));
    }
  }
}

void read_limits(const Section& s, LimitsConfig& limits) {
  s.read_integer("max_reports_per_sender", limits.max_reports_per_sender, 1,
                 std::numeric_limits<unsigned>::max());
  s.read_duration("sender_window", limits.sender_window);
  s.read_integer("min_report_chars", limits.min_report_chars, 0, 10000);
  s.read("reply_to_short_numbers", limits.reply_to_short_numbers);
  s.read_duration("redelivery_window", limits.redelivery_window);
  s.read_duration("concat_timeout", limits.concat_timeout);
}

struct ReplySpec {
  std::string_view name;
  std::string RepliesConfig::*field;
  std::vector<std::string_view> placeholders;
};

const std::vector<ReplySpec>& reply_specs() {
  static const std::vector<ReplySpec> specs{
      {"received", &RepliesConfig::received, {"ref"}},
      {"forwarded", &RepliesConfig::forwarded, {"ref", "tracking_id"}},
      {"status_changed", &RepliesConfig::status_changed, {"tracking_id", "status", "note", "ref"}},
      {"status_reply", &RepliesConfig::status_reply, {"ref", "tracking_id", "status", "updated"}},
      {"help", &RepliesConfig::help, {}},
      {"empty_report", &RepliesConfig::empty_report, {}},
      {"unknown_ref", &RepliesConfig::unknown_ref, {"ref"}},
      {"rate_limited", &RepliesConfig::rate_limited, {}},
      {"failed", &RepliesConfig::failed, {"ref"}},
  };
  return specs;
}

bool is_identifier_start(char c) {
  return is_ascii_letter(c) || c == '_';
}
bool is_identifier_char(char c) {
  return is_identifier_start(c) || is_ascii_digit(c);
}

// Every "{identifier}" in `text` must be one of `allowed`; other braces are
// plain text.
void check_placeholders(const Section& s, const ReplySpec& spec, std::string_view text) {
  std::size_t pos = 0;
  while ((pos = text.find('{', pos)) != std::string_view::npos) {
    std::size_t end = pos + 1;
    if (end < text.size() && is_identifier_start(text[end])) {
      while (end < text.size() && is_identifier_char(text[end])) {
        ++end;
      }
    }
    if (end == pos + 1 || end >= text.size() || text[end] != '}') {
      ++pos;
      continue;
    }
    const std::string_view name = text.substr(pos + 1, end - pos - 1);
    if (std::find(spec.placeholders.begin(), spec.placeholders.end(), name) ==
        spec.placeholders.end()) {
      std::string message = fmt::format("unknown placeholder {{{}}}", name);
      if (spec.placeholders.empty()) {
        message += "; this reply takes no placeholders";
      } else {
        message += fmt::format("; this reply may use {}", join(spec.placeholders, "{", "}"));
        if (const auto guess = closest(name, spec.placeholders)) {
          message += fmt::format(" (did you mean {{{}}}?)", *guess);
        }
      }
      s.fail_at(spec.name, std::move(message));
    }
    pos = end + 1;
  }
}

void read_replies(const Section& s, RepliesConfig& replies) {
  for (const auto& spec : reply_specs()) {
    auto text = s.text(spec.name);
    if (!text) {
      continue;
    }
    if (text->empty()) {
      s.fail_at(spec.name, "must not be empty: it is sent to citizens as an SMS");
    }
    check_placeholders(s, spec, *text);
    replies.*spec.field = *std::move(text);
  }
}

void read_control(const Section& s, ControlConfig& control) {
  s.read_path("socket", control.socket);
  if (control.socket.native().size() > k_max_socket_path) {
    s.fail_at("socket", fmt::format("is longer than {} bytes, the limit for a Unix socket path",
                                    k_max_socket_path));
  }
}

void read_metrics(const Section& s, MetricsConfig& metrics) {
  s.read("listen", metrics.listen);
  if (!metrics.listen.empty() && !is_host_port(metrics.listen)) {
    s.fail_at("listen", fmt::format("\"{}\" is not an address and port like \"127.0.0.1:9708\" "
                                    "(or empty to serve no metrics)",
                                    metrics.listen));
  }
}

void read_daemon(const Section& s, DaemonConfig& daemon) {
  s.read_duration("shutdown_grace", daemon.shutdown_grace, milliseconds(0));
  std::string level = daemon.log_level;
  s.read_choice<std::string>(
      "log_level", level,
      {{"debug", "debug"}, {"info", "info"}, {"warning", "warning"}, {"error", "error"}});
  daemon.log_level = std::move(level);
}

// Every table but [[smsc]], in the order they are checked.
struct TableSpec {
  std::string_view name;
  std::vector<std::string_view> keys;
};

const std::vector<TableSpec>& table_specs() {
  static const std::vector<TableSpec> specs{
      {"store", {"path", "synchronous", "max_size_mb", "retention", "blank_text_after"}},
      {"upstream",
       {"adapter", "url", "token", "token_file", "ca_file", "timeout", "concurrency", "retry_min",
        "retry_max", "give_up_after", "status_url", "poll_interval", "rahasia", "anonim"}},
      {"reports", {"ref_prefix"}},
      {"keywords", {"report", "status", "help"}},
      {"limits",
       {"max_reports_per_sender", "sender_window", "min_report_chars", "reply_to_short_numbers",
        "redelivery_window", "concat_timeout"}},
      {"replies",
       {"received", "forwarded", "status_changed", "status_reply", "help", "empty_report",
        "unknown_ref", "rate_limited", "failed"}},
      {"control", {"socket"}},
      {"metrics", {"listen"}},
      {"daemon", {"shutdown_grace", "log_level"}},
  };
  return specs;
}

void read_table(const fs::path& file, const toml::table& root, const TableSpec& spec,
                Config& config) {
  static const toml::table k_empty;
  const toml::table* table = &k_empty;
  if (const toml::node* node = root.get(spec.name)) {
    table = node->as_table();
    if (table == nullptr) {
      fail(file, line_of(*node), std::string(spec.name),
           fmt::format("must be a table: write [{}] on a line of its own, with its settings "
                       "below it",
                       spec.name));
    }
  }
  const Section s(file, *table, std::string(spec.name), fmt::format("[{}]", spec.name), spec.keys);
  if (spec.name == "store") {
    read_store(s, config.store);
  } else if (spec.name == "upstream") {
    read_upstream(s, config.upstream);
  } else if (spec.name == "reports") {
    read_reports(s, config.reports);
  } else if (spec.name == "keywords") {
    read_keywords(s, config.keywords);
  } else if (spec.name == "limits") {
    read_limits(s, config.limits);
  } else if (spec.name == "replies") {
    read_replies(s, config.replies);
  } else if (spec.name == "control") {
    read_control(s, config.control);
  } else if (spec.name == "metrics") {
    read_metrics(s, config.metrics);
  } else if (spec.name == "daemon") {
    read_daemon(s, config.daemon);
  }
}

Config read_config(const toml::table& root, const fs::path& file) {
  std::vector<std::string_view> known{"smsc"};
  for (const auto& spec : table_specs()) {
    known.push_back(spec.name);
  }
  if (const auto unknown = first_unknown(root, known)) {
    const std::string_view word = unknown->first;
    const toml::node& node = *unknown->second;
    std::string message = node.is_table() || node.is_array_of_tables()
                              ? "unknown table"
                              : "unknown setting outside of any table";
    if (const auto guess = closest(word, known)) {
      message += fmt::format(" (did you mean [{}]?)", *guess);
    } else {
      message += fmt::format("; the tables are: {}", join(known, "[", "]"));
    }
    fail(file, line_of(node), std::string(word), std::move(message));
  }
  Config config;
  config.source = file;
  read_links(file, root, config);
  for (const auto& spec : table_specs()) {
    read_table(file, root, spec, config);
  }
  return config;
}

// toml++ may quote part of the offending value in its message. When the
// statement around the error line mentions a secret, its text is withheld.
bool near_secret(std::string_view text, std::uint32_t line) {
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  while (start <= text.size() && lines.size() < line) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  // Walk back from the error line to the line that starts its statement.
  for (std::size_t i = lines.size(); i-- > 0;) {
    const std::string lower = ascii_lower(lines[i]);
    if (lower.find("password") != std::string::npos || lower.find("token") != std::string::npos) {
      return true;
    }
    const std::size_t first = lower.find_first_not_of(" \t");
    if (first != std::string::npos &&
        (lower[first] == '[' || lower.find('=') != std::string::npos)) {
      return false;
    }
  }
  return false;
}

ConfigError syntax_error(const toml::parse_error& error, std::string_view text,
                         const fs::path& file) {
  const std::uint32_t line = error.source().begin.line;
  if (near_secret(text, line)) {
    return ConfigError{file, line, "",
                       "TOML syntax error near a secret (details withheld so that the secret "
                       "stays out of logs); check the quotes, e.g. password = \"...\""};
  }
  std::string message = fmt::format("TOML syntax error: {}", error.description());
  if (error.description().find("could not determine value type") != std::string_view::npos) {
    message += " (text values need quotes, e.g. host = \"smsc.example.net\")";
  }
  return ConfigError{file, line, "", std::move(message)};
}

} // namespace

std::string ConfigError::to_string() const {
  if (key.empty()) {
    return fmt::format("{}:{}: {}", path.string(), line, message);
  }
  return fmt::format("{}:{}: key '{}': {}", path.string(), line, key, message);
}

tl::expected<Config, ConfigError> parse_config(std::string_view toml_text,
                                               const std::filesystem::path& path_for_messages,
                                               Secrets secrets) {
  struct SecretsScope {
    explicit SecretsScope(Secrets s) { t_secrets = s; }
    ~SecretsScope() { t_secrets = Secrets::read; }
    SecretsScope(const SecretsScope&) = delete;
    SecretsScope& operator=(const SecretsScope&) = delete;
  } scope(secrets);
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string(path_for_messages.string()));
  } catch (const toml::parse_error& error) {
    return tl::make_unexpected(syntax_error(error, toml_text, path_for_messages));
  }
  try {
    return read_config(root, path_for_messages);
  } catch (Failure& failure) {
    return tl::make_unexpected(std::move(failure.error));
  }
}

tl::expected<Config, ConfigError> load_config(const std::filesystem::path& path, Secrets secrets) {
  auto contents = read_regular_file(path, k_max_config_bytes);
  if (!contents) {
    return tl::make_unexpected(ConfigError{
        path, 0, "", fmt::format("cannot load the configuration: {}", contents.error())});
  }
  return parse_config(contents->data, path, secrets);
}

std::filesystem::path resolve_config_path(const std::optional<std::filesystem::path>& cli_option) {
  if (cli_option) {
    return *cli_option;
  }
  // Read once at startup, before any thread could call setenv.
  if (const char* from_env = std::getenv("LAPORSMS_CONFIG");
      from_env != nullptr && *from_env != '\0') {
    return from_env;
  }
  return "/etc/laporsms/laporsmsd.toml";
}

std::string_view to_string(SmscConfig::BindKind bind) {
  switch (bind) {
  case SmscConfig::BindKind::transceiver:
    return "transceiver";
  case SmscConfig::BindKind::receiver_transmitter:
    return "receiver+transmitter";
  }
  return "transceiver";
}

std::string_view to_string(StoreConfig::Synchronous synchronous) {
  switch (synchronous) {
  case StoreConfig::Synchronous::full:
    return "full";
  case StoreConfig::Synchronous::normal:
    return "normal";
  }
  return "full";
}

std::string_view to_string(UpstreamConfig::Adapter adapter) {
  switch (adapter) {
  case UpstreamConfig::Adapter::lapor_xml:
    return "lapor-xml";
  case UpstreamConfig::Adapter::rest_json:
    return "rest-json";
  }
  return "lapor-xml";
}

} // namespace laporsms::app

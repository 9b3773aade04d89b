#include <laporsms/app/config.hpp>
#include <laporsms/app/duration.hpp>
#include <laporsms/lapor/http_client.hpp>
#include <laporsms/sms/template.hpp>
#include <laporsms/util/tls.hpp>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <iterator>
#include <limits>
#include <map>
#include <netinet/in.h>
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

// Thrown only inside this file; a Section's check turns it into a recorded fault.
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

// What one reading of a file collects: the file, whether secrets are read,
// the file's mode when it is a real file, and every fault and warning.
struct Reading {
  const fs::path& file;
  Secrets secrets = Secrets::read;
  std::optional<mode_t> file_mode;
  std::vector<ConfigError> faults;
  std::vector<ConfigWarning> warnings;

  void fault(std::uint32_t line, std::string key, std::string message) {
    faults.push_back(ConfigError{file, line, std::move(key), std::move(message)});
  }
  void warn(std::uint32_t line, std::string key, std::string message) {
    warnings.push_back(ConfigWarning{file, line, std::move(key), std::move(message)});
  }
  // Runs `fn`; a Failure it throws becomes a fault and reading goes on.
  template <typename Fn> bool attempt(Fn&& fn) {
    try {
      fn();
      return true;
    } catch (Failure& failure) {
      faults.push_back(std::move(failure.error));
      return false;
    }
  }
};

// The keys in `table` not among `known`, in the order of the file (toml++
// keeps keys sorted by name, not by line).
std::vector<std::pair<std::string_view, const toml::node*>>
unknown_keys(const toml::table& table, const std::vector<std::string_view>& known) {
  std::vector<std::pair<std::string_view, const toml::node*>> unknown;
  for (auto&& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      unknown.emplace_back(key.str(), &node);
    }
  }
  std::stable_sort(unknown.begin(), unknown.end(), [](const auto& a, const auto& b) {
    return line_of(*a.second) < line_of(*b.second);
  });
  return unknown;
}

// One table of the file, e.g. [store] or the first [[smsc]]. It knows which
// keys belong there. Its read* methods record a fault for their key and leave
// the default in place, so that one run names every fault; `check` does the
// same for a check of its own. text(), required_text() and fail_at() throw a
// Failure, for use inside `check`.
class Section {
public:
  // `name` is the key path of the table ("store", "smsc[0]"), `header` how the
  // operator wrote it ("[store]", "[[smsc]]").
  Section(Reading& reading, const toml::table& table, std::string name, std::string header,
          std::vector<std::string_view> known)
      : m_reading(reading), m_table(table), m_name(std::move(name)), m_header(std::move(header)),
        m_known(std::move(known)) {
    for (const auto& [key, node] : unknown_keys(m_table, m_known)) {
      std::string message = "unknown setting";
      if (const auto guess = closest(key, m_known)) {
        message += fmt::format(" (did you mean '{}'?)", *guess);
      } else {
        message += fmt::format("; {} takes: {}", m_header, join(m_known));
      }
      m_reading.fault(line_of(*node), key_path(key), std::move(message));
    }
  }

  Reading& reading() const { return m_reading; }
  const fs::path& file() const { return m_reading.file; }
  std::uint32_t line() const { return line_of(m_table); }
  std::string key_path(std::string_view key) const { return fmt::format("{}.{}", m_name, key); }
  const toml::node* find(std::string_view key) const { return m_table.get(key); }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The key's own line, or the table's line when the key is absent.
  std::uint32_t line_of_key(std::string_view key) const {
    const toml::node* node = find(key);
    return node != nullptr ? line_of(*node) : line();
  }

  // Runs `fn`, a check of `key`; a Failure it throws is recorded as a fault
  // and `key` counts as failed. Returns whether it passed.
  template <typename Fn> bool check(std::string_view key, Fn&& fn) const {
    if (m_reading.attempt(std::forward<Fn>(fn))) {
      return true;
    }
    m_failed.emplace_back(key);
    return false;
  }
  // Whether a fault was recorded for `key` (so checks that depend on it are skipped).
  bool failed(std::string_view key) const {
    return std::find(m_failed.begin(), m_failed.end(), key) != m_failed.end();
  }

  [[noreturn]] void fail_at(std::string_view key, std::string message) const {
    fail(file(), line_of_key(key), key_path(key), std::move(message));
  }
  // Records a fault without throwing.
  void fault_at(std::string_view key, std::string message) const {
    m_reading.fault(line_of_key(key), key_path(key), std::move(message));
    m_failed.emplace_back(key);
  }
  void warn_at(std::string_view key, std::string message) const {
    m_reading.warn(line_of_key(key), key_path(key), std::move(message));
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
    check(key, [&] {
      if (auto value = text(key)) {
        out = *std::move(value);
      }
    });
  }

  void read(std::string_view key, bool& out) const {
    check(key, [&] {
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
    });
  }

  // A path that, when given, must not be empty.
  void read_path(std::string_view key, fs::path& out) const {
    check(key, [&] {
      if (auto value = text(key)) {
        if (value->empty()) {
          fail_at(key, "must not be empty");
        }
        if (std::any_of(value->begin(), value->end(), is_control)) {
          fail_at(key, "must not contain control characters");
        }
        out = *std::move(value);
      }
    });
  }

  template <typename Int>
  void read_integer(std::string_view key, Int& out, std::int64_t min,
                    std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    check(key, [&] {
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
    });
  }

  void read_duration(std::string_view key, milliseconds& out,
                     milliseconds min = milliseconds(1)) const {
    check(key, [&] {
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
    });
  }

  template <typename Enum>
  void read_choice(std::string_view key, Enum& out,
                   const std::vector<std::pair<std::string_view, Enum>>& choices) const {
    check(key, [&] {
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
    });
  }

  // A list of strings; `out` keeps its default when the key is absent or
  // faulty. Returns each element's line for later checks, empty when absent.
  std::vector<std::uint32_t> read_words(std::string_view key, std::vector<std::string>& out) const {
    std::vector<std::uint32_t> lines;
    check(key, [&] {
      const toml::node* node = find(key);
      if (node == nullptr) {
        return;
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
      std::vector<std::uint32_t> found;
      bool all_good = true;
      for (std::size_t i = 0; i < list->size(); ++i) {
        const toml::node& element = *list->get(i);
        const std::string element_key = fmt::format("{}[{}]", key_path(key), i);
        const auto* word = element.as_string();
        std::string problem;
        if (word == nullptr) {
          problem = fmt::format("must be a word in quotes, not {}", describe(element.type()));
        } else if (word->get().empty()) {
          problem = "must not be empty";
        } else if (std::any_of(word->get().begin(), word->get().end(),
                               [](char c) { return c == ' ' || c == '\t' || is_control(c); })) {
          problem = fmt::format("\"{}\" must be one word without blanks", word->get());
        }
        if (!problem.empty()) {
          m_reading.fault(line_of(element), element_key, std::move(problem));
          all_good = false;
          continue;
        }
        words.push_back(word->get());
        found.push_back(line_of(element));
      }
      if (!all_good) {
        m_failed.emplace_back(key);
        return;
      }
      out = std::move(words);
      lines = std::move(found);
    });
    return lines;
  }

private:
  Reading& m_reading;
  const toml::table& m_table;
  std::string m_name;
  std::string m_header;
  std::vector<std::string_view> m_known;
  mutable std::vector<std::string> m_failed;
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

// The three ways to give one secret; at most one may be used.
struct SecretKeys {
  std::string_view inline_key;     // "password": the secret itself, in the file
  std::string_view file_key;       // "password_file": a file holding it
  std::string_view credential_key; // "password_credential": a systemd credential's name
};

struct Secret {
  std::string value;
  std::string_view key; // the key it came from
};

// One line of secret from `path`, which other users must neither read nor
// replace. `noun` names the file in messages ("secret file").
std::string read_secret_file(const Section& section, std::string_view key, const fs::path& path,
                             std::string_view noun) {
  auto contents = read_regular_file(path, k_max_secret_bytes);
  if (!contents) {
    section.fail_at(key, fmt::format("{}: {}", noun, contents.error()));
  }
  if ((contents->mode & 0007) != 0) {
    section.fail_at(key, fmt::format("the {} '{}' is open to other users (mode {:04o}); "
                                     "refusing it. Restrict it, e.g. chmod o-rwx '{}'",
                                     noun, path.string(), contents->mode & 07777, path.string()));
  }
  std::string secret = std::move(contents->data);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) {
    secret.pop_back();
  }
  if (secret.find_first_of("\r\n") != std::string::npos) {
    section.fail_at(key,
                    fmt::format("the {} '{}' holds more than one line; put only the secret in it",
                                noun, path.string()));
  }
  if (secret.empty()) {
    section.fail_at(key, fmt::format("the {} '{}' is empty", noun, path.string()));
  }
  return secret;
}

// A credential name as systemd's LoadCredential=NAME:... takes it: one file
// name in $CREDENTIALS_DIRECTORY.
bool is_credential_name(std::string_view name) {
  return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
         std::none_of(name.begin(), name.end(), [](char c) { return c == '/' || is_control(c); });
}

// The secret from the one key of `keys` that is set, or nothing (none set, a
// fault recorded, or Secrets::skip). Relative file names are taken from the
// configuration file's folder; a credential is the file of that name in
// $CREDENTIALS_DIRECTORY.
std::optional<Secret> read_secret(const Section& s, const SecretKeys& keys) {
  std::vector<std::string_view> given;
  for (const auto key : {keys.inline_key, keys.file_key, keys.credential_key}) {
    if (s.has(key)) {
      given.push_back(key);
    }
  }
  if (given.size() > 1) {
    // The last one named is blamed: a file or credential added beside an old key.
    s.fault_at(given.back(),
               given.size() == 2
                   ? fmt::format("set either {} or {}, not both", given[0], given[1])
                   : fmt::format("set only one of {}, {} and {}", given[0], given[1], given[2]));
    return std::nullopt;
  }
  if (given.empty()) {
    return std::nullopt;
  }
  const std::string_view key = given.front();
  std::optional<Secret> secret;
  s.check(key, [&] {
    const auto value = s.text(key);
    if (key == keys.inline_key) {
      if (s.reading().secrets == Secrets::read) {
        secret = Secret{*value, key};
      }
      return;
    }
    if (key == keys.file_key) {
      if (value->empty()) {
        s.fail_at(key, "must name the file that holds the secret");
      }
      if (s.reading().secrets == Secrets::skip) {
        return; // neither read nor checked
      }
      fs::path path(*value);
      if (path.is_relative()) {
        path = s.file().parent_path() / path;
      }
      secret = Secret{read_secret_file(s, key, path, "secret file"), key};
      return;
    }
    if (!is_credential_name(*value)) {
      s.fail_at(key, "must be the name of a systemd credential (LoadCredential=NAME:FILE), "
                     "a file name without '/'");
    }
    if (s.reading().secrets == Secrets::skip) {
      return;
    }
    // Read once at startup, before any thread could call setenv.
    const char* directory = std::getenv("CREDENTIALS_DIRECTORY");
    if (directory == nullptr || *directory == '\0') {
      s.fail_at(key, fmt::format("$CREDENTIALS_DIRECTORY is not set, so credential '{}' cannot "
                                 "be read; systemd sets it for a unit with LoadCredential={}:FILE",
                                 *value, *value));
    }
    const fs::path path = fs::path(directory) / *value;
    std::error_code error;
    if (!fs::exists(path, error)) {
      s.fail_at(key, fmt::format("credential '{}' is not in $CREDENTIALS_DIRECTORY ({}); the unit "
                                 "needs LoadCredential={}:FILE",
                                 *value, directory, *value));
    }
    secret = Secret{read_secret_file(s, key, path, "credential file"), key};
  });
  return secret;
}

// Link names appear in logs, metric labels and laporctl output.
bool is_link_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) || c == '-' || c == '_' || c == '.';
  });
}

// `ca_file`: an extra PEM CA bundle, relative to the config file's folder.
void read_ca_file(const Section& s, fs::path& out) {
  s.check("ca_file", [&] {
    const auto ca_file = s.text("ca_file");
    if (!ca_file || ca_file->empty()) {
      return;
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
    out = path;
  });
}

// Whether an inline secret sits in a file other users may read.
void warn_inline_secret(const Section& s, std::string_view key, std::string_view better_keys) {
  const auto& mode = s.reading().file_mode;
  const toml::node* node = s.find(key);
  if (!mode || (*mode & 0004) == 0 || node == nullptr || node->as_string() == nullptr ||
      node->as_string()->get().empty()) {
    return;
  }
  s.warn_at(key, fmt::format("the secret is written in a file other users can read (mode {:04o}); "
                             "use {} instead, or chmod o-r '{}'",
                             *mode & 07777, better_keys, s.file().string()));
}

constexpr std::string_view k_smsc_keys[] = {"name",
                                            "host",
                                            "port",
                                            "tls",
                                            "tls_verify",
                                            "ca_file",
                                            "system_id",
                                            "password",
                                            "password_file",
                                            "password_credential",
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
                                            "redelivery_horizon"};

SmscConfig read_smsc(const Section& s) {
  SmscConfig link;
  s.check("name", [&] {
    link.name = s.required_text("name", "it names the link in logs, metrics and laporctl");
    if (!is_link_name(link.name)) {
      s.fail_at("name", fmt::format("\"{}\" is not a usable link name; use up to 32 letters, "
                                    "digits, '-', '_' or '.'",
                                    link.name));
    }
  });
  s.check("host", [&] {
    link.host = s.required_text("host", "the SMSC's host name or address");
    if (link.host.size() > 253 || std::any_of(link.host.begin(), link.host.end(),
                                              [](char c) { return c == ' ' || is_control(c); })) {
      s.fail_at("host", "is not a host name or address");
    }
  });
  s.read_integer("port", link.port, 1, 65535);
  s.read("tls", link.tls);
  s.read("tls_verify", link.tls_verify);
  if (s.has("tls_verify") && !s.failed("tls_verify") && !link.tls_verify) {
    s.warn_at("tls_verify",
              link.tls ? "the SMSC's certificate is not verified: anyone on the path can pose as "
                         "the SMSC and take the password"
                       : "has no effect while tls = false; the link, password included, is not "
                         "encrypted at all");
  }
  read_ca_file(s, link.ca_file);
  s.check("system_id", [&] {
    link.system_id = s.required_text("system_id", "the account name the carrier gave us");
    check_smpp_field(s, "system_id", link.system_id, 15);
  });
  if (auto password = read_secret(s, {"password", "password_file", "password_credential"})) {
    s.check(password->key, [&] { check_smpp_field(s, password->key, password->value, 8); });
    link.password = std::move(password->value);
  }
  warn_inline_secret(s, "password", "password_credential (LoadCredential=) or password_file");
  s.read("system_type", link.system_type);
  s.check("system_type", [&] { check_smpp_field(s, "system_type", link.system_type, 12); });
  s.read_choice("bind", link.bind,
                {{"transceiver", SmscConfig::BindKind::transceiver},
                 {"receiver+transmitter", SmscConfig::BindKind::receiver_transmitter}});
  s.read("address_range", link.address_range);
  s.check("address_range", [&] { check_smpp_field(s, "address_range", link.address_range, 40); });
  s.read("source_addr", link.source_addr);
  s.check("source_addr", [&] {
    if (link.source_addr.empty()) {
      s.fail_at("source_addr",
                "must not be empty (it is the sender of our replies, e.g. \"1708\")");
    }
    check_smpp_field(s, "source_addr", link.source_addr, 20);
  });
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
  if (!s.failed("reconnect_min") && !s.failed("reconnect_max") &&
      link.reconnect_min > link.reconnect_max) {
    s.fault_at(s.has("reconnect_max") ? "reconnect_max" : "reconnect_min",
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

void read_links(Reading& r, const toml::table& root, Config& config) {
  const toml::node* node = root.get("smsc");
  if (node == nullptr) {
    r.fault(0, "smsc",
            "at least one [[smsc]] table is required: it tells the daemon which carrier SMSC to "
            "connect to");
    return;
  }
  if (node->is_table()) {
    r.fault(line_of(*node), "smsc",
            "write the table as [[smsc]] with double brackets (one such table per carrier link)");
    return;
  }
  const auto* list = node->as_array();
  if (list == nullptr) {
    r.fault(line_of(*node), "smsc",
            fmt::format("must be [[smsc]] tables, not {}", describe(node->type())));
    return;
  }
  if (list->empty()) {
    r.fault(line_of(*node), "smsc", "at least one [[smsc]] table is required");
    return;
  }
  struct Read {
    std::size_t index; // in the file's list of [[smsc]] tables
    bool name_ok;      // its name was read without a fault
    bool fallback_ok;  // its fallback was read without a fault
    std::uint32_t fallback_line;
  };
  std::vector<Read> read;
  const std::vector<std::string_view> known(std::begin(k_smsc_keys), std::end(k_smsc_keys));
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = *list->get(i);
    const std::string name = fmt::format("smsc[{}]", i);
    const auto* table = element.as_table();
    if (table == nullptr) {
      r.fault(line_of(element), name,
              fmt::format("must be a [[smsc]] table, not {}", describe(element.type())));
      continue;
    }
    const Section section(r, *table, name, "[[smsc]]", known);
    SmscConfig link = read_smsc(section);
    bool name_ok = !section.failed("name");
    for (std::size_t j = 0; name_ok && j < config.smsc.size(); ++j) {
      if (read[j].name_ok && ascii_lower(config.smsc[j].name) == ascii_lower(link.name)) {
        section.fault_at("name", fmt::format("the name \"{}\" is already used by smsc[{}]; "
                                             "every link needs its own name",
                                             link.name, read[j].index));
        name_ok = false;
      }
    }
    read.push_back(Read{i, name_ok, !section.failed("fallback"), section.line_of_key("fallback")});
    config.smsc.push_back(std::move(link));
  }
  // Fallbacks may point forward, so they are checked once every name is known.
  std::vector<std::string_view> names;
  for (std::size_t i = 0; i < config.smsc.size(); ++i) {
    if (read[i].name_ok) {
      names.push_back(config.smsc[i].name);
    }
  }
  for (std::size_t i = 0; i < config.smsc.size(); ++i) {
    const std::string& fallback = config.smsc[i].fallback;
    if (fallback.empty() || !read[i].fallback_ok) {
      continue;
    }
    const std::string key = fmt::format("smsc[{}].fallback", read[i].index);
    if (fallback == config.smsc[i].name) {
      r.fault(read[i].fallback_line, key, "a link cannot be its own fallback");
    } else if (std::find(names.begin(), names.end(), fallback) == names.end()) {
      std::string message = fmt::format("no [[smsc]] link is named \"{}\"", fallback);
      if (const auto guess = closest(fallback, names)) {
        message += fmt::format(" (did you mean \"{}\"?)", *guess);
      }
      r.fault(read[i].fallback_line, key, std::move(message));
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

// An upstream URL, checked by the parser the adapters use at start. The value
// is not repeated: a URL may carry credentials.
std::optional<lapor::Url> read_url(const Section& s, std::string_view key, std::string& out,
                                   std::string_view example) {
  std::optional<lapor::Url> url;
  s.read(key, out);
  if (s.failed(key)) {
    return url;
  }
  s.check(key, [&] {
    auto parsed = lapor::parse_url(out);
    if (!parsed) {
      std::string_view reason = parsed.error();
      if (reason.rfind("url ", 0) == 0) {
        reason.remove_prefix(4);
      }
      s.fail_at(key, fmt::format("{} (e.g. \"{}\")", reason, example));
    }
    url = *std::move(parsed);
  });
  return url;
}

// localhost, 127.0.0.0/8 or ::1 (also as ::ffff:127.x.y.z).
bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || (host.size() > 10 && host.rfind(".localhost") == host.size() - 10)) {
    return true;
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

void read_upstream(const Section& s, UpstreamConfig& upstream) {
  s.read_choice("adapter", upstream.adapter,
                {{"lapor-xml", UpstreamConfig::Adapter::lapor_xml},
                 {"rest-json", UpstreamConfig::Adapter::rest_json}});
  const auto url = read_url(s, "url", upstream.url, "https://www.lapor.go.id/api/stream/addstream");
  if (auto token = read_secret(s, {"token", "token_file", "token_credential"})) {
    // The token goes into an HTTP header or an XML attribute as it is.
    s.check(token->key, [&] {
      if (std::any_of(token->value.begin(), token->value.end(), is_control)) {
        s.fail_at(token->key, "the token must not contain control characters");
      }
    });
    upstream.token = std::move(token->value);
  }
  warn_inline_secret(s, "token", "token_credential (LoadCredential=) or token_file");
  read_ca_file(s, upstream.ca_file);
  s.read_duration("timeout", upstream.timeout);
  s.read_integer("concurrency", upstream.concurrency, 1, 64);
  s.read_duration("retry_min", upstream.retry_min);
  s.read_duration("retry_max", upstream.retry_max);
  if (!s.failed("retry_min") && !s.failed("retry_max") && upstream.retry_min > upstream.retry_max) {
    s.fault_at(s.has("retry_max") ? "retry_max" : "retry_min",
               fmt::format("retry_min ({}) must not be longer than retry_max ({})",
                           format_duration(upstream.retry_min),
                           format_duration(upstream.retry_max)));
  }
  s.read_duration("give_up_after", upstream.give_up_after);
  std::optional<lapor::Url> status_url;
  s.read("status_url", upstream.status_url);
  if (!upstream.status_url.empty() && !s.failed("status_url")) {
    if (upstream.adapter != UpstreamConfig::Adapter::rest_json && !s.failed("adapter")) {
      s.fault_at("status_url", "is used only with adapter = \"rest-json\" (the lapor-xml API "
                               "has no status read-back); remove it or change the adapter");
    } else {
      status_url = read_url(s, "status_url", upstream.status_url,
                            "https://pengaduan.example.go.id/api/status");
    }
  }
  s.read_duration("poll_interval", upstream.poll_interval);
  s.read("rahasia", upstream.rahasia);
  s.read("anonim", upstream.anonim);

  // The token travels with every request: in clear over http, anyone on the
  // path reads it. Loopback (a local proxy) is fine.
  const bool token_set =
      !upstream.token.empty() || s.has("token_file") || s.has("token_credential");
  if (token_set) {
    for (const auto& [key, parsed] : {std::pair{"url", url}, std::pair{"status_url", status_url}}) {
      if (parsed && parsed->scheme == "http" && !is_loopback_host(parsed->host)) {
        s.warn_at(key, fmt::format("sends the API token in clear text to {} (http://, not "
                                   "https://); anyone on the path can read it",
                                   parsed->host));
      }
    }
  }
}

void read_reports(const Section& s, ReportsConfig& reports) {
  s.check("ref_prefix", [&] {
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
  });
}

void read_keywords(const Section& s, sms::Keywords& keywords) {
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
    if (s.failed(list.key)) {
      continue; // its faults are told; its default would only confuse
    }
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
      s.reading().fault(blamed.line, blamed.key,
                        fmt::format("\"{}\" is also a keyword at {}{}; a keyword may appear only "
                                    "once",
                                    word, other.key, other.line == 0 ? " (a default)" : ""));
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
  std::string store::ReplyTemplates::*field;
  std::vector<std::string_view> placeholders;
};

const std::vector<ReplySpec>& reply_specs() {
  static const std::vector<ReplySpec> specs{
      {"received", &store::ReplyTemplates::received, {"ref"}},
      {"forwarded", &store::ReplyTemplates::forwarded, {"ref", "tracking_id"}},
      {"status_changed",
       &store::ReplyTemplates::status_changed,
       {"tracking_id", "status", "note", "ref"}},
      {"status_reply",
       &store::ReplyTemplates::status_reply,
       {"ref", "tracking_id", "status", "updated"}},
      {"help", &store::ReplyTemplates::help, {}},
      {"empty_report", &store::ReplyTemplates::empty_report, {}},
      {"unknown_ref", &store::ReplyTemplates::unknown_ref, {"ref"}},
      {"rate_limited", &store::ReplyTemplates::rate_limited, {}},
      {"failed", &store::ReplyTemplates::failed, {"ref"}},
  };
  return specs;
}

// Every placeholder the renderer would fill (sms::template_placeholders, the
// same reading as sms::render_template) must be one of the reply's own: any
// other would reach the citizen as "{name}".
void check_placeholders(const Section& s, const ReplySpec& spec, std::string_view text) {
  for (const auto& name : sms::template_placeholders(text)) {
    if (std::find(spec.placeholders.begin(), spec.placeholders.end(), name) !=
        spec.placeholders.end()) {
      continue;
    }
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
}

void read_replies(const Section& s, store::ReplyTemplates& replies) {
  for (const auto& spec : reply_specs()) {
    s.check(spec.name, [&] {
      auto text = s.text(spec.name);
      if (!text) {
        return;
      }
      if (text->empty()) {
        s.fail_at(spec.name, "must not be empty: it is sent to citizens as an SMS");
      }
      check_placeholders(s, spec, *text);
      replies.*spec.field = *std::move(text);
    });
  }
}

void read_control(const Section& s, ControlConfig& control) {
  s.read_path("socket", control.socket);
  if (control.socket.native().size() > k_max_socket_path) {
    s.fault_at("socket", fmt::format("is longer than {} bytes, the limit for a Unix socket path",
                                     k_max_socket_path));
  }
}

void read_metrics(const Section& s, MetricsConfig& metrics) {
  s.read("listen", metrics.listen);
  if (!s.failed("listen") && !metrics.listen.empty() && !is_host_port(metrics.listen)) {
    s.fault_at("listen", fmt::format("\"{}\" is not an address and port like \"127.0.0.1:9708\" "
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
       {"adapter", "url", "token", "token_file", "token_credential", "ca_file", "timeout",
        "concurrency", "retry_min", "retry_max", "give_up_after", "status_url", "poll_interval",
        "rahasia", "anonim"}},
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

void read_table(Reading& r, const toml::table& root, const TableSpec& spec, Config& config) {
  static const toml::table k_empty;
  const toml::table* table = &k_empty;
  if (const toml::node* node = root.get(spec.name)) {
    table = node->as_table();
    if (table == nullptr) {
      r.fault(line_of(*node), std::string(spec.name),
              fmt::format("must be a table: write [{}] on a line of its own, with its settings "
                          "below it",
                          spec.name));
      return;
    }
  }
  const Section s(r, *table, std::string(spec.name), fmt::format("[{}]", spec.name), spec.keys);
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

Config read_config(Reading& r, const toml::table& root) {
  std::vector<std::string_view> known{"smsc"};
  for (const auto& spec : table_specs()) {
    known.push_back(spec.name);
  }
  for (const auto& [word, node] : unknown_keys(root, known)) {
    std::string message = node->is_table() || node->is_array_of_tables()
                              ? "unknown table"
                              : "unknown setting outside of any table";
    if (const auto guess = closest(word, known)) {
      message += fmt::format(" (did you mean [{}]?)", *guess);
    } else {
      message += fmt::format("; the tables are: {}", join(known, "[", "]"));
    }
    r.fault(line_of(*node), std::string(word), std::move(message));
  }
  Config config;
  config.source = r.file;
  read_links(r, root, config);
  for (const auto& spec : table_specs()) {
    read_table(r, root, spec, config);
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

bool by_line(std::uint32_t a, std::uint32_t b) {
  return a < b;
}

ConfigCheck check_toml(std::string_view toml_text, const fs::path& path, Secrets secrets,
                       std::optional<mode_t> file_mode) {
  ConfigCheck result;
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string(path.string()));
  } catch (const toml::parse_error& error) {
    result.faults.push_back(syntax_error(error, toml_text, path));
    return result;
  }
  Reading reading{path, secrets, file_mode, {}, {}};
  Config config;
  // A Failure outside of any key's check is a bug here; still a fault, not a crash.
  reading.attempt([&] { config = read_config(reading, root); });
  // In the order of the file; a fault with no line (a missing table) first.
  std::stable_sort(reading.faults.begin(), reading.faults.end(),
                   [](const auto& a, const auto& b) { return by_line(a.line, b.line); });
  reading.faults.erase(std::unique(reading.faults.begin(), reading.faults.end()),
                       reading.faults.end());
  std::stable_sort(reading.warnings.begin(), reading.warnings.end(),
                   [](const auto& a, const auto& b) { return by_line(a.line, b.line); });
  result.faults = std::move(reading.faults);
  result.warnings = std::move(reading.warnings);
  if (result.faults.empty()) {
    result.config = std::move(config);
  }
  return result;
}

tl::expected<Config, ConfigError> first_fault(ConfigCheck check) {
  if (check.config) {
    return *std::move(check.config);
  }
  return tl::make_unexpected(std::move(check.faults.front()));
}

} // namespace

std::string ConfigError::to_string() const {
  if (key.empty()) {
    return fmt::format("{}:{}: {}", path.string(), line, message);
  }
  return fmt::format("{}:{}: key '{}': {}", path.string(), line, key, message);
}

std::string ConfigWarning::to_string() const {
  return fmt::format("{}:{}: warning: key '{}': {}", path.string(), line, key, message);
}

ConfigCheck check_config_text(std::string_view toml_text,
                              const std::filesystem::path& path_for_messages, Secrets secrets) {
  return check_toml(toml_text, path_for_messages, secrets, std::nullopt);
}

ConfigCheck check_config(const std::filesystem::path& path, Secrets secrets) {
  auto contents = read_regular_file(path, k_max_config_bytes);
  if (!contents) {
    ConfigCheck result;
    result.faults.push_back(ConfigError{
        path, 0, "", fmt::format("cannot load the configuration: {}", contents.error())});
    return result;
  }
  return check_toml(contents->data, path, secrets, contents->mode);
}

tl::expected<Config, ConfigError> parse_config(std::string_view toml_text,
                                               const std::filesystem::path& path_for_messages,
                                               Secrets secrets) {
  return first_fault(check_config_text(toml_text, path_for_messages, secrets));
}

tl::expected<Config, ConfigError> load_config(const std::filesystem::path& path, Secrets secrets) {
  return first_fault(check_config(path, secrets));
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

store::IntakePolicy intake_policy(const Config& config) {
  store::IntakePolicy policy;
  policy.keywords = config.keywords;
  policy.replies = config.replies;
  policy.redelivery_window_ms = config.limits.redelivery_window.count();
  for (const auto& link : config.smsc) {
    if (link.redelivery_horizon) {
      policy.redelivery_horizon_ms[link.name] = link.redelivery_horizon->count();
    }
  }
  policy.concat_timeout_ms = config.limits.concat_timeout.count();
  policy.ref_prefix = config.reports.ref_prefix;
  policy.min_report_chars = config.limits.min_report_chars;
  policy.max_reports_per_sender = config.limits.max_reports_per_sender;
  policy.sender_window_ms = config.limits.sender_window.count();
  policy.reply_to_short_numbers = config.limits.reply_to_short_numbers;
  policy.default_rahasia = config.upstream.rahasia;
  policy.default_anonim = config.upstream.anonim;
  return policy;
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

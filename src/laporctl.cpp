// laporctl: the operator's tool (interfaces.md §1). Reads the database
// read-only; asks the daemon over its control socket for live state and for
// the commands that change something (retry, resend).
#include <laporsms/app/config.hpp>
#include <laporsms/cli/control_client.hpp>
#include <laporsms/cli/queries.hpp>
#include <laporsms/cli/render.hpp>
#include <laporsms/cli/stats.hpp>
#include <laporsms/cli/status.hpp>
#include <laporsms/store/backup.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/store/states.hpp>
#include <laporsms/util/clock.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <tuple>

namespace {

using namespace laporsms;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int k_exit_usage = 64;
constexpr int k_exit_critical = 2;

std::unique_ptr<store::Connection> open_read_only(const app::Config& config) {
  if (!std::filesystem::exists(config.store.path)) {
    throw std::runtime_error("no database at " + config.store.path.string() +
                             " (has laporsmsd ever run with this configuration?)");
  }
  return std::make_unique<store::Connection>(store::read_only_uri(config.store.path),
                                             store::OpenMode::read_only);
}

// Local midnight of a YYYY-MM-DD date; nullopt for anything else, also for
// text after the date and for a day the month does not have (2026-02-30).
std::optional<std::int64_t> parse_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  const std::tm asked = tm;
  tm.tm_isdst = -1;
  const auto midnight = std::mktime(&tm);
  if (midnight == static_cast<std::time_t>(-1) || tm.tm_year != asked.tm_year ||
      tm.tm_mon != asked.tm_mon || tm.tm_mday != asked.tm_mday) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(midnight) * 1000;
}

// Today's local date as YYYY-MM-DD.
std::string local_today() {
  const auto secs = static_cast<std::time_t>(util::now_ms() / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

// Writes `text` to `path` through a temporary file beside it, renamed over
// it once whole: a meeting's page is never half written.
void write_file(const std::filesystem::path& path, const std::string& text) {
  auto temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      throw std::runtime_error("cannot write " + temp.string());
    }
  }
  std::filesystem::rename(temp, path);
}

void print_json(const json& doc) {
  // A stored sender or text need not be valid UTF-8 (an SMSC's odd octets):
  // replaced with U+FFFD, never an exception halfway through the document.
  std::cout << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
}

int run_control_command(const app::Config& config, const json& request, bool as_json) {
  const auto reply = cli::ask_daemon(config.control.socket, request, 5s);
  if (!reply) {
    std::cerr << "laporctl: cannot reach laporsmsd: " << reply.error() << "\n";
    return k_exit_critical;
  }
  if (as_json) {
    print_json(*reply);
  } else {
    std::cout << cli::render_control_text(*reply);
  }
  if (!reply->value("ok", false)) {
    if (!as_json && reply->contains("error") && (*reply)["error"].is_string()) {
      std::cerr << "laporctl: " << (*reply)["error"].get<std::string>() << "\n";
    }
    return 1;
  }
  return 0;
}

int run_backup(const app::Config& config, const std::filesystem::path& target, bool as_json) {
  const auto summary = store::backup_database(config.store.path, target);
  const json doc{{"file", target.string()},
                 {"reports", summary.reports},
                 {"pages", summary.pages},
                 {"bytes", summary.bytes},
                 {"seconds", summary.seconds}};
  if (as_json) {
    print_json(doc);
  } else {
    std::cout << cli::render_backup_text(doc);
  }
  return 0;
}

int run_check(const std::filesystem::path& db_path, bool as_json) {
  const auto report = store::check_database(db_path);
  const json doc{{"file", db_path.string()},    {"sound", report.sound},
                 {"problems", report.problems}, {"schema_version", report.schema_version},
                 {"pages", report.pages},       {"reports", report.reports}};
  if (as_json) {
    print_json(doc);
  } else {
    std::cout << cli::render_check_text(doc);
  }
  return report.sound ? 0 : k_exit_critical;
}

} // namespace

int main(int argc, char** argv) {
  CLI::App cli{"laporctl: see and steer the laporsms SMS gateway", "laporctl"};
  cli.require_subcommand(1);
  // CLI::PositiveNumber would name the range up to the largest double.
  const auto k_count = CLI::Range(1, 1000000);
  std::optional<std::string> config_option;
  bool as_json = false;
  cli.add_option("--config", config_option, "configuration file of the daemon");
  cli.add_flag("--json", as_json, "print one JSON document");

  auto* status_cmd = cli.add_subcommand("status", "SMPP links, queues, upstream; exit 0/1/2");
  auto* reports_cmd = cli.add_subcommand("reports", "list reports, newest first");
  std::optional<std::string> state_filter;
  std::optional<std::string> since_filter;
  int limit = 50;
  std::vector<std::string> report_states;
  for (const auto state : store::k_report_states) {
    report_states.emplace_back(store::name(state));
  }
  reports_cmd->add_option("--state", state_filter, fmt::format("{}", fmt::join(report_states, "|")))
      ->check(CLI::IsMember(report_states));
  reports_cmd->add_option("--since", since_filter, "YYYY-MM-DD");
  reports_cmd->add_option("--limit", limit, "at most N")->check(k_count);
  auto* report_cmd = cli.add_subcommand("report", "one report with its history");
  std::string ref;
  report_cmd->add_option("REF", ref, "local ref or tracking id")->required();
  auto* messages_cmd = cli.add_subcommand("messages", "SMS in and out, newest first");
  std::string direction;
  int message_limit = 50;
  messages_cmd->add_option("--direction", direction, "in|out")->check(CLI::IsMember({"in", "out"}));
  messages_cmd->add_option("--limit", message_limit, "at most N")->check(k_count);
  auto* retry_cmd = cli.add_subcommand("retry", "requeue upstream forwarding");
  std::string retry_ref;
  bool retry_failed = false;
  retry_cmd->add_option("REF", retry_ref, "local ref or tracking id");
  retry_cmd->add_flag("--failed", retry_failed, "every failed report");
  auto* resend_cmd = cli.add_subcommand("resend", "queue the last reply of a report again");
  std::string resend_ref;
  resend_cmd->add_option("REF", resend_ref, "local ref or tracking id")->required();
  auto* backup_cmd = cli.add_subcommand("backup", "a consistent copy of the database, also live");
  std::string backup_file;
  backup_cmd->add_option("FILE", backup_file, "the copy; replaced only once the new one is whole")
      ->required();
  auto* check_cmd = cli.add_subcommand("check", "SQLite's integrity check; exit 0 sound, 2 not");
  std::string check_file;
  check_cmd->add_option("FILE", check_file, "a database or a backup (default: the daemon's)");
  auto* stats_cmd = cli.add_subcommand("stats", "the period's figures: reports, tracking, replies");
  std::optional<std::string> stats_since;
  std::optional<std::string> stats_until;
  std::string stats_by = "day";
  std::optional<std::string> stats_html;
  bool as_csv = false;
  stats_cmd->add_option("--since", stats_since,
                        "first day, YYYY-MM-DD (default: this month's 1st)");
  stats_cmd->add_option("--until", stats_until, "last day, YYYY-MM-DD, counted (default: today)");
  stats_cmd->add_option("--by", stats_by, "day|week|month")
      ->check(CLI::IsMember({"day", "week", "month"}));
  stats_cmd->add_option("--html", stats_html, "also write one self-contained page to FILE");
  cli.add_flag("--csv", as_csv, "stats: print CSV");
  for (auto* sub : {status_cmd, reports_cmd, report_cmd, messages_cmd, retry_cmd, resend_cmd,
                    backup_cmd, check_cmd, stats_cmd}) {
    sub->fallthrough(); // --config / --json may follow the command
  }

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // A word that is no command (or an option nobody knows) is left over,
    // and CLI11 would only say that a command is required.
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && cli.get_subcommands().empty() &&
        !cli.remaining().empty()) {
      const auto left = cli.remaining();
      const auto word = std::find_if(left.begin(), left.end(),
                                     [](const std::string& arg) { return arg.rfind('-', 0) != 0; });
      if (word != left.end()) {
        std::cerr << "laporctl: unknown command '" << *word
                  << "' (status, reports, report, messages, retry, resend, backup, check, "
                     "stats; "
                     "see --help)\n";
      } else {
        std::cerr << "laporctl: unknown option '" << left.front() << "' and no command\n";
      }
      return k_exit_usage;
    }
    const int rc = cli.exit(e);
    return rc == 0 ? 0 : k_exit_usage;
  }
  if (retry_cmd->parsed() && retry_ref.empty() == !retry_failed) {
    std::cerr << "laporctl: retry takes a REF or --failed\n";
    return k_exit_usage;
  }

  // A usage error is one whatever the config and the database say.
  std::optional<std::int64_t> since_ms;
  if (since_filter) {
    since_ms = parse_date(*since_filter);
    if (!since_ms) {
      std::cerr << "laporctl: --since takes a date such as 2026-11-01, not '" << *since_filter
                << "'\n";
      return k_exit_usage;
    }
  }

  if (as_csv && !stats_cmd->parsed()) {
    std::cerr << "laporctl: --csv is for stats only\n";
    return k_exit_usage;
  }
  if (as_csv && as_json) {
    std::cerr << "laporctl: --json and --csv exclude each other\n";
    return k_exit_usage;
  }
  cli::StatsQuery stats_query;
  if (stats_cmd->parsed()) {
    const auto today = parse_date(local_today());
    std::optional<std::int64_t> first =
        today ? std::optional(cli::local_month_start(*today)) : std::nullopt;
    std::optional<std::int64_t> last = today;
    for (auto [option, value, target] : {std::tuple{"--since", &stats_since, &first},
                                         std::tuple{"--until", &stats_until, &last}}) {
      if (*value) {
        *target = parse_date(**value);
        if (!*target) {
          std::cerr << "laporctl: " << option << " takes a date such as 2026-11-01, not '"
                    << **value << "'\n";
          return k_exit_usage;
        }
      }
    }
    if (!first || !last || *last < *first) {
      std::cerr << "laporctl: --until must not be before --since\n";
      return k_exit_usage;
    }
    stats_query.since_ms = *first;
    stats_query.until_ms = cli::next_local_midnight(*last);
    stats_query.by = cli::parse_stats_period(stats_by).value_or(cli::StatsPeriod::day);
  }

  // A backup (or any database file) is checked without a config: it may sit
  // on a machine where laporsms was never set up.
  if (check_cmd->parsed() && !check_file.empty()) {
    try {
      return run_check(check_file, as_json);
    } catch (const std::exception& e) {
      std::cerr << "laporctl: " << e.what() << "\n";
      return k_exit_critical;
    }
  }

  const auto path = app::resolve_config_path(
      config_option ? std::optional<std::filesystem::path>(*config_option) : std::nullopt);
  // laporctl never uses the SMPP password or the API token: an operator who
  // cannot read them can still run it.
  const auto config = app::load_config(path, app::Secrets::skip);
  if (!config) {
    std::cerr << config.error().to_string() << "\n";
    return k_exit_usage;
  }

  try {
    const auto now = util::now_ms();
    if (status_cmd->parsed()) {
      std::optional<json> live;
      if (auto reply = cli::ask_daemon(config->control.socket, json{{"cmd", "status"}}, 3s)) {
        live = std::move(*reply);
      }
      json queues = json::object();
      try {
        auto db = open_read_only(*config);
        queues = cli::queue_depths(*db, now);
      } catch (const std::exception& e) {
        queues = {{"error", e.what()}};
      }
      const auto doc = cli::build_status(*config, live, queues, now);
      if (as_json) {
        print_json(doc);
      } else {
        std::cout << cli::render_status_text(doc);
      }
      return cli::health_exit_code(doc, now);
    }
    if (retry_cmd->parsed()) {
      return run_control_command(*config,
                                 retry_failed ? json{{"cmd", "retry"}, {"failed", true}}
                                              : json{{"cmd", "retry"}, {"ref", retry_ref}},
                                 as_json);
    }
    if (resend_cmd->parsed()) {
      return run_control_command(*config, json{{"cmd", "resend"}, {"ref", resend_ref}}, as_json);
    }
    if (backup_cmd->parsed()) {
      return run_backup(*config, backup_file, as_json);
    }
    if (check_cmd->parsed()) {
      return run_check(config->store.path, as_json);
    }
    auto db = open_read_only(*config);
    if (stats_cmd->parsed()) {
      const auto stats = cli::compute_stats(*db, stats_query);
      if (stats_html) {
        write_file(*stats_html, cli::render_stats_html(stats));
      }
      if (as_json) {
        print_json(stats);
      } else if (as_csv) {
        std::cout << cli::render_stats_csv(stats);
      } else {
        std::cout << cli::render_stats_text(stats);
        if (stats_html) {
          std::cout << cli::render_control_text(
              json{{"ok", true}, {"message", "page written: " + *stats_html}});
        }
      }
      return 0;
    }
    if (reports_cmd->parsed()) {
      cli::ReportFilter filter;
      filter.state = state_filter;
      filter.limit = limit;
      filter.since_ms = since_ms;
      const auto reports = cli::list_reports(*db, filter);
      if (as_json) {
        print_json(reports);
      } else {
        std::cout << cli::render_reports_text(reports);
      }
      return 0;
    }
    if (report_cmd->parsed()) {
      const auto report = cli::report_detail(*db, ref);
      if (report.is_null()) {
        std::cerr << "laporctl: no report " << ref << "\n";
        return 1;
      }
      if (as_json) {
        print_json(report);
      } else {
        std::cout << cli::render_report_text(report);
      }
      return 0;
    }
    if (messages_cmd->parsed()) {
      const auto messages = cli::list_messages(*db, direction, message_limit);
      if (as_json) {
        print_json(messages);
      } else {
        std::cout << cli::render_messages_text(messages);
      }
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "laporctl: " << e.what() << "\n";
    return k_exit_critical;
  }
  return k_exit_usage;
}

#include <laporsms/app/config.hpp>
#include <laporsms/app/daemon.hpp>
#include <laporsms/app/program.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/util/log.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>

namespace laporsms::app {

int daemon_main(int argc, char** argv, std::string_view program,
                const std::function<void()>& before_run) {
  CLI::App cli{fmt::format("{}: SMS gateway for SP4N-LAPOR! (short code 1708)", program),
               std::string(program)};
  std::optional<std::string> config_option;
  bool check_config_only = false;
  bool version = false;
  cli.add_option("--config", config_option,
                 "configuration file (default $LAPORSMS_CONFIG or "
                 "/etc/laporsms/laporsmsd.toml)");
  cli.add_flag("--check-config", check_config_only, "validate the configuration and exit");
  cli.add_flag("--version", version, "print the version and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 64;
  }
  if (version) {
    std::printf("%.*s %s\n", static_cast<int>(program.size()), program.data(), LAPORSMS_VERSION);
    return 0;
  }
  const auto path = resolve_config_path(
      config_option ? std::optional<std::filesystem::path>(*config_option) : std::nullopt);
  // Every fault of the file at once, so one edit can fix them all; warnings
  // never repeat a secret.
  auto checked = check_config(path);
  for (const auto& fault : checked.faults) {
    std::fprintf(stderr, "%s\n", fault.to_string().c_str());
  }
  if (check_config_only) {
    for (const auto& warning : checked.warnings) {
      std::fprintf(stderr, "%s\n", warning.to_string().c_str());
    }
  }
  if (!checked.config) {
    return 2;
  }
  if (check_config_only) {
    std::printf("config ok\n");
    return 0;
  }
  const auto& config = checked.config;
  log::set_level(log::level_from_string(config->daemon.log_level));
  for (const auto& warning : checked.warnings) {
    log::warn("config: a warning", {{"warning", warning.to_string()}});
  }
  try {
    if (before_run) {
      before_run();
    }
    return run_daemon(*config);
  } catch (const store::SchemaError& e) {
    log::error("store: cannot open the database",
               {{"path", config->store.path.string()}, {"error", e.what()}});
  } catch (const store::SqliteError& e) {
    log::error("store: cannot open the database",
               {{"path", config->store.path.string()}, {"error", e.what()}});
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
  }
  return 1;
}

} // namespace laporsms::app

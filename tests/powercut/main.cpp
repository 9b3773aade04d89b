// laporsmsd_powercut: laporsmsd on a SQLite VFS that holds every write in
// memory until its file's fsync (overlay_vfs.hpp), so that a SIGKILL of it
// loses what a power cut would. Test-only: tests/integration/
// powercut_daemon.test.mjs kills it under load. Otherwise the same program
// as src/laporsmsd.cpp (keep the two in step).
#include <laporsms/app/config.hpp>
#include <laporsms/app/daemon.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/util/log.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>

#include "overlay_vfs.hpp"

int main(int argc, char** argv) {
  using namespace laporsms;
  CLI::App cli{"laporsmsd_powercut: laporsmsd whose unsynced SQLite writes die with it",
               "laporsmsd_powercut"};
  std::optional<std::string> config_option;
  bool check_config = false;
  bool version = false;
  cli.add_option("--config", config_option, "configuration file");
  cli.add_flag("--check-config", check_config, "validate the configuration and exit");
  cli.add_flag("--version", version, "print the version and exit");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e) == 0 ? 0 : 64;
  }
  if (version) {
    std::printf("laporsmsd_powercut %s\n", LAPORSMS_VERSION);
    return 0;
  }
  const auto path = app::resolve_config_path(
      config_option ? std::optional<std::filesystem::path>(*config_option) : std::nullopt);
  const auto config = app::load_config(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().to_string().c_str());
    return 2;
  }
  if (check_config) {
    std::printf("config ok\n");
    return 0;
  }
  log::set_level(log::level_from_string(config->daemon.log_level));
  try {
    // Before the daemon opens anything: every connection it opens gets it.
    powercut::install_overlay_vfs();
    log::info("powercut: SQLite writes are held in memory until their file's fsync");
    return app::run_daemon(*config);
  } catch (const store::SchemaError& e) {
    log::error("store {}: {}", config->store.path.string(), e.what());
  } catch (const store::SqliteError& e) {
    log::error("store {}: {}", config->store.path.string(), e.what());
  } catch (const std::exception& e) {
    log::error("cannot start: {}", e.what());
  }
  return 1;
}

// laporsmsd_powercut: laporsmsd on a SQLite VFS that holds every write in
// memory until its file's fsync (overlay_vfs.hpp), so that a SIGKILL of it
// loses what a power cut would. Test-only: tests/integration/
// powercut_daemon.test.mjs kills it under load.
// Otherwise the same program as laporsmsd (app::daemon_main).
#include <laporsms/app/program.hpp>
#include <laporsms/util/log.hpp>

#include "overlay_vfs.hpp"

int main(int argc, char** argv) {
  using namespace laporsms;
  // Before the daemon opens anything: every connection it opens gets it.
  const auto install = [] {
    powercut::install_overlay_vfs();
    log::info("powercut: SQLite writes are held in memory until their file's fsync");
  };
  return app::daemon_main(argc, argv, "laporsmsd_powercut", install);
}

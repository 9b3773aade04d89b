// laporsmsd wired together: the store, one SMPP session and outbox per link,
// the upstream forwarder, the control socket, signals and systemd
// notification, all on one io_context thread (the store writes on its own).
#pragma once

#include <laporsms/app/config.hpp>

namespace laporsms::app {

// Runs the daemon until SIGTERM/SIGINT; returns the process exit code.
// Throws on a start-up failure the caller should report (database, socket).
int run_daemon(const Config& config);

} // namespace laporsms::app

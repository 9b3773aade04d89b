// The laporsmsd program (interfaces.md §1): its command line, the
// configuration, then the daemon, with the exit codes operators script on.
#pragma once

#include <functional>
#include <string_view>

namespace laporsms::app {

// What main() of `program` does. `before_run`, when given, runs once the
// configuration is loaded and before the daemon opens anything: a test build
// puts SQLite under a power-cut VFS there (tests/powercut).
int daemon_main(int argc, char** argv, std::string_view program,
                const std::function<void()>& before_run = {});

} // namespace laporsms::app

#include <laporsms/util/instance_lock.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

using laporsms::util::InstanceLock;

namespace {

std::filesystem::path scratch_lock(const char* name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("laporsms-lock-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = dir / name;
  std::filesystem::remove(path);
  return path;
}

// flock is per open file description, so a second acquire in this process
// is refused like another process would be; a child proves it across processes.
bool child_can_lock(const std::filesystem::path& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::_exit(InstanceLock::acquire(path).has_value() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

} // namespace

TEST_SUITE("util::instance_lock") {
  TEST_CASE("the lock file sits beside the database") {
    CHECK(InstanceLock::beside("/var/lib/laporsms/laporsms.db") ==
          "/var/lib/laporsms/laporsms.db.lock");
  }

  TEST_CASE("a second holder is refused with the first one's pid, until it lets go") {
    const auto path = scratch_lock("a.lock");
    {
      auto first = InstanceLock::acquire(path);
      REQUIRE(first.has_value());
      auto second = InstanceLock::acquire(path);
      REQUIRE_FALSE(second.has_value());
      CHECK(second.error().find("pid " + std::to_string(::getpid())) != std::string::npos);
      CHECK(second.error().find(path.string()) != std::string::npos);
      CHECK_FALSE(child_can_lock(path));
      InstanceLock moved = std::move(*first); // still held through a move
      CHECK_FALSE(child_can_lock(path));
    }
    CHECK(child_can_lock(path));
    CHECK(InstanceLock::acquire(path).has_value());
  }

  TEST_CASE("a lock file left behind by a dead holder does not block") {
    const auto path = scratch_lock("stale.lock");
    std::ofstream(path) << "999999\n";
    CHECK(InstanceLock::acquire(path).has_value());
  }

  TEST_CASE("a lock file that cannot be created says why") {
    auto failed = InstanceLock::acquire("/nonexistent-dir/x.lock");
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().find("/nonexistent-dir/x.lock") != std::string::npos);
  }
}

// One daemon per database: an advisory lock (flock) on a file beside it,
// held for the process's life. The kernel drops it when the process dies,
// however it dies, so a crash never leaves a stale lock behind; the file
// keeps the holder's pid so a refused second start can name it.
#pragma once

#include <tl/expected.hpp>

#include <filesystem>
#include <string>

namespace laporsms::util {

class InstanceLock {
public:
  // Takes the lock on `path` (created 0640 if missing) without waiting.
  // Fails with a message naming the running instance's pid, or the reason
  // the file could not be opened.
  static tl::expected<InstanceLock, std::string> acquire(const std::filesystem::path& path);

  // The lock file beside a database: "<db>.lock".
  static std::filesystem::path beside(const std::filesystem::path& database);

  InstanceLock(InstanceLock&& other) noexcept;
  InstanceLock& operator=(InstanceLock&& other) noexcept;
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;
  ~InstanceLock();

private:
  explicit InstanceLock(int fd) : m_fd(fd) {}
  int m_fd = -1;
};

} // namespace laporsms::util

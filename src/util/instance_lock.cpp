#include <laporsms/util/instance_lock.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <utility>

namespace laporsms::util {

namespace {

std::string read_pid(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buffer[i] >= '0' && buffer[i] <= '9'; ++i) {
    pid.push_back(buffer[i]);
  }
  return pid;
}

} // namespace

std::filesystem::path InstanceLock::beside(const std::filesystem::path& database) {
  std::filesystem::path lock = database;
  lock += ".lock";
  return lock;
}

tl::expected<InstanceLock, std::string> InstanceLock::acquire(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return tl::unexpected(
        fmt::format("cannot open the lock file {}: {}", path.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = read_pid(fd);
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return tl::unexpected(fmt::format(
          "another laporsmsd{} is running on this database (it holds {}); stop it first",
          pid.empty() ? std::string() : " (pid " + pid + ")", path.string()));
    }
    return tl::unexpected(fmt::format("cannot lock {}: {}", path.string(), std::strerror(error)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::close(fd);
    return tl::unexpected(
        fmt::format("cannot write the lock file {}: {}", path.string(), std::strerror(error)));
  }
  return InstanceLock(fd);
}

InstanceLock::InstanceLock(InstanceLock&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}

InstanceLock& InstanceLock::operator=(InstanceLock&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = std::exchange(other.m_fd, -1);
  }
  return *this;
}

InstanceLock::~InstanceLock() {
  if (m_fd >= 0) {
    ::close(m_fd); // releases the flock; the file stays, harmless
  }
}

} // namespace laporsms::util

#include <laporsms/cli/control_client.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

namespace laporsms::cli {
namespace {

class Fd {
public:
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }

private:
  int m_fd;
};

} // namespace

tl::expected<nlohmann::json, std::string> ask_daemon(const std::filesystem::path& socket_path,
                                                     const nlohmann::json& request,
                                                     std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const auto path = socket_path.string();
  if (path.size() >= sizeof(addr.sun_path)) {
    return tl::unexpected("control socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return tl::unexpected(std::string("socket: ") + std::strerror(errno));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    return tl::unexpected(path + ": " + std::strerror(err));
  }
  const std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const auto n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return tl::unexpected(std::string("send: ") + std::strerror(errno));
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string reply;
  char buffer[4096];
  while (reply.find('\n') == std::string::npos) {
    const auto n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0) {
      return tl::unexpected(errno == EAGAIN ? std::string("the daemon did not answer in time")
                                            : std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) {
      return tl::unexpected(std::string("the daemon closed the connection"));
    }
    reply.append(buffer, static_cast<std::size_t>(n));
    if (reply.size() > (16U << 20)) {
      return tl::unexpected(std::string("reply too large"));
    }
  }
  try {
    return nlohmann::json::parse(reply.substr(0, reply.find('\n')));
  } catch (const nlohmann::json::exception& e) {
    return tl::unexpected(std::string("unreadable reply: ") + e.what());
  }
}

} // namespace laporsms::cli

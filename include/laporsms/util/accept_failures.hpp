// What a listening server's accept loop does when accept fails: an accept
// that fails at once (out of file descriptors, say) and is retried at once
// spins the CPU, and a log line per failure floods the journal. So: wait
// longer after each failure of a run (50 ms doubling to 1 s), log the first
// failure of a run and the recovery, one line each.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace laporsms::util {

class AcceptFailures {
public:
  static constexpr std::chrono::milliseconds k_min_wait{50};
  static constexpr std::chrono::milliseconds k_max_wait{1000};

  // `server` names the listener in the log ("control", "metrics").
  explicit AcceptFailures(std::string server) : m_server(std::move(server)) {}

  // After a failed accept: logs it when it starts a run (with `remedy`, what
  // the server does meanwhile); returns how long to wait before the next.
  std::chrono::milliseconds failed(std::string_view error, std::string_view remedy);
  // After an accept that worked: logs the end of a run of failures.
  void succeeded();

  bool failing() const { return m_failing; }

private:
  std::string m_server;
  std::chrono::milliseconds m_next_wait = k_min_wait;
  bool m_failing = false;
};

} // namespace laporsms::util

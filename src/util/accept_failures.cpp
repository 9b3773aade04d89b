#include <laporsms/util/accept_failures.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>

namespace laporsms::util {

std::chrono::milliseconds AcceptFailures::failed(std::string_view error, std::string_view remedy) {
  if (!m_failing) {
    m_failing = true;
    log::warn(fmt::format("{}: accept failed; {}", m_server, remedy),
              {{"retry_max_ms", k_max_wait.count()}, {"error", error}});
  }
  const auto wait = m_next_wait;
  m_next_wait = std::min(m_next_wait * 2, k_max_wait);
  return wait;
}

void AcceptFailures::succeeded() {
  m_next_wait = k_min_wait;
  if (m_failing) {
    m_failing = false;
    log::info(fmt::format("{}: accepting clients again", m_server));
  }
}

} // namespace laporsms::util

// A fault that repeats while it lasts (a store that cannot be read, polled
// every second), told once: the failure that starts the episode at error
// level, the repeats at debug, and one line when it clears (README: one
// error line per episode).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

namespace laporsms::util {

class FaultEpisode {
public:
  // An episode whose successes come between its failures (a store at its
  // size cap still takes a small write, then refuses the next) ends only
  // with a success `settle_ms` or more after its last failure.
  explicit FaultEpisode(std::int64_t settle_ms) : m_settle_ms(settle_ms) {}

  // A failure at `now_ms`: true when it starts an episode.
  bool failed(std::int64_t now_ms) {
    m_last_failure_ms = now_ms;
    m_success_since_failure = false;
    return !std::exchange(m_failing, true);
  }
  // A success at `now_ms`: true when it ends the episode.
  bool cleared(std::int64_t now_ms) {
    if (!m_failing) {
      return false;
    }
    m_success_since_failure = true;
    return settle(now_ms);
  }
  // When the episode will have settled, if nothing fails before: while it
  // lasts and a success came after its last failure.
  std::optional<std::int64_t> settles_at() const {
    if (!m_failing || !m_success_since_failure) {
      return std::nullopt;
    }
    return m_last_failure_ms + m_settle_ms;
  }
  // Ends the episode at `now_ms` if it has settled (see settles_at): true
  // when it ends it.
  bool settle(std::int64_t now_ms) {
    const auto at = settles_at();
    if (!at || now_ms < *at) {
      return false;
    }
    m_failing = false;
    return true;
  }
  bool failing() const { return m_failing; }

private:
  std::int64_t m_settle_ms;
  std::int64_t m_last_failure_ms = 0;
  bool m_success_since_failure = false;
  bool m_failing = false;
};

// How long writes or reads must go on succeeding after a store fault's last
// failure before its episode is over.
inline constexpr std::int64_t k_store_fault_settle_ms = 2000;

} // namespace laporsms::util

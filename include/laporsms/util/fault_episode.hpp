// A fault that repeats while it lasts (a store that cannot be read, polled
// every second), told once: the failure that starts the episode at error
// level, the repeats at debug, and one line when it clears (README: one
// error line per episode).
#pragma once

#include <utility>

namespace laporsms::util {

class FaultEpisode {
public:
  // A failure: true when it starts an episode.
  bool failed() { return !std::exchange(m_failing, true); }
  // A success: true when it ends one.
  bool cleared() { return std::exchange(m_failing, false); }
  bool failing() const { return m_failing; }

private:
  bool m_failing = false;
};

} // namespace laporsms::util

// A wake-up signal for one waiting coroutine: wait() sleeps until notify()
// or a timeout, whichever comes first. A notify() with nobody waiting is
// remembered, so a wake-up is never lost between two waits.
#pragma once

#include <laporsms/util/net.hpp>

#include <chrono>

namespace laporsms::util {

class Wakeup {
public:
  explicit Wakeup(asio::any_io_executor executor) : m_timer(std::move(executor)) {}

  void notify() {
    m_pending = true;
    m_timer.cancel();
  }

  awaitable<void> wait(std::chrono::steady_clock::duration timeout) {
    if (m_pending) {
      m_pending = false;
      co_return;
    }
    m_timer.expires_after(timeout);
    boost::system::error_code ec;
    co_await m_timer.async_wait(asio::redirect_error(use_awaitable, ec));
    m_pending = false;
  }

private:
  asio::steady_timer m_timer;
  bool m_pending = false;
};

} // namespace laporsms::util

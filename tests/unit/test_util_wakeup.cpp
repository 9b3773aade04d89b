#include <laporsms/util/net.hpp>
#include <laporsms/util/wakeup.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <optional>

using laporsms::util::Wakeup;
namespace asio = laporsms::asio;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Records when each wait ended, measured from the start of the test.
struct Waits {
  Clock::time_point started = Clock::now();
  std::optional<Clock::duration> first;
  std::optional<Clock::duration> second;
};

laporsms::awaitable<void> wait_once(Wakeup* wakeup, Clock::duration timeout, Waits* waits) {
  co_await wakeup->wait(timeout);
  waits->first = Clock::now() - waits->started;
}

laporsms::awaitable<void> wait_twice(Wakeup* wakeup, Clock::duration timeout, Waits* waits) {
  co_await wakeup->wait(timeout);
  waits->first = Clock::now() - waits->started;
  co_await wakeup->wait(timeout);
  waits->second = Clock::now() - waits->started;
}

} // namespace

TEST_SUITE("util::Wakeup") {
  TEST_CASE("a notify before the wait is remembered") {
    asio::io_context io;
    Wakeup wakeup(io.get_executor());
    Waits waits;
    wakeup.notify();
    asio::co_spawn(io, wait_once(&wakeup, 5s, &waits), asio::detached);
    io.run_for(2s);
    REQUIRE(waits.first.has_value());
    CHECK(*waits.first < 1s);
  }

  TEST_CASE("the wait times out without a notify") {
    asio::io_context io;
    Wakeup wakeup(io.get_executor());
    Waits waits;
    asio::co_spawn(io, wait_once(&wakeup, 60ms, &waits), asio::detached);
    io.run_for(2s);
    REQUIRE(waits.first.has_value());
    CHECK(*waits.first >= 60ms);
    CHECK(*waits.first < 1s);
  }

  TEST_CASE("a notify during the wait ends it early") {
    asio::io_context io;
    Wakeup wakeup(io.get_executor());
    Waits waits;
    asio::co_spawn(io, wait_once(&wakeup, 5s, &waits), asio::detached);
    asio::steady_timer poke(io);
    poke.expires_after(30ms);
    poke.async_wait([&wakeup](boost::system::error_code) { wakeup.notify(); });
    io.run_for(2s);
    REQUIRE(waits.first.has_value());
    CHECK(*waits.first >= 30ms);
    CHECK(*waits.first < 1s);
  }

  TEST_CASE("a remembered notify wakes one wait only") {
    asio::io_context io;
    Wakeup wakeup(io.get_executor());
    Waits waits;
    wakeup.notify();
    wakeup.notify(); // two notifies with nobody waiting are one wake-up
    asio::co_spawn(io, wait_twice(&wakeup, 150ms, &waits), asio::detached);
    io.run_for(2s);
    REQUIRE(waits.first.has_value());
    REQUIRE(waits.second.has_value());
    CHECK(*waits.first < 100ms);
    CHECK(*waits.second - *waits.first >= 150ms);
  }

  TEST_CASE("a notify consumed by a wait is not remembered for the next") {
    asio::io_context io;
    Wakeup wakeup(io.get_executor());
    Waits waits;
    asio::co_spawn(io, wait_twice(&wakeup, 150ms, &waits), asio::detached);
    asio::steady_timer poke(io);
    poke.expires_after(20ms);
    poke.async_wait([&wakeup](boost::system::error_code) { wakeup.notify(); });
    io.run_for(2s);
    REQUIRE(waits.first.has_value());
    REQUIRE(waits.second.has_value());
    CHECK(*waits.first >= 20ms);
    CHECK(*waits.first < 120ms);
    CHECK(*waits.second - *waits.first >= 150ms);
  }
}

// The housekeeping loops as a stage: a real Store on a temporary database,
// the loops' rounds driven one at a time on a test io_context, and what they
// woke recorded. No SMSC, no API.
#include <laporsms/relay/housekeeping.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms;
using namespace std::chrono_literals;
using store_test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

class Stage {
public:
  explicit Stage(relay::HousekeepingOptions options = {})
      : store(store_test::migrated_store_options(dir)),
        policy(std::make_shared<const relay::RuntimePolicy>(relay::RuntimePolicy{intake()})),
        housekeeping(
            io.get_executor(), store, [this] { return policy; }, std::move(options),
            relay::Housekeeping::Wakes{
                [this] { ++filed_wakes; },
                [this](const std::string& link) { resent_wakes.push_back(link); }}) {}

  // Runs `round` on the io thread to its end.
  template <typename T> T run(std::function<awaitable<T>()> round) {
    std::optional<T> result;
    auto body = [&round, &result]() -> awaitable<void> { result = co_await round(); };
    asio::co_spawn(io, body, asio::detached);
    const auto deadline = Clock::now() + 5s;
    while (!result && Clock::now() < deadline) {
      io.run_for(5ms);
      io.restart();
    }
    REQUIRE(result);
    return *result;
  }

  // Part `seq` of 2 of a long SMS from `msisdn`, received `age` ago.
  void store_part(std::string_view msisdn, std::string_view text, std::uint8_t seq,
                  std::chrono::milliseconds age) {
    auto sms = store_test::make_sms(msisdn, text, util::now_ms() - age.count());
    sms.concat = sms::ConcatInfo{0x42, 2, seq};
    const auto stored = store.execute_blocking(
        [&](store::Connection& db) { return store::record_inbound(db, sms, policy->intake); });
    REQUIRE(stored.part_waiting);
  }

  std::int64_t count(std::string_view table, std::string_view where = "1") {
    return store.execute_blocking(
        [&](store::Connection& db) { return store_test::count_rows(db, table, where); });
  }

  TempDir dir;
  asio::io_context io;
  store::Store store;
  std::shared_ptr<const relay::RuntimePolicy> policy;
  int filed_wakes = 0;
  std::vector<std::string> resent_wakes;
  relay::Housekeeping housekeeping;

private:
  static store::IntakePolicy intake() {
    auto p = store_test::test_policy();
    p.concat_timeout_ms = 60'000;
    return p;
  }
};

} // namespace

TEST_SUITE("relay::Housekeeping (stage)") {
  TEST_CASE("a long SMS whose last part never came is filed after concat_timeout, and the "
            "queues are woken") {
    Stage stage;
    stage.store_part("6281234567890", "LAPORYAI jalan berlubang di Jl. Ahmad Yani ", 1, 90s);
    stage.store_part("6281298765432", "LAPORYAI lampu taman mati ", 1, 10s); // not due yet

    const auto filed =
        stage.run<int>([&stage] { return stage.housekeeping.sweep_incomplete_once(); });

    CHECK(filed == 1);
    CHECK(stage.filed_wakes == 1);
    CHECK(stage.count("reports") == 1);
    CHECK(stage.count("upstream_jobs") == 1);
    // Nothing more is due: nobody is woken for nothing.
    CHECK(stage.run<int>([&stage] { return stage.housekeeping.sweep_incomplete_once(); }) == 0);
    CHECK(stage.filed_wakes == 1);
  }

  TEST_CASE("retention prunes in batches until one comes back short") {
    relay::HousekeepingOptions options;
    options.retention = {.retention_ms = 1000, .blank_text_after_ms = 0, .batch = 2};
    Stage stage(options);
    for (int i = 0; i < 5; ++i) {
      stage.store.execute_blocking([i](store::Connection& db) {
        return store::queue_reply(db, std::nullopt, "help", "telkomsel",
                                  "62812345678" + std::to_string(i), "teks",
                                  util::now_ms() - 10'000);
      });
    }
    stage.store.execute_blocking([](store::Connection& db) {
      db.exec("UPDATE outbound SET state = 'delivered'");
      return 0;
    });

    const auto pruned =
        stage.run<store::RetentionResult>([&stage] { return stage.housekeeping.prune_once(); });

    CHECK(pruned.replies_pruned == 5);
    CHECK(stage.count("outbound") == 0);
  }

  TEST_CASE("the periods follow the configuration, within their bounds") {
    using relay::Housekeeping;
    CHECK(Housekeeping::sweep_period(5min) == 30s);
    CHECK(Housekeeping::sweep_period(60s) == 15s);
    CHECK(Housekeeping::sweep_period(2s) == 1s);
    CHECK(Housekeeping::doubt_period({}) == 60s);
    CHECK(Housekeeping::doubt_period({{"a", 10min, 24h}, {"b", 2min, 24h}}) == 30s);
    CHECK(Housekeeping::doubt_period({{"a", 0ms, 24h}}) == 60s); // a link never judged
    CHECK(Housekeeping::doubt_period({{"a", 1s, 24h}}) == 1s);
  }

  TEST_CASE("stop() ends the three loops at once, however long their periods") {
    Stage stage;
    stage.housekeeping.start();
    stage.io.run_for(20ms);
    stage.io.restart();
    stage.housekeeping.stop();
    const auto began = Clock::now();
    stage.io.run_for(5s); // returns as soon as no loop waits any more
    CHECK(stage.io.stopped());
    CHECK(Clock::now() - began < 4s);
  }
}

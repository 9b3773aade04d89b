// The pipeline's timed work, beside the stages that move a report along: long
// SMS whose missing parts never came are filed as they are, replies in doubt
// are judged by their receipts, and old rows are pruned. Each is a loop of a
// few small store tasks a period, never one long transaction.
#pragma once

#include <laporsms/relay/inbound.hpp>
#include <laporsms/store/retention.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/net.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace laporsms::relay {

// What the doubt judge needs of one link.
struct DoubtLink {
  std::string name;
  // How long a reply stays in doubt before it is judged (0: never judged).
  std::chrono::milliseconds judge_after{std::chrono::minutes(10)};
  // Replies older than this are left alone (the outbox would expire them).
  std::chrono::milliseconds reply_max_age{std::chrono::hours(24)};
};

struct HousekeepingOptions {
  std::vector<DoubtLink> links;
  std::chrono::milliseconds retention_period{std::chrono::minutes(1)};
  store::RetentionPolicy retention;
  int retention_rounds = 20; // batches of `retention.batch` rows per period, at most
};

class Housekeeping {
public:
  // Who must look at the queues again after housekeeping put work in them.
  struct Wakes {
    // Long SMS were filed: their replies wait in the outboxes, their reports
    // for the forwarder.
    std::function<void()> filed;
    // A reply in doubt of `link` was queued again.
    std::function<void(const std::string& link)> resent;
  };

  // `policy` is read at each sweep, so a reload's concat_timeout applies.
  Housekeeping(asio::any_io_executor executor, store::Store& store,
               std::function<std::shared_ptr<const RuntimePolicy>()> policy,
               HousekeepingOptions options, Wakes wakes);

  // Starts the three loops; each ends at stop().
  void start();
  void stop();

  // One round of each, as the loops run them: for the loops and for tests.
  awaitable<int> sweep_incomplete_once();
  awaitable<void> judge_in_doubt_once();
  awaitable<store::RetentionResult> prune_once();

  // How often the sweep runs: a quarter of concat_timeout, within 1 s..30 s.
  static std::chrono::milliseconds sweep_period(std::chrono::milliseconds concat_timeout);
  // How often replies in doubt are judged: a quarter of the shortest
  // judge_after, within 1 s..60 s.
  static std::chrono::milliseconds doubt_period(const std::vector<DoubtLink>& links);

private:
  awaitable<void> sweep_loop();
  awaitable<void> doubt_loop();
  awaitable<void> prune_loop();
  // Waits `period` on `timer`; false once stopped.
  awaitable<bool> pause(asio::steady_timer& timer, std::chrono::milliseconds period);

  asio::any_io_executor m_executor;
  store::Store& m_store;
  std::function<std::shared_ptr<const RuntimePolicy>()> m_policy;
  HousekeepingOptions m_options;
  Wakes m_wakes;
  asio::steady_timer m_sweep_timer;
  asio::steady_timer m_doubt_timer;
  asio::steady_timer m_prune_timer;
  bool m_stopping = false;
};

} // namespace laporsms::relay

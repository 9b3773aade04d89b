#include <laporsms/relay/housekeeping.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/store/doubt.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <algorithm>

namespace laporsms::relay {

using namespace std::chrono_literals;

Housekeeping::Housekeeping(asio::any_io_executor executor, store::Store& store,
                           std::function<std::shared_ptr<const RuntimePolicy>()> policy,
                           HousekeepingOptions options, Wakes wakes)
    : m_executor(std::move(executor)), m_store(store), m_policy(std::move(policy)),
      m_options(std::move(options)), m_wakes(std::move(wakes)), m_sweep_timer(m_executor),
      m_doubt_timer(m_executor), m_prune_timer(m_executor) {}

void Housekeeping::start() {
  asio::co_spawn(m_executor, sweep_loop(), asio::detached);
  asio::co_spawn(m_executor, doubt_loop(), asio::detached);
  asio::co_spawn(m_executor, prune_loop(), asio::detached);
}

void Housekeeping::stop() {
  m_stopping = true;
  m_sweep_timer.cancel();
  m_doubt_timer.cancel();
  m_prune_timer.cancel();
}

std::chrono::milliseconds Housekeeping::sweep_period(std::chrono::milliseconds concat_timeout) {
  return std::clamp<std::chrono::milliseconds>(concat_timeout / 4, 1s, 30s);
}

std::chrono::milliseconds Housekeeping::doubt_period(const std::vector<DoubtLink>& links) {
  std::chrono::milliseconds period = 60s;
  for (const auto& link : links) {
    if (link.judge_after > 0ms) {
      period = std::min<std::chrono::milliseconds>(period, link.judge_after / 4);
    }
  }
  return std::max<std::chrono::milliseconds>(period, 1s);
}

awaitable<bool> Housekeeping::pause(asio::steady_timer& timer, std::chrono::milliseconds period) {
  if (m_stopping) {
    co_return false;
  }
  timer.expires_after(period);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  co_return !m_stopping;
}

awaitable<int> Housekeeping::sweep_incomplete_once() {
  const auto policy = m_policy();
  auto sweep = [policy](store::Connection& db) {
    return store::file_expired_parts(db, util::now_ms(), policy->intake);
  };
  int filed = 0;
  try {
    filed = co_await m_store.execute(std::move(sweep));
  } catch (const std::exception& e) {
    log::error("intake: cannot file incomplete long SMS", {{"error", e.what()}});
    co_return 0;
  }
  if (filed > 0) {
    log::warn("intake: filed long SMS with parts missing",
              {{"count", filed}, {"concat_timeout_ms", policy->intake.concat_timeout_ms}});
    if (m_wakes.filed) {
      m_wakes.filed();
    }
  }
  co_return filed;
}

awaitable<void> Housekeeping::sweep_loop() {
  for (;;) {
    const auto period =
        sweep_period(std::chrono::milliseconds(m_policy()->intake.concat_timeout_ms));
    const bool due = co_await pause(m_sweep_timer, period);
    if (!due) {
      co_return;
    }
    co_await sweep_incomplete_once();
  }
}

awaitable<void> Housekeeping::judge_in_doubt_once() {
  for (const auto& link : m_options.links) {
    if (m_stopping || link.judge_after <= 0ms) {
      continue;
    }
    store::DoubtPolicy policy;
    policy.judge_after_ms = link.judge_after.count();
    policy.created_after = util::now_ms() - link.reply_max_age.count();
    policy.settle_ms = std::min<std::int64_t>(policy.settle_ms, policy.judge_after_ms / 2);
    auto judge = [name = link.name, policy](store::Connection& db) {
      return store::resolve_in_doubt(db, name, util::now_ms(), policy);
    };
    store::DoubtResult result;
    try {
      result = co_await m_store.execute(std::move(judge));
    } catch (const std::exception& e) {
      log::error("outbox: cannot judge replies in doubt",
                 {{"link", link.name}, {"error", e.what()}});
      continue;
    }
    for (const auto& found : result.found_receipt) {
      log::info("outbox: a reply in doubt got its delivery receipt; not sent again",
                {{"link", link.name},
                 {"reply", found.outbound_id},
                 {"msisdn", sms::mask_msisdn(found.msisdn)},
                 {"receipt", found.state}});
    }
    for (const auto& partly : result.found_part) {
      log::warn("outbox: a reply in doubt got receipts for some of its parts only; left "
                "unknown for an operator (laporctl resend)",
                {{"link", link.name},
                 {"reply", partly.outbound_id},
                 {"msisdn", sms::mask_msisdn(partly.msisdn)}});
    }
    for (const auto& resent : result.resent) {
      log::warn("outbox: a reply in doubt got no receipt while a later reply to the same "
                "number was delivered; sending it again",
                {{"link", link.name},
                 {"reply", resent.outbound_id},
                 {"msisdn", sms::mask_msisdn(resent.msisdn)}});
    }
    if (result.given_up > 0) {
      log::warn("outbox: replies still in doubt after reply_max_age; left unknown for an "
                "operator (laporctl resend)",
                {{"link", link.name}, {"count", result.given_up}});
    }
    if (!result.resent.empty() && m_wakes.resent) {
      m_wakes.resent(link.name);
    }
  }
}

awaitable<void> Housekeeping::doubt_loop() {
  const auto period = doubt_period(m_options.links);
  for (;;) {
    const bool due = co_await pause(m_doubt_timer, period);
    if (!due) {
      co_return;
    }
    co_await judge_in_doubt_once();
  }
}

awaitable<store::RetentionResult> Housekeeping::prune_once() {
  store::RetentionResult total;
  const auto policy = m_options.retention;
  for (int round = 0; round < m_options.retention_rounds && !m_stopping; ++round) {
    auto prune = [policy](store::Connection& db) {
      return store::prune_once(db, util::now_ms(), policy);
    };
    store::RetentionResult batch;
    try {
      batch = co_await m_store.execute(std::move(prune));
    } catch (const std::exception& e) {
      log::warn("retention: pruning failed; trying again next round", {{"error", e.what()}});
      break;
    }
    total.replies_pruned += batch.replies_pruned;
    total.reports_pruned += batch.reports_pruned;
    total.reports_blanked += batch.reports_blanked;
    total.scraps_pruned += batch.scraps_pruned;
    if (batch.total() < policy.batch) {
      break;
    }
  }
  if (total.total() > 0) {
    log::info("retention: old rows pruned",
              {{"sms_rows", total.replies_pruned + total.scraps_pruned},
               {"closed_reports", total.reports_pruned},
               {"texts_blanked", total.reports_blanked}});
  }
  co_return total;
}

awaitable<void> Housekeeping::prune_loop() {
  for (;;) {
    // Never co_await in a loop's condition: g++ 12 miscompiles it (the
    // frame crashes when the loop ends).
    const bool due = co_await pause(m_prune_timer, m_options.retention_period);
    if (!due) {
      co_return;
    }
    co_await prune_once();
  }
}

} // namespace laporsms::relay

#include <laporsms/relay/status_poller.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

namespace laporsms::relay {

using namespace std::chrono_literals;

StatusPoller::StatusPoller(asio::any_io_executor executor, store::Store& store,
                           lapor::HttpTransport& http, const lapor::Adapter& adapter,
                           std::chrono::milliseconds poll_interval, unsigned concurrency,
                           ReplyTemplatesSource replies,
                           std::function<void(const std::string&)> on_reply_queued,
                           metrics::UpstreamMetrics metrics)
    : m_executor(executor), m_store(store), m_http(http), m_adapter(adapter),
      m_interval(poll_interval), m_concurrency(std::max(1U, concurrency)),
      m_replies(std::move(replies)), m_on_reply_queued(std::move(on_reply_queued)),
      m_metrics(metrics), m_wakeup(executor) {}

awaitable<void> StatusPoller::run() {
  // Small ticks spread the polls of many reports over the interval instead
  // of asking about all of them at once.
  const auto tick = std::clamp<std::chrono::milliseconds>(m_interval / 20, 200ms, 60s);
  while (!m_stopping) {
    const unsigned free_slots = m_concurrency > m_in_flight ? m_concurrency - m_in_flight : 0;
    std::size_t claimed = 0;
    if (free_slots > 0) {
      const auto now = util::now_ms();
      const auto polled_before = now - m_interval.count();
      auto claim = [polled_before, now, free_slots](store::Connection& db) {
        return store::claim_status_queries(db, polled_before, now, free_slots);
      };
      try {
        auto queries = co_await m_store.execute(std::move(claim), store::Durability::written);
        claimed = queries.size();
        for (auto& query : queries) {
          ++m_in_flight;
          asio::co_spawn(m_executor, poll(std::move(query)), asio::detached);
        }
      } catch (const std::exception& e) {
        log::error("status: cannot read open reports", {{"error", e.what()}});
      }
    }
    if (claimed < free_slots || free_slots == 0) {
      co_await m_wakeup.wait(tick);
    }
  }
}

awaitable<void> StatusPoller::poll(store::StatusQuery query) {
  lapor::StatusResult result;
  try {
    auto request = m_adapter.build_status(query.tracking_id);
    const auto sent_at = std::chrono::steady_clock::now();
    const auto response = co_await m_http.send(std::move(request));
    result = m_adapter.classify_status(response);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - sent_at;
    m_metrics.request("status", to_string(result.outcome), took.count());
  } catch (const std::exception& e) {
    result.outcome = lapor::Outcome::temporary;
    result.error = e.what();
  }
  if (result.outcome == lapor::Outcome::delivered) {
    const auto status = result.status;
    const auto note = result.note;
    auto record = [&query, status, note, replies = m_replies()](store::Connection& db) {
      return store::record_status(db, query, status, note, *replies, util::now_ms());
    };
    try {
      const bool changed = co_await m_store.execute(std::move(record));
      if (changed) {
        ++m_changes;
        log::info(store::is_closing_status(status) ? "status: report closed"
                                                   : "status: report status changed",
                  {{"ref", query.ref}, {"tracking_id", query.tracking_id}, {"status", status}});
        m_on_reply_queued(query.link);
      }
    } catch (const std::exception& e) {
      log::error("status: cannot record a report's status",
                 {{"ref", query.ref}, {"error", e.what()}});
    }
  } else {
    log::warn("status: cannot read a report's status",
              {{"ref", query.ref}, {"tracking_id", query.tracking_id}, {"error", result.error}});
  }
  --m_in_flight;
  m_wakeup.notify();
}

} // namespace laporsms::relay

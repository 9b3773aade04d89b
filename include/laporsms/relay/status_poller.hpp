// The StatusPoller: for adapters that can read a report's status back
// (rest-json with status_url), asks about every open report once per
// poll_interval, spread out and with bounded concurrency. A changed status
// is stored and the citizen told (store::record_status).
#pragma once

#include <laporsms/lapor/adapter.hpp>
#include <laporsms/lapor/http_client.hpp>
#include <laporsms/metrics/catalog.hpp>
#include <laporsms/relay/forwarder.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/status.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/net.hpp>
#include <laporsms/util/wakeup.hpp>

#include <chrono>
#include <functional>

namespace laporsms::relay {

class StatusPoller {
public:
  StatusPoller(asio::any_io_executor executor, store::Store& store, lapor::HttpTransport& http,
               const lapor::Adapter& adapter, std::chrono::milliseconds poll_interval,
               unsigned concurrency, ReplyTemplatesSource replies,
               std::function<void(const std::string& link)> on_reply_queued,
               metrics::UpstreamMetrics metrics = {});

  awaitable<void> run();
  void stop() {
    m_stopping = true;
    m_wakeup.notify();
  }
  std::uint64_t changes_seen() const { return m_changes; }

private:
  awaitable<void> poll(store::StatusQuery query);

  asio::any_io_executor m_executor;
  store::Store& m_store;
  lapor::HttpTransport& m_http;
  const lapor::Adapter& m_adapter;
  std::chrono::milliseconds m_interval;
  unsigned m_concurrency;
  ReplyTemplatesSource m_replies;
  std::function<void(const std::string&)> m_on_reply_queued;
  metrics::UpstreamMetrics m_metrics;
  util::Wakeup m_wakeup;
  bool m_stopping = false;
  unsigned m_in_flight = 0;
  std::uint64_t m_changes = 0;
};

} // namespace laporsms::relay

// The daemon's Prometheus endpoint: the metrics server at [metrics] listen
// and the collectors that read, at each scrape, what is not counted as it
// happens (link and upstream state, the store's statistics, and the
// figures only the database knows).
//
// The database figures (reports and replies by state, the oldest
// unforwarded report) are read on a read-only connection of their own, on a
// thread of their own, never on the io thread: counting by state walks an
// index whose size grows with the tables (about 1,000,000 entries a year at
// a city's volume), and an io thread that waited on it would delay every
// deliver_sm_resp behind a scrape. A sample is kept for `sample_ttl` (and
// for at least ten times as long as it took, so a big database is not read
// back to back); a scrape that finds it stale starts a new read and waits
// for it at most `sample_wait`, else renders the last sample and its age
// (laporsms_database_sample_age_seconds). Keeping these figures in memory
// instead would mean mirroring every state change of every stage, and
// still reading the database at start-up.
#pragma once

#include <laporsms/metrics/catalog.hpp>
#include <laporsms/metrics/server.hpp>
#include <laporsms/store/gauges.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/net.hpp>

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace laporsms::app {

// What the collectors read at each scrape, on the io thread. The daemon
// fills these in from the parts it wires (the exporter includes none).
struct MetricsSources {
  struct Link {
    std::string name;
    std::string state; // "down", "binding" or "bound"
    unsigned window_in_use = 0;
  };
  std::function<std::vector<Link>()> links;
  struct Upstream {
    std::string state; // "ok", "retrying", "auth_error" or "circuit_open"
    unsigned in_flight = 0;
  };
  std::function<Upstream()> upstream;
  std::function<store::StoreStats()> store;
};

struct MetricsExporterOptions {
  std::chrono::milliseconds sample_ttl{5000};
  std::chrono::milliseconds sample_wait{2000};
  metrics::ServerLimits limits;
};

class MetricsExporter {
public:
  // Binds `listen` now (throws when it cannot: the daemon refuses to start).
  MetricsExporter(asio::any_io_executor executor, metrics::Catalog& catalog,
                  const std::string& listen, std::filesystem::path database, MetricsSources sources,
                  MetricsExporterOptions options = {});
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;

  awaitable<void> run();
  void stop();
  tcp::endpoint local_endpoint() const { return m_server->local_endpoint(); }

private:
  awaitable<std::string> scrape();
  awaitable<void> sample_database();
  void collect();

  asio::any_io_executor m_executor;
  metrics::Catalog& m_catalog;
  std::filesystem::path m_database;
  MetricsSources m_sources;
  MetricsExporterOptions m_options;
  std::unique_ptr<metrics::Server> m_server;
  // The database is read on this thread alone; m_db is touched only there.
  asio::thread_pool m_pool{1};
  std::unique_ptr<store::Connection> m_db;
  std::optional<store::GaugeSample> m_sample;
  std::chrono::steady_clock::time_point m_sampled_at{};
  std::chrono::steady_clock::time_point m_next_sample_at{};
  bool m_sampling = false;
  bool m_sample_failing = false;            // logged once per episode
  std::list<asio::steady_timer*> m_waiters; // scrapes waiting for the sample
  bool m_stopped = false;
};

} // namespace laporsms::app

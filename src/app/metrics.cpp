#include <laporsms/app/metrics.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <stdexcept>

namespace laporsms::app {

namespace {

constexpr std::array<std::string_view, 3> k_link_states = {"down", "binding", "bound"};
constexpr std::array<std::string_view, 4> k_upstream_states = {"ok", "retrying", "auth_error",
                                                               "circuit_open"};

} // namespace

MetricsExporter::MetricsExporter(asio::any_io_executor executor, metrics::Catalog& catalog,
                                 const std::string& listen, std::filesystem::path database,
                                 MetricsSources sources, MetricsExporterOptions options)
    : m_executor(executor), m_catalog(catalog), m_database(std::move(database)),
      m_sources(std::move(sources)), m_options(options) {
  try {
    const auto endpoint = metrics::resolve_listen(listen);
    m_server = std::make_unique<metrics::Server>(
        executor, endpoint, [this] { return scrape(); }, m_options.limits);
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics: cannot listen on " + listen +
                             " ([metrics] listen): " + e.what());
  }
  m_catalog.registry.on_collect([this] { collect(); });
  log::info("metrics: serving Prometheus text",
            {{"url", fmt::format("http://{}/metrics", listen)}});
}

MetricsExporter::~MetricsExporter() {
  stop();
  m_pool.join(); // a read under way ends before the connection it uses
}

awaitable<void> MetricsExporter::run() {
  co_await m_server->run();
}

void MetricsExporter::stop() {
  m_stopped = true;
  m_server->stop();
  for (auto* waiter : m_waiters) {
    waiter->cancel();
  }
}

awaitable<std::string> MetricsExporter::scrape() {
  const auto now = std::chrono::steady_clock::now();
  if (!m_stopped && !m_sampling && (!m_sample || now >= m_next_sample_at)) {
    m_sampling = true;
    asio::co_spawn(m_executor, sample_database(), asio::detached);
  }
  if (m_sampling && (!m_sample || now >= m_sampled_at + m_options.sample_ttl)) {
    asio::steady_timer wait(m_executor);
    wait.expires_after(m_options.sample_wait);
    m_waiters.push_back(&wait);
    const auto self = std::prev(m_waiters.end());
    boost::system::error_code ec;
    co_await wait.async_wait(asio::redirect_error(use_awaitable, ec));
    m_waiters.erase(self);
  }
  co_return m_catalog.registry.render();
}

awaitable<void> MetricsExporter::sample_database() {
  const auto started = std::chrono::steady_clock::now();
  std::optional<store::GaugeSample> sample;
  std::string error;
  // On the pool's thread: open the read-only connection the first time,
  // then read. Named, not a temporary inside the co_await (g++ 12).
  auto read = [this]() -> awaitable<store::GaugeSample> {
    if (!m_db) {
      m_db = std::make_unique<store::Connection>(store::read_only_uri(m_database),
                                                 store::OpenMode::read_only);
      m_db->exec("PRAGMA busy_timeout = 1000");
    }
    co_return store::sample_gauges(*m_db);
  };
  try {
    auto reading = asio::co_spawn(m_pool, std::move(read), use_awaitable);
    sample = co_await std::move(reading);
  } catch (const std::exception& e) {
    error = e.what();
  }
  const auto finished = std::chrono::steady_clock::now();
  const auto took = finished - started;
  m_sampling = false;
  m_next_sample_at =
      finished + std::max<std::chrono::steady_clock::duration>(m_options.sample_ttl, took * 10);
  if (sample) {
    m_sample = std::move(*sample);
    m_sampled_at = finished;
    m_catalog.database_sample_duration.with({}).set(std::chrono::duration<double>(took).count());
    if (m_sample_failing) {
      m_sample_failing = false;
      log::info("metrics: reading the database works again");
    }
  } else {
    if (!m_sample_failing) {
      m_sample_failing = true;
      log::warn("metrics: cannot read reports and replies by state from the database; serving "
                "the last figures read",
                {{"error", error}});
    }
    // Read again at the next scrape after a short pause, not every scrape.
    m_next_sample_at = finished + std::chrono::seconds(1);
  }
  for (auto* waiter : m_waiters) {
    waiter->cancel();
  }
}

void MetricsExporter::collect() {
  auto& c = m_catalog;
  if (m_sources.links) {
    for (const auto& link : m_sources.links()) {
      for (const auto state : k_link_states) {
        c.link_state.with({link.name, state}).set(link.state == state ? 1 : 0);
      }
      c.window_in_use.with({link.name}).set(link.window_in_use);
    }
  }
  if (m_sources.upstream) {
    const auto up = m_sources.upstream();
    for (const auto state : k_upstream_states) {
      c.upstream_state.with({state}).set(up.state == state ? 1 : 0);
    }
    c.upstream_in_flight.with({}).set(up.in_flight);
  }
  if (m_sources.store) {
    const auto stats = m_sources.store();
    c.store_commits.with({}).advance_to(stats.transactions);
    c.store_fsyncs.with({"commit"}).advance_to(stats.fsynced_transactions);
    c.store_fsyncs.with({"idle"}).advance_to(stats.idle_syncs);
    c.store_failed_commits.with({}).advance_to(stats.failed_commits);
  }
  if (m_sample) {
    for (const auto& [state, count] : m_sample->reports_by_state) {
      c.reports.with({state}).set(static_cast<double>(count));
    }
    for (const auto& [state, count] : m_sample->replies_waiting) {
      c.replies_waiting.with({state}).set(static_cast<double>(count));
    }
    const auto oldest = m_sample->oldest_unforwarded_ms;
    c.oldest_unforwarded_age.with({}).set(
        oldest ? std::max<double>(0, static_cast<double>(util::now_ms() - *oldest) / 1000.0) : 0);
    c.database_sample_age.with({}).set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - m_sampled_at).count());
  }
}

} // namespace laporsms::app

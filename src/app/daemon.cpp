#include <laporsms/app/control.hpp>
#include <laporsms/app/daemon.hpp>
#include <laporsms/app/metrics.hpp>
#include <laporsms/relay/forwarder.hpp>
#include <laporsms/relay/housekeeping.hpp>
#include <laporsms/relay/inbound.hpp>
#include <laporsms/relay/outbox.hpp>
#include <laporsms/relay/routes.hpp>
#include <laporsms/relay/status_poller.hpp>
#include <laporsms/smpp/session.hpp>
#include <laporsms/store/operator.hpp>
#include <laporsms/store/recovery.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/instance_lock.hpp>
#include <laporsms/util/log.hpp>

#include <systemd/sd-daemon.h>

#include <deque>
#include <memory>

namespace laporsms::app {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::shared_ptr<const relay::RuntimePolicy> make_policy(const Config& config) {
  return std::make_shared<const relay::RuntimePolicy>(relay::RuntimePolicy{intake_policy(config)});
}

smpp::SessionConfig to_session_config(const SmscConfig& c) {
  smpp::SessionConfig s;
  s.name = c.name;
  s.host = c.host;
  s.port = c.port;
  s.tls = c.tls;
  s.tls_verify = c.tls_verify;
  s.tls_ca_file = c.ca_file.string();
  s.system_id = c.system_id;
  s.password = c.password;
  s.system_type = c.system_type;
  s.layout = c.bind == SmscConfig::BindKind::transceiver ? smpp::BindLayout::transceiver
                                                         : smpp::BindLayout::receiver_transmitter;
  s.address_range = c.address_range;
  s.enquire_link_interval = c.enquire_link_interval;
  s.response_timeout = c.response_timeout;
  s.window = c.window;
  s.submit_rate = c.submit_rate;
  s.reconnect_min = c.reconnect_min;
  s.reconnect_max = c.reconnect_max;
  return s;
}

// Held before the database is opened: a second daemon on the same database
// would run its start-up recovery over the first one's work in flight.
util::InstanceLock lock_database(const std::filesystem::path& database) {
  auto lock = util::InstanceLock::acquire(util::InstanceLock::beside(database));
  if (!lock) {
    throw std::runtime_error(lock.error());
  }
  return std::move(*lock);
}

struct Link {
  SmscConfig config;
  std::unique_ptr<smpp::Session> session;
  std::unique_ptr<relay::OutboxSender> outbox;
};

// Counts events in the last minute, one bucket a second, for `laporctl status`.
class MinuteCounter {
public:
  void add(std::int64_t now_ms) {
    const auto second = now_ms / 1000;
    trim(second);
    if (m_buckets.empty() || m_buckets.back().first != second) {
      m_buckets.emplace_back(second, 0);
    }
    ++m_buckets.back().second;
  }
  std::uint64_t total(std::int64_t now_ms) {
    trim(now_ms / 1000);
    std::uint64_t sum = 0;
    for (const auto& [second, count] : m_buckets) {
      sum += count;
    }
    return sum;
  }

private:
  void trim(std::int64_t second) {
    while (!m_buckets.empty() && m_buckets.front().first <= second - 60) {
      m_buckets.pop_front();
    }
  }
  std::deque<std::pair<std::int64_t, std::uint64_t>> m_buckets;
};

class Daemon {
public:
  explicit Daemon(const Config& config)
      : m_config(config), m_lock(lock_database(config.store.path)), m_policy(make_policy(config)),
        m_store(store::StoreOptions{config.store.path,
                                    config.store.synchronous == StoreConfig::Synchronous::full
                                        ? store::Synchronous::full
                                        : store::Synchronous::normal,
                                    config.store.max_size_mb}),
        m_http(m_io.get_executor(),
               lapor::HttpClientOptions{config.upstream.timeout, config.upstream.concurrency,
                                        config.upstream.ca_file}),
        m_signals(m_io, SIGTERM, SIGINT), m_reload(m_io, SIGHUP), m_watchdog(m_io) {
    lapor::AdapterOptions adapter_options{config.upstream.url, config.upstream.token,
                                          config.upstream.status_url};
    m_adapter = config.upstream.adapter == UpstreamConfig::Adapter::lapor_xml
                    ? lapor::make_lapor_xml_adapter(adapter_options)
                    : lapor::make_rest_json_adapter(adapter_options);
    m_forwarder = std::make_unique<relay::Forwarder>(
        m_io.get_executor(), m_store, m_http, *m_adapter,
        relay::ForwarderOptions{config.upstream.concurrency, config.upstream.retry_min,
                                config.upstream.retry_max, config.upstream.give_up_after},
        [this] { return replies(); }, m_routes.reply_handover(),
        metrics::UpstreamMetrics(m_metrics));
    m_routes.set_forwarder(*m_forwarder);
    if (m_adapter->supports_status()) {
      m_poller = std::make_unique<relay::StatusPoller>(
          m_io.get_executor(), m_store, m_http, *m_adapter, config.upstream.poll_interval,
          config.upstream.concurrency, [this] { return replies(); },
          [this](const std::string& link) { m_routes.wake_outbox(link); },
          metrics::UpstreamMetrics(m_metrics));
    }
    m_inbound = std::make_unique<relay::InboundHandler>(
        m_store, [this] { return m_policy; },
        m_routes.intake_handover([this] { m_inbound_minute.add(util::now_ms()); }),
        metrics::IntakeMetrics(m_metrics));
    for (const auto& smsc : config.smsc) {
      auto link = std::make_unique<Link>();
      link->config = smsc;
      const auto coding = smsc.default_data_coding;
      const auto name = smsc.name;
      link->session = std::make_unique<smpp::Session>(
          m_io.get_executor(), to_session_config(smsc),
          [this, name, coding](smpp::ShortMessageFields message) {
            return m_inbound->handle(name, coding, std::move(message));
          },
          metrics::LinkMetrics(m_metrics, name));
      link->outbox = std::make_unique<relay::OutboxSender>(
          m_io.get_executor(), m_store, *link->session,
          relay::OutboxOptions{smsc.source_addr, smsc.source_addr_ton, smsc.source_addr_npi,
                               smsc.reply_max_age},
          [this, name] { return m_routes.down_links_falling_back_to(name); },
          metrics::LinkMetrics(m_metrics, name));
      m_links.push_back(std::move(link));
    }
    relay::HousekeepingOptions housekeeping;
    for (auto& link : m_links) {
      auto* outbox = link->outbox.get();
      const auto fallback = link->config.fallback;
      link->session->set_on_bound([outbox] { outbox->wake(); });
      link->session->set_on_down([this, fallback] {
        // Its replies may now leave through the fallback link.
        if (!fallback.empty()) {
          m_routes.wake_outbox(fallback);
        }
      });
      m_routes.add_link({link->config.name, link->config.fallback, link->session.get(), outbox});
      housekeeping.links.push_back(
          {link->config.name, link->config.unknown_resend_after, link->config.reply_max_age});
    }
    housekeeping.retention = {config.store.retention.count(), config.store.blank_text_after.count(),
                              500};
    m_housekeeping = std::make_unique<relay::Housekeeping>(
        m_io.get_executor(), m_store, [this] { return m_policy; }, std::move(housekeeping),
        relay::Housekeeping::Wakes{
            [this] {
              m_routes.wake_all_outboxes();
              m_routes.wake_forwarder();
            },
            [this](const std::string& link) { m_routes.wake_outbox(link); }});
    m_control = std::make_unique<ControlServer>(
        m_io.get_executor(), config.control.socket,
        [this](const json& request) { return handle_control(request); });
    start_metrics(config);
  }

  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  // The store's last tasks refer to the stages (forwarder, poller, outboxes):
  // they run before any of those is destroyed.
  ~Daemon() { m_store.stop(); }

  int run() {
    const auto recovered = m_store.execute_blocking(
        [](store::Connection& db) { return store::recover_on_startup(db, util::now_ms()); });
    if (recovered.jobs_requeued > 0 || recovered.replies_unknown > 0 ||
        recovered.replies_requeued > 0) {
      log::warn("recovery: work the last run left unfinished is queued again; replies in doubt "
                "are marked unknown (judged by their receipts, never resent blindly)",
                {{"jobs_requeued", recovered.jobs_requeued},
                 {"replies_unknown", recovered.replies_unknown},
                 {"replies_requeued", recovered.replies_requeued}});
    }
    auto ex = m_io.get_executor();
    for (auto& link : m_links) {
      asio::co_spawn(ex, link->session->run(), asio::detached);
      asio::co_spawn(ex, link->outbox->run(), asio::detached);
    }
    asio::co_spawn(ex, m_forwarder->run(), asio::detached);
    if (m_poller) {
      asio::co_spawn(ex, m_poller->run(), asio::detached);
    }
    m_housekeeping->start();
    asio::co_spawn(ex, m_control->run(), asio::detached);
    if (m_metrics_exporter) {
      asio::co_spawn(ex, m_metrics_exporter->run(), asio::detached);
    }
    m_signals.async_wait([this](boost::system::error_code ec, int signo) {
      if (!ec) {
        log::info("stopping; finishing work in flight",
                  {{"signal", signo}, {"grace_ms", m_config.daemon.shutdown_grace.count()}});
        asio::co_spawn(m_io, shutdown(), asio::detached);
      }
    });
    wait_for_reload();
    start_watchdog();
    sd_notify(0, "READY=1");
    log::info("laporsmsd running", {{"version", LAPORSMS_VERSION},
                                    {"links", m_links.size()},
                                    {"store", m_config.store.path.string()}});
    m_io.run();
    log::info("laporsmsd stopped", {{"version", LAPORSMS_VERSION}});
    return 0;
  }

private:
  // [metrics] listen: the Prometheus endpoint, reading the live state of the
  // links, the forwarder and the store at each scrape. Empty: none.
  void start_metrics(const Config& config) {
    if (config.metrics.listen.empty()) {
      return;
    }
    MetricsSources sources;
    sources.links = [this] {
      std::vector<MetricsSources::Link> links;
      for (const auto& link : m_links) {
        const auto snap = link->session->snapshot();
        links.push_back(
            {snap.name, std::string(smpp::link_state_name(snap.state)), snap.window_in_use});
      }
      return links;
    };
    sources.upstream = [this] {
      const auto up = m_forwarder->snapshot();
      return MetricsSources::Upstream{std::string(relay::upstream_state_name(up.state)),
                                      up.in_flight};
    };
    sources.store = [this] { return m_store.stats(); };
    m_metrics_exporter =
        std::make_unique<MetricsExporter>(m_io.get_executor(), m_metrics, config.metrics.listen,
                                          config.store.path, std::move(sources));
  }

  // The templates of the policy in force, sharing its lifetime: a task that
  // holds them keeps the whole snapshot alive across a reload.
  std::shared_ptr<const store::ReplyTemplates> replies() const {
    return {m_policy, &m_policy->intake.replies};
  }

  void wait_for_reload() {
    m_reload.async_wait([this](boost::system::error_code ec, int) {
      if (ec) {
        return;
      }
      reload();
      wait_for_reload();
    });
  }

  // SIGHUP: re-read the reply templates, keywords and rate limits. Anything
  // else in the file needs a restart; a broken file changes nothing.
  void reload() {
    auto fresh = check_config(m_config.source);
    if (!fresh.config) {
      // Every fault, as --check-config would print them: one edit fixes all.
      for (const auto& fault : fresh.faults) {
        log::error("reload: a fault in the configuration", {{"fault", fault.to_string()}});
      }
      log::error("reload: keeping the running configuration",
                 {{"faults", fresh.faults.size()}, {"config", m_config.source.string()}});
      return;
    }
    for (const auto& warning : fresh.warnings) {
      log::warn("reload: a warning about the configuration", {{"warning", warning.to_string()}});
    }
    // Only what SIGHUP promises changes; the rest runs as it started (the
    // links, the store, the API are not rebuilt), so a changed ref_prefix or
    // rahasia must not reach the intake's policy half-applied either.
    Config applied = m_config;
    applied.keywords = fresh.config->keywords;
    applied.limits = fresh.config->limits;
    applied.replies = fresh.config->replies;
    if (const auto kept = sections_needing_restart(applied, *fresh.config); !kept.empty()) {
      log::warn("reload: changed settings need a restart; they run as before until then",
                {{"sections", kept}});
    }
    m_policy = make_policy(applied);
    m_config = std::move(applied);
    log::info("reload: reply templates, keywords and limits re-read",
              {{"config", m_config.source.string()}});
  }

  // The sections of `fresh` that differ from what runs, comma-separated.
  static std::string sections_needing_restart(const Config& running, const Config& fresh) {
    std::string names;
    const auto note = [&names](bool same, std::string_view name) {
      if (!same) {
        names += names.empty() ? "" : ",";
        names += name;
      }
    };
    note(running.smsc == fresh.smsc, "smsc");
    note(running.store == fresh.store, "store");
    note(running.upstream == fresh.upstream, "upstream");
    note(running.reports == fresh.reports, "reports");
    note(running.control == fresh.control, "control");
    note(running.metrics == fresh.metrics, "metrics");
    note(running.daemon == fresh.daemon, "daemon");
    return names;
  }

  void start_watchdog() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) {
      return;
    }
    m_watchdog_interval = std::chrono::microseconds(usec / 2);
    asio::co_spawn(m_io, feed_watchdog(), asio::detached);
  }

  // WATCHDOG=1 goes out only once the store's writer has run a task queued
  // after the last one: a writer stuck in fsync (a disk that stopped
  // answering) stops the kicks as surely as a stuck io thread, and systemd
  // restarts the daemon. The task writes nothing, so it costs no fsync; a
  // task that fails (a locked or full database) still proves the writer
  // turns.
  awaitable<void> feed_watchdog() {
    for (;;) {
      try {
        const auto writer_turned = [](store::Connection&) { return true; };
        co_await m_store.execute(writer_turned, store::Durability::written);
      } catch (const std::exception&) {
        // The writer answered; what it answered does not matter here.
      }
      sd_notify(0, "WATCHDOG=1");
      m_watchdog.expires_after(m_watchdog_interval);
      boost::system::error_code ec;
      co_await m_watchdog.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        co_return; // cancelled at the end of shutdown
      }
    }
  }

  awaitable<void> shutdown() {
    sd_notify(0, "STOPPING=1");
    const auto grace = m_config.daemon.shutdown_grace;
    m_control->stop();
    m_housekeeping->stop();
    // Stop reading new SMS first: what arrives now is answered with a
    // temporary error and stays with the SMSC until the next start.
    for (auto& link : m_links) {
      link->session->refuse_inbound();
      link->outbox->stop();
    }
    if (m_poller) {
      m_poller->stop();
    }
    // One deadline for everything: links are unbound side by side, so three
    // links take no longer than one (systemd's stop timeout is one number).
    const auto deadline = std::chrono::steady_clock::now() + grace;
    const auto left = [deadline] {
      return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now()),
                      std::chrono::milliseconds(0));
    };
    co_await m_forwarder->stop(left());
    auto links_left = std::make_shared<std::size_t>(m_links.size());
    asio::steady_timer all_unbound(m_io, std::chrono::steady_clock::time_point::max());
    for (auto& link : m_links) {
      auto* session = link->session.get();
      asio::co_spawn(
          m_io,
          [session, links_left, &all_unbound, grace_left = left()]() -> awaitable<void> {
            co_await session->stop(grace_left);
            if (--*links_left == 0) {
              all_unbound.cancel();
            }
          },
          asio::detached);
    }
    while (*links_left > 0) {
      boost::system::error_code ec;
      co_await all_unbound.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    m_reload.cancel();
    m_watchdog.cancel();
    if (m_metrics_exporter) {
      m_metrics_exporter->stop(); // served until now: a scrape sees the shutdown's counts
    }
    // Give detached coroutines a moment to see the stop, then end the loop.
    asio::steady_timer settle(m_io);
    settle.expires_after(50ms);
    co_await settle.async_wait(use_awaitable);
    m_io.stop();
  }

  awaitable<json> handle_control(const json& request) {
    const auto cmd = request.value("cmd", std::string());
    if (cmd == "status") {
      co_return status_json();
    }
    if (cmd == "ping") {
      co_return json{{"ok", true}};
    }
    if (cmd == "retry") {
      co_return co_await control_retry(request);
    }
    if (cmd == "resend") {
      co_return co_await control_resend(request);
    }
    co_return json{{"ok", false}, {"error", "unknown command '" + cmd + "'"}};
  }

  awaitable<json> control_retry(const json& request) {
    const auto now = util::now_ms();
    if (request.value("failed", false)) {
      auto requeue = [now](store::Connection& db) { return store::retry_failed_reports(db, now); };
      const int n = co_await m_store.execute(std::move(requeue));
      m_routes.wake_forwarder();
      co_return json{
          {"ok", true}, {"requeued", n}, {"message", fmt::format("{} report(s) requeued", n)}};
    }
    const auto key = request.value("ref", std::string());
    auto retry = [key, now](store::Connection& db) {
      const auto id = store::find_report(db, key);
      if (!id) {
        return std::string("no report ") + key;
      }
      return store::retry_report(db, *id, now)
                 ? std::string()
                 : std::string("report ") + key + " is already forwarded or closed";
    };
    const auto outcome = co_await m_store.execute(std::move(retry));
    if (!outcome.empty()) {
      co_return json{{"ok", false}, {"error", outcome}};
    }
    m_forwarder->wake();
    log::info("control: an operator requeued a report for forwarding", {{"ref", key}});
    co_return json{{"ok", true}, {"message", key + " requeued for forwarding"}};
  }

  awaitable<json> control_resend(const json& request) {
    const auto key = request.value("ref", std::string());
    const auto now = util::now_ms();
    auto resend = [key, now](store::Connection& db) {
      const auto id = store::find_report(db, key);
      return id ? store::resend_last_reply(db, *id, now) : std::nullopt;
    };
    const auto queued = co_await m_store.execute(std::move(resend));
    if (!queued) {
      co_return json{{"ok", false}, {"error", "no report " + key + " with a reply to resend"}};
    }
    m_routes.wake_all_outboxes();
    log::info("control: an operator queued a report's last reply again", {{"ref", key}});
    co_return json{{"ok", true}, {"message", "reply for " + key + " queued again"}};
  }

  json status_json() {
    json links = json::array();
    for (const auto& link : m_links) {
      const auto snap = link->session->snapshot();
      links.push_back({{"name", snap.name},
                       {"state", smpp::link_state_name(snap.state)},
                       {"since", util::format_rfc3339_utc(snap.since_ms)},
                       {"bind", snap.bind},
                       {"window_in_use", snap.window_in_use},
                       {"last_error", snap.last_error ? json(*snap.last_error) : json(nullptr)},
                       {"reconnects", snap.reconnects},
                       {"mo_received", snap.mo_received},
                       {"mt_submitted", snap.mt_submitted}});
    }
    const auto up = m_forwarder->snapshot();
    const auto stats = m_store.stats();
    return json{{"ok", true},
                {"daemon", "running"},
                {"version", LAPORSMS_VERSION},
                {"links", links},
                {"upstream",
                 {{"state", relay::upstream_state_name(up.state)},
                  {"last_error", up.last_error ? json(*up.last_error) : json(nullptr)},
                  {"in_flight", up.in_flight},
                  {"delivered", up.delivered},
                  {"temporary_failures", up.temporary},
                  {"auth_errors", up.auth_errors},
                  {"rejected", up.rejected}}},
                {"throughput", {{"inbound_last_minute", m_inbound_minute.total(util::now_ms())}}},
                {"store",
                 {{"transactions", stats.transactions},
                  {"fsynced_transactions", stats.fsynced_transactions},
                  {"idle_syncs", stats.idle_syncs},
                  {"checkpoints", stats.checkpoints},
                  {"tasks", stats.tasks}}}};
  }

  Config m_config;
  util::InstanceLock m_lock;
  std::shared_ptr<const relay::RuntimePolicy> m_policy;
  asio::io_context m_io{1};
  store::Store m_store;
  // Counted into by every part below, so declared before them.
  metrics::Catalog m_metrics{LAPORSMS_VERSION};
  lapor::HttpClient m_http;
  std::unique_ptr<lapor::Adapter> m_adapter;
  std::unique_ptr<relay::Forwarder> m_forwarder;
  std::unique_ptr<relay::StatusPoller> m_poller; // only when the adapter reads status back
  std::unique_ptr<relay::InboundHandler> m_inbound;
  std::vector<std::unique_ptr<Link>> m_links;
  relay::Routes m_routes; // between the stages above
  std::unique_ptr<relay::Housekeeping> m_housekeeping;
  std::unique_ptr<ControlServer> m_control;
  std::unique_ptr<MetricsExporter> m_metrics_exporter; // reads the parts above
  asio::signal_set m_signals;
  asio::signal_set m_reload;
  asio::steady_timer m_watchdog;
  std::chrono::microseconds m_watchdog_interval{0};
  MinuteCounter m_inbound_minute;
};

} // namespace

int run_daemon(const Config& config) {
  Daemon daemon(config);
  return daemon.run();
}

} // namespace laporsms::app

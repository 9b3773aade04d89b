#include <laporsms/app/config.hpp>
#include <laporsms/cli/status.hpp>
#include <laporsms/util/clock.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

using namespace laporsms;
using nlohmann::json;

namespace {

constexpr std::int64_t k_now = 1795932300LL * 1000; // 2026-11-29T06:05:00Z
constexpr std::int64_t k_minute = 60 * 1000;

app::Config two_links() {
  app::Config config;
  app::SmscConfig tsel;
  tsel.name = "telkomsel";
  tsel.host = "smsc.telkomsel.example";
  tsel.system_id = "metro1708";
  app::SmscConfig xl;
  xl.name = "xl";
  xl.host = "smsc.xl.example";
  xl.system_id = "metro1708x";
  xl.bind = app::SmscConfig::BindKind::receiver_transmitter;
  config.smsc = {tsel, xl};
  return config;
}

json quiet_queues() {
  return json{{"upstream_pending", 0},         {"upstream_failed", 0}, {"outbound_pending", 0},
              {"oldest_unforwarded_age_s", 0}, {"inbound_today", 12},  {"held", 0},
              {"replies_unknown", 0}};
}

json link(const std::string& name, const std::string& state, std::int64_t since_ms,
          std::optional<std::string> last_error = std::nullopt) {
  return json{{"name", name},
              {"state", state},
              {"since", util::format_rfc3339_utc(since_ms)},
              {"bind", "transceiver"},
              {"window_in_use", 0},
              {"last_error", last_error ? json(*last_error) : json(nullptr)}};
}

// A daemon reply as the control socket sends it: both links bound, upstream ok.
json healthy_reply() {
  return json{{"ok", true},
              {"daemon", "running"},
              {"version", "0.1.0"},
              {"links", json::array({link("telkomsel", "bound", k_now - 3600 * 1000),
                                     link("xl", "bound", k_now - 7200 * 1000)})},
              {"upstream", {{"state", "ok"}, {"last_error", nullptr}}},
              {"throughput", {{"inbound_last_minute", 3}}}};
}

json status_with(const json& reply, const json& queues = quiet_queues()) {
  return cli::build_status(two_links(), reply, queues, k_now);
}

} // namespace

TEST_SUITE("cli::status") {
  TEST_CASE("build_status without a daemon lists every configured link as down") {
    const auto status = cli::build_status(two_links(), std::nullopt, quiet_queues(), k_now);
    CHECK(status["daemon"] == "not running");
    REQUIRE(status["links"].size() == 2);
    CHECK(status["links"][0]["name"] == "telkomsel");
    CHECK(status["links"][0]["state"] == "down");
    CHECK(status["links"][0]["since"].is_null());
    CHECK(status["links"][0]["bind"] == "transceiver");
    CHECK(status["links"][0]["window_in_use"] == 0);
    CHECK(status["links"][0]["last_error"] == "daemon not running");
    CHECK(status["links"][1]["name"] == "xl");
    CHECK(status["links"][1]["bind"] == "receiver+transmitter");
    CHECK(status["upstream"]["state"] == "ok");
    CHECK(status["upstream"]["last_error"].is_null());
    CHECK(status["queues"] == quiet_queues());
    CHECK(status["checked_at"] == "2026-11-29T06:05:00Z");
  }

  TEST_CASE("build_status with a daemon reply takes the live links and upstream") {
    auto reply = healthy_reply();
    reply["links"][1] = link("xl", "binding", k_now - k_minute, "connect refused");
    reply["upstream"] = {{"state", "retrying"}, {"last_error", "HTTP 503"}};
    const auto status = status_with(reply);
    CHECK(status["daemon"] == "running");
    CHECK(status["links"] == reply["links"]);
    CHECK(status["upstream"]["state"] == "retrying");
    CHECK(status["upstream"]["last_error"] == "HTTP 503");
    CHECK(status["throughput"]["inbound_last_minute"] == 3);
    CHECK(status["version"] == "0.1.0");
    CHECK(status["queues"] == quiet_queues());
  }

  TEST_CASE("build_status fills in what a terse daemon reply leaves out") {
    const auto status = status_with(json{{"ok", true}});
    CHECK(status["daemon"] == "running");
    CHECK(status["links"] == json::array());
    CHECK(status["upstream"]["state"] == "ok");
  }

  TEST_CASE("healthy: everything bound, upstream ok, nothing failed") {
    CHECK(cli::health_exit_code(status_with(healthy_reply()), k_now) == 0);
  }

  TEST_CASE("a link down for a minute is degraded") {
    auto reply = healthy_reply();
    reply["links"][0] = link("telkomsel", "down", k_now - k_minute, "connection refused");
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 1);
    reply["links"][0]["state"] = "binding";
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 1);
  }

  TEST_CASE("a link down for six minutes is critical") {
    auto reply = healthy_reply();
    reply["links"][1] = link("xl", "down", k_now - 6 * k_minute, "bind refused");
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 2);
  }

  TEST_CASE("five minutes down is where degraded ends") {
    auto reply = healthy_reply();
    reply["links"][1] = link("xl", "down", k_now - 5 * k_minute + 1000);
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 1);
    reply["links"][1] = link("xl", "down", k_now - 5 * k_minute);
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 2);
  }

  TEST_CASE("a link down since an unknown time is critical") {
    auto reply = healthy_reply();
    reply["links"][0]["state"] = "down";
    reply["links"][0]["since"] = nullptr;
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 2);
  }

  TEST_CASE("upstream retrying is degraded") {
    auto reply = healthy_reply();
    reply["upstream"] = {{"state", "retrying"}, {"last_error", "timeout"}};
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 1);
    reply["upstream"]["state"] = "circuit_open";
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 1);
  }

  TEST_CASE("upstream auth_error is critical") {
    auto reply = healthy_reply();
    reply["upstream"] = {{"state", "auth_error"}, {"last_error", "HTTP 401"}};
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 2);
  }

  TEST_CASE("failed reports are critical") {
    auto queues = quiet_queues();
    queues["upstream_failed"] = 1;
    CHECK(cli::health_exit_code(status_with(healthy_reply(), queues), k_now) == 2);
  }

  TEST_CASE("pending work alone is healthy") {
    auto queues = quiet_queues();
    queues["upstream_pending"] = 4;
    queues["outbound_pending"] = 9;
    CHECK(cli::health_exit_code(status_with(healthy_reply(), queues), k_now) == 0);
  }

  TEST_CASE("a daemon that is not running is critical") {
    const auto status = cli::build_status(two_links(), std::nullopt, quiet_queues(), k_now);
    CHECK(cli::health_exit_code(status, k_now) == 2);
  }

  TEST_CASE("the worst finding wins") {
    auto reply = healthy_reply();
    reply["links"][0] = link("telkomsel", "down", k_now - k_minute);
    reply["upstream"] = {{"state", "auth_error"}, {"last_error", "HTTP 403"}};
    CHECK(cli::health_exit_code(status_with(reply), k_now) == 2);
  }

  TEST_CASE("render_status_text mentions each link with its state and last error") {
    auto reply = healthy_reply();
    reply["links"][1] = link("xl", "down", k_now - k_minute, "connect to smsc.xl.example failed");
    reply["upstream"] = {{"state", "retrying"}, {"last_error", "HTTP 503"}};
    auto queues = quiet_queues();
    queues["upstream_pending"] = 7;
    const auto text = cli::render_status_text(status_with(reply, queues));
    CHECK(text.find("running") != std::string::npos);
    // One row per link; its time since is local wall time.
    const auto since =
        util::format_rfc3339(k_now - k_minute, util::local_utc_offset_minutes(k_now - k_minute));
    const auto local = since.substr(0, 10) + " " + since.substr(11, 8);
    CHECK(text.find("\ntelkomsel  bound") != std::string::npos);
    CHECK(text.find("\nxl         down   " + local) != std::string::npos);
    CHECK(text.find("connect to smsc.xl.example failed") != std::string::npos);
    CHECK(text.find("retrying") != std::string::npos);
    CHECK(text.find("HTTP 503") != std::string::npos);
    CHECK(text.find("upstream pending 7") != std::string::npos);
    CHECK(text.find("inbound today 12") != std::string::npos);
  }

  TEST_CASE("render_status_text without a daemon still lists the configured links") {
    const auto text = cli::render_status_text(
        cli::build_status(two_links(), std::nullopt, quiet_queues(), k_now));
    CHECK(text.find("not running") != std::string::npos);
    CHECK(text.find("\ntelkomsel  down   -      transceiver") != std::string::npos);
    CHECK(text.find("\nxl         down   -      receiver+transmitter") != std::string::npos);
    CHECK(text.find("receiver+transmitter") != std::string::npos);
    CHECK(text.find("daemon not running") != std::string::npos);
  }
}

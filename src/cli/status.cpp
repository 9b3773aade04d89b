#include <laporsms/cli/status.hpp>
#include <laporsms/util/clock.hpp>

#include <fmt/format.h>

#include <ctime>

namespace laporsms::cli {
namespace {

using nlohmann::json;

// Parses the "YYYY-MM-DDTHH:MM:SSZ" that the daemon writes.
std::optional<std::int64_t> parse_utc(const std::string& text) {
  std::tm tm{};
  if (text.size() < 20 || strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(timegm(&tm)) * 1000;
}

} // namespace

json build_status(const app::Config& config, const std::optional<json>& daemon_reply,
                  const json& queues, std::int64_t now_ms) {
  json status;
  status["daemon"] = daemon_reply ? "running" : "not running";
  if (daemon_reply) {
    status["links"] = daemon_reply->value("links", json::array());
    status["upstream"] =
        daemon_reply->value("upstream", json{{"state", "ok"}, {"last_error", nullptr}});
    status["throughput"] = daemon_reply->value("throughput", json::object());
    // The writer's commits and the tasks they carried since start: tasks per
    // commit is how well group commit works under the current load.
    status["store"] = daemon_reply->value("store", json::object());
    status["version"] = daemon_reply->value("version", "");
  } else {
    json links = json::array();
    for (const auto& smsc : config.smsc) {
      links.push_back({{"name", smsc.name},
                       {"state", "down"},
                       {"since", nullptr},
                       {"bind", std::string(app::to_string(smsc.bind))},
                       {"window_in_use", 0},
                       {"last_error", "daemon not running"}});
    }
    status["links"] = links;
    status["upstream"] = {{"state", "ok"}, {"last_error", nullptr}};
  }
  status["queues"] = queues;
  status["checked_at"] = util::format_rfc3339_utc(now_ms);
  return status;
}

int health_exit_code(const json& status, std::int64_t now_ms) {
  if (status.value("daemon", "") != "running") {
    return 2;
  }
  int code = 0;
  for (const auto& link : status.value("links", json::array())) {
    if (link.value("state", "down") == "bound") {
      continue;
    }
    const auto since = link.contains("since") && link["since"].is_string()
                           ? parse_utc(link["since"].get<std::string>())
                           : std::nullopt;
    if (!since || now_ms - *since >= 5 * 60 * 1000) {
      return 2;
    }
    code = 1;
  }
  const auto& queues = status.value("queues", json::object());
  if (queues.value("upstream_failed", 0) > 0) {
    return 2;
  }
  const auto upstream = status.value("upstream", json::object()).value("state", "ok");
  if (upstream != "ok") {
    code = std::max(code, upstream == "auth_error" ? 2 : 1);
  }
  return code;
}

std::string render_status_text(const json& status) {
  std::string out;
  out += fmt::format("daemon:    {}\n", status.value("daemon", "?"));
  for (const auto& link : status.value("links", json::array())) {
    const auto since = link.contains("since") && link["since"].is_string()
                           ? link["since"].get<std::string>()
                           : std::string("-");
    out += fmt::format("link {}: {} since {} ({}, window in use {})", link.value("name", "?"),
                       link.value("state", "?"), since, link.value("bind", "?"),
                       link.value("window_in_use", 0));
    if (link.contains("last_error") && link["last_error"].is_string()) {
      out += fmt::format(", last error: {}", link["last_error"].get<std::string>());
    }
    out += "\n";
  }
  const auto& up = status.value("upstream", json::object());
  out += fmt::format("upstream:  {}", up.value("state", "?"));
  if (up.contains("last_error") && up["last_error"].is_string()) {
    out += fmt::format(" (last error: {})", up["last_error"].get<std::string>());
  }
  out += "\n";
  const auto& q = status.value("queues", json::object());
  out += fmt::format("queues:    inbound today {}, upstream pending {}, upstream failed {}, "
                     "replies pending {}, oldest unforwarded {} s, held {}, replies in doubt {}\n",
                     q.value("inbound_today", 0), q.value("upstream_pending", 0),
                     q.value("upstream_failed", 0), q.value("outbound_pending", 0),
                     q.value("oldest_unforwarded_age_s", 0), q.value("held", 0),
                     q.value("replies_unknown", 0));
  if (status.contains("throughput")) {
    out +=
        fmt::format("last min:  {} SMS in\n", status["throughput"].value("inbound_last_minute", 0));
  }
  return out;
}

} // namespace laporsms::cli

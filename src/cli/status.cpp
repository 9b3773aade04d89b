#include <laporsms/cli/render.hpp>
#include <laporsms/cli/status.hpp>
#include <laporsms/cli/text.hpp>
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
  constexpr int k_width = k_terminal_columns;
  const auto text_of = [](const json& doc, const char* key) {
    return doc.contains(key) && doc[key].is_string() ? doc[key].get<std::string>() : std::string();
  };
  std::string out;
  std::string daemon = status.value("daemon", "?");
  if (!text_of(status, "version").empty()) {
    daemon += " (laporsmsd " + text_of(status, "version") + ")";
  }
  out += wrap_block(daemon, "daemon:", 11, k_width);
  Table links;
  links.add_column("LINK", 6);
  links.add_column("STATE", 7);
  links.add_column("SINCE", 19);
  links.add_column("BIND", 11);
  links.add_column("WINDOW", 6, true);
  bool any_link = false;
  for (const auto& link : status.value("links", json::array())) {
    any_link = true;
    std::string since = "-";
    if (const auto at = parse_utc(text_of(link, "since"))) {
      since = short_time(util::format_rfc3339(*at, util::local_utc_offset_minutes(*at)));
    }
    std::vector<std::string> under;
    if (!text_of(link, "last_error").empty()) {
      under = wrap("last error: " + text_of(link, "last_error"), k_width - 2, 3);
    }
    links.add_row({link.value("name", "?"), link.value("state", "?"), since,
                   link.value("bind", "?"), std::to_string(link.value("window_in_use", 0))},
                  std::move(under));
  }
  if (any_link) {
    out += links.render(k_width);
  }
  const auto& up = status.value("upstream", json::object());
  out += wrap_block(up.value("state", "?"), "upstream:", 11, k_width);
  if (!text_of(up, "last_error").empty()) {
    out += wrap_block("last error: " + text_of(up, "last_error"), "", 11, k_width, 3);
  }
  const auto& q = status.value("queues", json::object());
  if (!text_of(q, "error").empty()) {
    out += wrap_block(text_of(q, "error"), "queues:", 11, k_width, 3);
  } else {
    out += wrap_block(fmt::format("inbound today {}, upstream pending {}, upstream failed {}, "
                                  "held {}",
                                  q.value("inbound_today", 0), q.value("upstream_pending", 0),
                                  q.value("upstream_failed", 0), q.value("held", 0)),
                      "queues:", 11, k_width);
    out +=
        wrap_block(fmt::format("replies pending {}, replies in doubt {}, oldest unforwarded {} s",
                               q.value("outbound_pending", 0), q.value("replies_unknown", 0),
                               q.value("oldest_unforwarded_age_s", 0)),
                   "", 11, k_width);
  }
  if (status.contains("throughput")) {
    out +=
        wrap_block(fmt::format("{} SMS in", status["throughput"].value("inbound_last_minute", 0)),
                   "last min:", 11, k_width);
  }
  return out;
}

} // namespace laporsms::cli

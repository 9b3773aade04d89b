// `laporctl status`: the document of interfaces.md §1, how healthy it says
// the gateway is, and its text form for people.
#pragma once

#include <laporsms/app/config.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace laporsms::cli {

// Joins the daemon's live answer (nullopt when it is not running) with the
// queue depths read from the database.
nlohmann::json build_status(const app::Config& config,
                            const std::optional<nlohmann::json>& daemon_reply,
                            const nlohmann::json& queues, std::int64_t now_ms);

// 0 healthy; 1 degraded (a link down under 5 minutes, upstream retrying);
// 2 critical (a link down longer, failed reports, daemon not running).
int health_exit_code(const nlohmann::json& status, std::int64_t now_ms);

std::string render_status_text(const nlohmann::json& status);

} // namespace laporsms::cli

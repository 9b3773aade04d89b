// laporctl's text output for people, rendered from the very JSON documents
// that --json prints (interfaces.md §1); every line fits 80 columns.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace laporsms::cli {

// "2026-11-29T13:05:07+07:00" as "2026-11-29 13:05:07" (the local wall time
// it names); anything else as it is.
std::string short_time(std::string_view rfc3339);

// `reports`: one row per report, its text wrapped under the row (3 lines at most).
std::string render_reports_text(const nlohmann::json& reports);

// `report REF`: the life of the report: what came in, the text, each attempt
// upstream, the tracking id, the status history, each reply and its receipt.
std::string render_report_text(const nlohmann::json& report);

// `messages`: one row per SMS, its text (and why a reply failed) under it.
std::string render_messages_text(const nlohmann::json& messages);

// `backup FILE`, `check [FILE]`, and the daemon's answer to `retry`/`resend`.
std::string render_backup_text(const nlohmann::json& backup);
std::string render_check_text(const nlohmann::json& check);
std::string render_control_text(const nlohmann::json& reply);

} // namespace laporsms::cli

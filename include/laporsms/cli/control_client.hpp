// laporctl's side of the control socket: one request line, one reply line.
#pragma once

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include <chrono>
#include <filesystem>

namespace laporsms::cli {

// Sends `request` to the daemon at `socket_path` and returns its reply, or
// why there is none (not running, no permission, timed out).
tl::expected<nlohmann::json, std::string> ask_daemon(const std::filesystem::path& socket_path,
                                                     const nlohmann::json& request,
                                                     std::chrono::milliseconds timeout);

} // namespace laporsms::cli

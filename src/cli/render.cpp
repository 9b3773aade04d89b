#include <laporsms/cli/render.hpp>
#include <laporsms/cli/text.hpp>

#include <fmt/format.h>

#include <ctime>
#include <optional>

namespace laporsms::cli {
namespace {

using nlohmann::json;

constexpr int k_width = k_terminal_columns;

std::string text_of(const json& doc, const char* key, const char* fallback = "") {
  if (!doc.is_object() || !doc.contains(key) || doc[key].is_null()) {
    return fallback;
  }
  const auto& value = doc[key];
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Unix ms of an RFC 3339 time with a Z or ±HH:MM offset; nullopt otherwise.
std::optional<std::int64_t> parse_rfc3339(std::string_view text) {
  if (text.size() < 20) {
    return std::nullopt;
  }
  std::tm tm{};
  const std::string head(text.substr(0, 19));
  const char* end = strptime(head.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  std::int64_t offset_s = 0;
  const auto zone = text.substr(19);
  if (zone != "Z") {
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
      return std::nullopt;
    }
    const int hours = (zone[1] - '0') * 10 + (zone[2] - '0');
    const int minutes = (zone[4] - '0') * 10 + (zone[5] - '0');
    offset_s = (hours * 60 + minutes) * 60 * (zone[0] == '-' ? -1 : 1);
  }
  return (static_cast<std::int64_t>(timegm(&tm)) - offset_s) * 1000;
}

std::optional<double> seconds_between(const std::string& from, const std::string& to) {
  const auto a = parse_rfc3339(from);
  const auto b = parse_rfc3339(to);
  if (!a || !b) {
    return std::nullopt;
  }
  return static_cast<double>(*b - *a) / 1000.0;
}

// "+07:00" of an RFC 3339 time, "UTC" for Z, "" when it has none.
std::string offset_of(std::string_view rfc3339) {
  if (rfc3339.size() == 25) {
    return std::string(rfc3339.substr(19));
  }
  if (rfc3339.size() == 20 && rfc3339.back() == 'Z') {
    return "UTC";
  }
  return {};
}

// The JSON's times are whole seconds: a span under one is "< 1 s", not "0 ms".
std::string span_text(double seconds) {
  return seconds < 1 ? std::string("< 1 s") : human_duration(seconds);
}

std::string line(std::string_view text) {
  return truncate(text, k_width) + "\n";
}

std::string section(std::string_view title) {
  return "\n" + line(title);
}

} // namespace

std::string short_time(std::string_view rfc3339) {
  if (rfc3339.size() >= 19 && rfc3339[10] == 'T') {
    return std::string(rfc3339.substr(0, 10)) + " " + std::string(rfc3339.substr(11, 8));
  }
  return std::string(rfc3339);
}

std::string render_reports_text(const json& reports) {
  if (reports.empty()) {
    return "no reports\n";
  }
  Table table;
  table.add_column("REF", 7);
  table.add_column("TRACKING", 6);
  table.add_column("STATE", 10);
  table.add_column("SENDER", 12);
  table.add_column("RECEIVED", 16);
  table.add_column("LINK", 6);
  for (const auto& r : reports) {
    const auto tracking = r["tracking_id"].is_string() ? "#" + text_of(r, "tracking_id") : "-";
    const auto received = short_time(text_of(r, "received_at")).substr(0, 16);
    auto under = wrap(text_of(r, "text"), k_width - 2, 3);
    if (r["status"].is_string()) {
      under.insert(under.begin(), "status: " + text_of(r, "status"));
    }
    table.add_row({text_of(r, "ref"), tracking, text_of(r, "state"), text_of(r, "msisdn"), received,
                   text_of(r, "link")},
                  std::move(under));
  }
  return table.render(k_width);
}

std::string render_report_text(const json& r) {
  std::string out;
  std::string head = "Report " + text_of(r, "ref");
  if (r["tracking_id"].is_string()) {
    head += ", tracking id #" + text_of(r, "tracking_id");
  }
  head += ": " + text_of(r, "state");
  if (r["status"].is_string()) {
    head += " (status " + text_of(r, "status") + ")";
  }
  out += wrap_block(head, "", 0);
  const auto received_at = text_of(r, "received_at");
  const auto offset = offset_of(received_at);
  out += wrap_block(fmt::format("from {} via {}", text_of(r, "msisdn"), text_of(r, "link")), "", 0);
  out += wrap_block(fmt::format("received {}{}", short_time(received_at),
                                offset.empty() ? "" : " (" + offset + ")"),
                    "", 0);

  out += section("Text");
  out += wrap_block(text_of(r, "text"), "", 2);

  const auto& inbound = r.value("inbound", json::array());
  out += section(fmt::format("Inbound SMS ({})", inbound.size()));
  for (const auto& in : inbound) {
    out += line(fmt::format("  {}  {}  from {}  data coding {}", short_time(text_of(in, "at")),
                            truncate(text_of(in, "link"), 16), text_of(in, "source_addr"),
                            text_of(in, "data_coding")));
    out += wrap_block(text_of(in, "text"), "", 4, k_width, 2);
  }

  const auto& attempts = r.value("attempts", json::array());
  out += section(
      fmt::format("Upstream ({} attempt{})", attempts.size(), attempts.size() == 1 ? "" : "s"));
  for (const auto& a : attempts) {
    const auto took = seconds_between(text_of(a, "started_at"), text_of(a, "finished_at"));
    const auto outcome = text_of(a, "outcome");
    out += line(fmt::format("  {}  {:>8}  {}", short_time(text_of(a, "started_at")),
                            took ? span_text(*took) : "?", outcome));
    if (outcome == "delivered" && r["tracking_id"].is_string()) {
      std::string what = "tracking id #" + text_of(r, "tracking_id");
      if (const auto after = seconds_between(received_at, text_of(a, "finished_at"))) {
        what += ", " + span_text(*after) + " after the SMS";
      }
      out += wrap_block(what, "", 4, k_width, 3);
    }
    if (a["error"].is_string()) {
      out += wrap_block(text_of(a, "error"), "    why: ", 9, k_width, 4);
    }
  }
  if (r["upstream_job"].is_object()) {
    const auto& job = r["upstream_job"];
    std::string state =
        "  job: " + text_of(job, "state") + ", " + text_of(job, "attempts") + " attempt(s)";
    if (text_of(job, "state") == "pending") {
      state += ", next at " + short_time(text_of(job, "next_attempt_at"));
    }
    out += line(state);
  }

  const auto& history = r.value("status_history", json::array());
  out += section(fmt::format("Status history ({})", history.size()));
  for (const auto& h : history) {
    out += wrap_block(text_of(h, "status"), "  " + short_time(text_of(h, "at")) + "  ", 23, k_width,
                      2);
    if (h["note"].is_string()) {
      out += wrap_block(text_of(h, "note"), "", 23, k_width, 3);
    }
  }

  const auto& replies = r.value("replies", json::array());
  out += section(fmt::format("Replies ({})", replies.size()));
  for (const auto& p : replies) {
    const auto state = text_of(p, "state");
    std::string receipt = state;
    if (state == "delivered" || state == "undeliverable" || state == "expired") {
      receipt += " " + short_time(text_of(p, "updated_at"));
    }
    out += line(fmt::format("  {}  {:<14}  {}", short_time(text_of(p, "at")),
                            truncate(text_of(p, "kind"), 14), receipt));
    out += wrap_block(text_of(p, "text"), "", 4, k_width, 2);
    if (p["last_error"].is_string()) {
      out += wrap_block(text_of(p, "last_error"), "    why: ", 9, k_width, 3);
    }
  }
  return out;
}

std::string render_messages_text(const json& messages) {
  if (messages.empty()) {
    return "no messages\n";
  }
  Table table;
  table.add_column("AT", 19);
  table.add_column("DIR", 3);
  table.add_column("LINK", 6);
  table.add_column("NUMBER", 12);
  table.add_column("STATE", 13);
  for (const auto& m : messages) {
    auto under = wrap(text_of(m, "text"), k_width - 2, 2);
    const auto state = text_of(m, "state");
    if (m.contains("error") && m["error"].is_string() &&
        (state == "unknown" || state == "expired" || state == "undeliverable")) {
      // Under the text, two further in: "    why: ...".
      const auto why = wrap_block(text_of(m, "error"), "  why: ", 7, k_width - 2, 2);
      for (std::size_t at = 0; at < why.size();) {
        const auto end = why.find('\n', at);
        under.push_back(why.substr(at, end - at));
        at = end + 1;
      }
    }
    table.add_row({short_time(text_of(m, "at")), text_of(m, "direction"), text_of(m, "link"),
                   text_of(m, "msisdn"), state},
                  std::move(under));
  }
  return table.render(k_width);
}

std::string render_backup_text(const json& b) {
  return wrap_block(
      fmt::format("backup written: {} ({} reports, {:.1f} MiB, {:.2f} s)", text_of(b, "file"),
                  b.value("reports", 0),
                  static_cast<double>(b.value("bytes", std::int64_t{0})) / (1024.0 * 1024.0),
                  b.value("seconds", 0.0)),
      "", 0);
}

std::string render_check_text(const json& c) {
  std::string out;
  if (c.value("sound", false)) {
    out += wrap_block(fmt::format("{}: sound (integrity and foreign keys ok, schema version {}, "
                                  "{} reports, {} pages)",
                                  text_of(c, "file"), c.value("schema_version", 0),
                                  c.value("reports", 0), c.value("pages", 0)),
                      "", 0);
    return out;
  }
  const auto& problems = c.value("problems", json::array());
  out += wrap_block(
      fmt::format("{}: NOT sound; {} problem(s):", text_of(c, "file"), problems.size()), "", 0);
  for (const auto& p : problems) {
    out += wrap_block(p.is_string() ? p.get<std::string>() : p.dump(), "  ", 4);
  }
  out += wrap_block("Restore the newest backup that `laporctl check` finds sound (README, "
                    "\"Backups\").",
                    "", 0);
  return out;
}

std::string render_control_text(const json& reply) {
  const bool ok = reply.value("ok", false);
  return wrap_block(text_of(reply, "message", ok ? "ok" : "failed"), "", 0);
}

} // namespace laporsms::cli

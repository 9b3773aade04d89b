// `laporctl stats --html FILE`: one page to project at the monthly meeting.
// Self-contained: inline CSS, the chart as inline SVG, no script, no font,
// image or style from the network; every text from the database is escaped.
#include <laporsms/cli/stats.hpp>
#include <laporsms/cli/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace laporsms::cli {
namespace {

using nlohmann::json;

std::string escape(std::string_view text) {
  std::string out;
  for (const char c : one_line(text)) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

std::string grouped(std::int64_t n) {
  const auto digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  if (n < 0) {
    out.push_back('-');
  }
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out.push_back(',');
    }
    out.push_back(digits[i]);
  }
  return out;
}

std::string seconds_html(const json& value) {
  return value.is_number() ? escape(human_duration(value.get<double>())) : "&ndash;";
}

// A step of 1, 2 or 5 times a power of ten giving about five grid lines.
std::int64_t nice_step(std::int64_t max) {
  if (max <= 5) {
    return 1;
  }
  const double raw = static_cast<double>(max) / 5.0;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= raw) {
      return static_cast<std::int64_t>(m * power);
    }
  }
  return static_cast<std::int64_t>(10 * power);
}

struct Layer {
  const char* css;
  const char* legend;
  const char* color;
};

// Bottom to top. "forwarded" in the totals counts closed reports too; the
// chart's layers do not overlap: forwarded here is forwarded and still open.
constexpr std::array<Layer, 5> k_layers = {{{"closed", "closed", "#1b7837"},
                                            {"forwarded", "forwarded, open", "#2166ac"},
                                            {"waiting", "waiting", "#9e9e9e"},
                                            {"held", "held", "#e08214"},
                                            {"failed", "failed", "#c51b1b"}}};

std::int64_t layer_count(const json& p, std::string_view layer) {
  if (layer == "forwarded") {
    return std::max<std::int64_t>(0, p.value("forwarded", std::int64_t{0}) -
                                         p.value("closed", std::int64_t{0}));
  }
  return p.value(std::string(layer), std::int64_t{0});
}

std::string chart(const json& stats) {
  const auto& periods = stats["periods"];
  const std::size_t n = std::max<std::size_t>(periods.size(), 1);
  constexpr int k_w = 1200;
  constexpr int k_h = 440;
  constexpr int k_left = 70;
  constexpr int k_right = 20;
  constexpr int k_top = 20;
  constexpr int k_bottom = 60;
  const double plot_w = k_w - k_left - k_right;
  const double plot_h = k_h - k_top - k_bottom;
  std::int64_t max = 0;
  for (const auto& p : periods) {
    max = std::max(max, p.value("received", std::int64_t{0}));
  }
  const auto step = nice_step(std::max<std::int64_t>(max, 1));
  const auto top = std::max<std::int64_t>(step, (max + step - 1) / step * step);
  const auto y = [&](double v) { return k_top + plot_h - plot_h * v / static_cast<double>(top); };

  std::string svg = fmt::format("<svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\" "
                                "aria-label=\"Reports per {} by state\">\n",
                                k_w, k_h, escape(stats.value("by", "day")));
  for (std::int64_t v = 0; v <= top; v += step) {
    svg += fmt::format("<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>"
                       "<text class=\"tick\" x=\"{}\" y=\"{:.1f}\">{}</text>\n",
                       k_left, k_w - k_right, y(static_cast<double>(v)), y(static_cast<double>(v)),
                       k_left - 8, y(static_cast<double>(v)) + 6, grouped(v));
  }
  const double slot = plot_w / static_cast<double>(n);
  const double bar = std::max(1.0, slot * 0.78);
  // At most about 31 labels under the bars.
  const std::size_t every = (periods.size() + 30) / 31;
  for (std::size_t i = 0; i < periods.size(); ++i) {
    const auto& p = periods[i];
    const auto label = p.value("label", "");
    const double x = k_left + slot * static_cast<double>(i) + (slot - bar) / 2;
    svg += fmt::format("<g class=\"period\" data-label=\"{}\" data-received=\"{}\">"
                       "<title>{}: {} received, {} forwarded, {} closed, {} failed</title>",
                       escape(label), p.value("received", 0), escape(label), p.value("received", 0),
                       p.value("forwarded", 0), p.value("closed", 0), p.value("failed", 0));
    double stacked = 0;
    for (const auto& layer : k_layers) {
      const auto count = layer_count(p, layer.css);
      if (count <= 0) {
        continue;
      }
      const double y1 = y(stacked + static_cast<double>(count));
      const double y0 = y(stacked);
      svg += fmt::format("<rect class=\"bar {}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
                         "height=\"{:.1f}\" fill=\"{}\"/>",
                         layer.css, x, y1, bar, y0 - y1, layer.color);
      stacked += static_cast<double>(count);
    }
    svg += "</g>\n";
    if (i % every == 0) {
      // Days by their day of the month; weeks and months by their label.
      std::string shown = label;
      if (stats.value("by", "day") == "day" && shown.size() == 10) {
        shown = shown.substr(8);
        if (shown.front() == '0') {
          shown.erase(0, 1);
        }
      }
      svg += fmt::format("<text class=\"xlabel\" x=\"{:.1f}\" y=\"{}\">{}</text>\n", x + bar / 2,
                         k_h - k_bottom + 26, escape(shown));
    }
  }
  svg += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>\n",
                     k_left, k_w - k_right, y(0), y(0));
  svg += "</svg>\n";
  return svg;
}

} // namespace

std::string render_stats_html(const json& stats) {
  const auto& zone = stats["time_zone"];
  const auto& periods = stats["periods"];
  const auto first = periods.empty() ? std::string() : periods.front().value("start", "");
  const auto last = periods.empty() ? std::string() : periods.back().value("label", "");
  const auto zone_text = fmt::format("{} ({}, UTC{})", zone.value("name", ""),
                                     zone.value("abbreviation", ""), zone.value("utc_offset", ""));
  const auto& t = stats["totals"];
  const auto& timing = stats["time_to_tracking_s"];
  const auto& replies = stats["replies"];
  const auto by = stats.value("by", "day");

  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += fmt::format("<title>SMS 1708 reports {} &ndash; {}</title>\n", escape(first),
                      escape(stats.value("until", "")));
  html += R"css(<style>
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; margin: 28px 40px;
       color: #1a1a1a; background: #ffffff; font-size: 20px; }
h1 { font-size: 36px; margin: 0 0 4px 0; }
h2 { font-size: 26px; margin: 28px 0 10px 0; }
.sub { color: #444; font-size: 20px; margin-bottom: 20px; }
.tiles { display: flex; flex-wrap: wrap; gap: 14px; }
.tile { border: 2px solid #d0d0d0; border-radius: 10px; padding: 10px 18px; min-width: 150px; }
.tile .value { font-size: 38px; font-weight: bold; }
.tile .name { font-size: 18px; color: #444; }
.chart { width: 100%; height: auto; max-height: 60vh; }
.chart .grid { stroke: #e0e0e0; stroke-width: 1; }
.chart .axis { stroke: #333; stroke-width: 2; }
.chart .tick { font-size: 18px; text-anchor: end; fill: #333; }
.chart .xlabel { font-size: 18px; text-anchor: middle; fill: #333; }
.legend { display: flex; flex-wrap: wrap; gap: 22px; font-size: 20px; margin: 6px 0 0 70px; }
.swatch { display: inline-block; width: 18px; height: 18px; border-radius: 3px;
          vertical-align: -2px; margin-right: 6px; }
table { border-collapse: collapse; font-size: 18px; }
th, td { padding: 4px 14px; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.cols { display: flex; flex-wrap: wrap; gap: 40px; align-items: flex-start; }
</style>
)css";
  html += "</head>\n<body>\n";
  html += fmt::format("<h1>SMS 1708 reports, {} to {}</h1>\n", escape(first), escape(last));
  html += fmt::format("<div class=\"sub\">Per {}; times in {}; from {} to {}</div>\n", escape(by),
                      escape(zone_text), escape(stats.value("since", "")),
                      escape(stats.value("until", "")));

  const auto tile = [](const std::string& value, const char* name, const char* id) {
    return fmt::format("<div class=\"tile\" id=\"{}\"><div class=\"value\">{}</div>"
                       "<div class=\"name\">{}</div></div>\n",
                       id, value, name);
  };
  html += "<div class=\"tiles\">\n";
  html += tile(grouped(t.value("received", 0)), "reports received", "received");
  html += tile(grouped(t.value("forwarded", 0)), "forwarded to LAPOR!", "forwarded");
  html += tile(grouped(t.value("closed", 0)), "closed", "closed");
  html += tile(grouped(t.value("failed", 0)), "failed", "failed");
  html += tile(seconds_html(timing["p50"]), "median SMS to tracking id", "p50");
  html += tile(seconds_html(timing["p90"]), "90% within", "p90");
  html += tile(grouped(replies.value("delivered", 0)), "replies delivered", "replies-delivered");
  html += tile(grouped(replies.value("undeliverable", 0)), "replies undeliverable",
               "replies-undeliverable");
  html += "</div>\n";

  html += fmt::format("<h2>Reports per {} by state</h2>\n", escape(by));
  html += chart(stats);
  html += "<div class=\"legend\">";
  for (const auto& layer : k_layers) {
    html += fmt::format("<span><span class=\"swatch\" style=\"background:{}\"></span>{}</span>",
                        layer.color, layer.legend);
  }
  html += "</div>\n";

  html += "<div class=\"cols\">\n<div>\n<h2>Top statuses</h2>\n";
  const auto& top = stats["top_statuses"];
  if (top.empty()) {
    html += "<p>No status from LAPOR! yet.</p>\n";
  } else {
    html += "<table class=\"statuses\"><tr><th>status</th><th>reports</th></tr>\n";
    for (const auto& s : top) {
      html += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", escape(s.value("status", "")),
                          grouped(s.value("count", 0)));
    }
    html += "</table>\n";
  }
  html += "</div>\n<div>\n";
  html += fmt::format("<h2>Per {}</h2>\n", escape(by));
  html += "<table class=\"periods\"><tr><th>period</th><th>received</th><th>forwarded</th>"
          "<th>closed</th><th>failed</th><th>held</th><th>waiting</th><th>median</th>"
          "<th>p90</th></tr>\n";
  for (const auto& p : periods) {
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(p.value("label", "")), grouped(p.value("received", 0)),
        grouped(p.value("forwarded", 0)), grouped(p.value("closed", 0)),
        grouped(p.value("failed", 0)), grouped(p.value("held", 0)), grouped(p.value("waiting", 0)),
        seconds_html(p["time_to_tracking_s"]["p50"]), seconds_html(p["time_to_tracking_s"]["p90"]));
  }
  html += "</table>\n</div>\n</div>\n";
  html += "<p class=\"sub\">Reports count in the period they were received, by what became of "
          "them so far; forwarded includes closed. Time to tracking id: from the SMS to the "
          "API's answer carrying it. Written by laporctl stats.</p>\n";
  html += "</body>\n</html>\n";
  return html;
}

} // namespace laporsms::cli

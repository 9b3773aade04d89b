// The metrics registry and its text exposition format 0.0.4.
#include <laporsms/metrics/registry.hpp>

#include <doctest/doctest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace laporsms::metrics;

namespace {

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find('\n', start);
    const auto line = text.substr(start, end - start);
    if (line.rfind(prefix, 0) == 0) {
      lines.push_back(line);
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return lines;
}

} // namespace

TEST_CASE("a counter renders with HELP, TYPE and its labels") {
  Registry registry;
  auto& sent = registry.counter("laporsms_test_sent_total", "Things sent", {"link", "status"});
  sent.with({"telkomsel", "ESME_ROK"}).inc();
  sent.with({"telkomsel", "ESME_ROK"}).inc(2);
  sent.with({"indosat", "ESME_RTHROTTLED"}).inc();
  CHECK(registry.render() ==
        "# HELP laporsms_test_sent_total Things sent\n"
        "# TYPE laporsms_test_sent_total counter\n"
        "laporsms_test_sent_total{link=\"indosat\",status=\"ESME_RTHROTTLED\"} 1\n"
        "laporsms_test_sent_total{link=\"telkomsel\",status=\"ESME_ROK\"} 3\n");
}

TEST_CASE("a series is the same object each time, and counts from any thread") {
  Registry registry;
  auto& family = registry.counter("laporsms_test_total", "t", {"link"});
  auto& a = family.with({"a"});
  CHECK(&a == &family.with({"a"}));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&family] {
      for (int i = 0; i < 10000; ++i) {
        family.with({"a"}).inc();
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  CHECK(a.value() == 40000);
}

TEST_CASE("label values and help texts are escaped") {
  Registry registry;
  auto& g = registry.gauge("laporsms_test_gauge", "back\\slash and\nnewline \"quoted\"", {"name"});
  g.with({"a\"b\\c\nd"}).set(1.5);
  const auto text = registry.render();
  CHECK(lines_starting(text, "# HELP") ==
        std::vector<std::string>{
            "# HELP laporsms_test_gauge back\\\\slash and\\nnewline \"quoted\""});
  CHECK(lines_starting(text, "laporsms_test_gauge{") ==
        std::vector<std::string>{"laporsms_test_gauge{name=\"a\\\"b\\\\c\\nd\"} 1.5"});
}

TEST_CASE("a label-less metric has no braces; values use the format's spellings") {
  Registry registry;
  auto& g = registry.gauge("laporsms_test_value", "v");
  g.with({}).set(std::numeric_limits<double>::infinity());
  CHECK(lines_starting(registry.render(), "laporsms_test_value ") ==
        std::vector<std::string>{"laporsms_test_value +Inf"});
  g.with({}).set(std::numeric_limits<double>::quiet_NaN());
  CHECK(lines_starting(registry.render(), "laporsms_test_value ") ==
        std::vector<std::string>{"laporsms_test_value NaN"});
  g.with({}).set(-2);
  CHECK(lines_starting(registry.render(), "laporsms_test_value ") ==
        std::vector<std::string>{"laporsms_test_value -2"});
  CHECK(format_value(0.25) == "0.25");
  CHECK(format_value(1e-3) == "0.001");
}

TEST_CASE("histogram buckets are cumulative, with _sum and _count") {
  Registry registry;
  auto& h = registry.histogram("laporsms_test_duration_seconds", "d", {"link"}, {0.1, 1, 10});
  auto& series = h.with({"sim"});
  for (const double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0}) {
    series.observe(v);
  }
  const auto text = registry.render();
  CHECK(lines_starting(text, "# TYPE") ==
        std::vector<std::string>{"# TYPE laporsms_test_duration_seconds histogram"});
  CHECK(lines_starting(text, "laporsms_test_duration_seconds") ==
        std::vector<std::string>{
            // 0.1 falls in le="0.1": a bucket holds what is less than or equal.
            "laporsms_test_duration_seconds_bucket{link=\"sim\",le=\"0.1\"} 2",
            "laporsms_test_duration_seconds_bucket{link=\"sim\",le=\"1\"} 3",
            "laporsms_test_duration_seconds_bucket{link=\"sim\",le=\"10\"} 4",
            "laporsms_test_duration_seconds_bucket{link=\"sim\",le=\"+Inf\"} 6",
            "laporsms_test_duration_seconds_sum{link=\"sim\"} 52.65",
            "laporsms_test_duration_seconds_count{link=\"sim\"} 6",
        });
  const auto snap = series.snapshot();
  CHECK(snap.count == snap.cumulative.back());
}

TEST_CASE("a histogram without labels puts le alone in its braces") {
  Registry registry;
  auto& h = registry.histogram("laporsms_test_h_seconds", "h", {}, {1});
  h.with({}).observe(3);
  CHECK(lines_starting(registry.render(), "laporsms_test_h_seconds") ==
        std::vector<std::string>{"laporsms_test_h_seconds_bucket{le=\"1\"} 0",
                                 "laporsms_test_h_seconds_bucket{le=\"+Inf\"} 1",
                                 "laporsms_test_h_seconds_sum 3",
                                 "laporsms_test_h_seconds_count 1"});
}

TEST_CASE("names, labels and bounds are checked") {
  Registry registry;
  registry.counter("laporsms_ok_total", "ok");
  CHECK_THROWS_AS(registry.counter("laporsms_ok_total", "again"), std::invalid_argument);
  CHECK_THROWS_AS(registry.counter("9starts_with_digit", "x"), std::invalid_argument);
  CHECK_THROWS_AS(registry.counter("has-dash", "x"), std::invalid_argument);
  CHECK_THROWS_AS(registry.gauge("laporsms_g", "x", {"bad-label"}), std::invalid_argument);
  CHECK_THROWS_AS(registry.gauge("laporsms_g2", "x", {"__reserved"}), std::invalid_argument);
  CHECK_THROWS_AS(registry.gauge("laporsms_g3", "x", {"a", "a"}), std::invalid_argument);
  CHECK_THROWS_AS(registry.histogram("laporsms_h", "x", {"le"}, {1}), std::invalid_argument);
  CHECK_THROWS_AS(registry.histogram("laporsms_h2", "x", {}, {1, 1}), std::invalid_argument);
  CHECK_THROWS_AS(registry.histogram("laporsms_h3", "x", {}, {2, 1}), std::invalid_argument);
  auto& family = registry.counter("laporsms_two_total", "x", {"a", "b"});
  CHECK_THROWS_AS(family.with({"only one"}), std::invalid_argument);
}

TEST_CASE("collectors run before each render; advance_to never lowers a counter") {
  Registry registry;
  auto& commits = registry.counter("laporsms_test_commits_total", "c");
  std::uint64_t source = 5;
  registry.on_collect([&] { commits.with({}).advance_to(source); });
  CHECK(lines_starting(registry.render(), "laporsms_test_commits_total ") ==
        std::vector<std::string>{"laporsms_test_commits_total 5"});
  source = 3;
  CHECK(lines_starting(registry.render(), "laporsms_test_commits_total ") ==
        std::vector<std::string>{"laporsms_test_commits_total 5"});
  source = 9;
  CHECK(lines_starting(registry.render(), "laporsms_test_commits_total ") ==
        std::vector<std::string>{"laporsms_test_commits_total 9"});
}

TEST_CASE("families render in the order registered") {
  Registry registry;
  registry.gauge("laporsms_b", "b").with({}).set(1);
  registry.gauge("laporsms_a", "a").with({}).set(2);
  const auto text = registry.render();
  CHECK(text.find("laporsms_b") < text.find("laporsms_a"));
}

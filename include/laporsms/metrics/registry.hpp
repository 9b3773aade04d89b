// A small Prometheus registry: counters, gauges and histograms with fixed
// buckets, grouped in families that share a name, a help text and label
// names, rendered in the text exposition format 0.0.4. No C++ Prometheus
// client is packaged in Debian 12; this is the little the daemon needs.
//
// Thread safety: a metric's value is an atomic, so any thread may count
// (the store's writer thread included); a family's series are created under
// a mutex and never move or go away, so a reference to one may be kept.
// Includes nothing of ours.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::metrics {

class Counter {
public:
  void inc(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
  // For a counter kept elsewhere (the store's own statistics): raises the
  // value to `total`, never lowers it.
  void advance_to(std::uint64_t total) noexcept;
  std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
public:
  void set(double value) noexcept { m_value.store(value, std::memory_order_relaxed); }
  void add(double delta) noexcept;
  double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
  std::atomic<double> m_value{0.0};
};

class Histogram {
public:
  // `bounds`: the upper bounds of the buckets, strictly increasing and
  // finite; the +Inf bucket is implied.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;

  struct Snapshot {
    std::vector<std::uint64_t> cumulative; // one per bound, then +Inf
    std::uint64_t count = 0;               // equals cumulative.back()
    double sum = 0.0;
  };
  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return m_bounds; }

private:
  std::vector<double> m_bounds;
  std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets; // not cumulative; +Inf last
  std::atomic<double> m_sum{0.0};
};

// Bucket bounds for durations in seconds, 1 ms to 30 s.
std::vector<double> duration_buckets();

enum class Type { counter, gauge, histogram };

// The part every family shares; see Family below.
class FamilyBase {
public:
  FamilyBase(Type type, std::string name, std::string help, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  Type type() const { return m_type; }
  const std::string& name() const { return m_name; }
  const std::string& help() const { return m_help; }
  const std::vector<std::string>& label_names() const { return m_label_names; }

  // Appends this family (HELP, TYPE and every series) to `out`.
  virtual void render(std::string& out) const = 0;

protected:
  void check_arity(std::size_t values) const;

private:
  Type m_type;
  std::string m_name;
  std::string m_help;
  std::vector<std::string> m_label_names;
};

template <typename Metric> class Family final : public FamilyBase {
public:
  using Factory = std::function<std::unique_ptr<Metric>()>;
  Family(Type type, std::string name, std::string help, std::vector<std::string> label_names,
         Factory factory)
      : FamilyBase(type, std::move(name), std::move(help), std::move(label_names)),
        m_factory(std::move(factory)) {}

  // The series with these label values (in the order of the label names),
  // made on first use. Throws std::invalid_argument on a wrong count.
  Metric& with(const std::vector<std::string>& values) {
    check_arity(values.size());
    const std::lock_guard lock(m_mutex);
    auto& slot = m_series[values];
    if (!slot) {
      slot = m_factory();
    }
    return *slot;
  }
  Metric& with(std::initializer_list<std::string_view> values) {
    return with(std::vector<std::string>(values.begin(), values.end()));
  }

  void render(std::string& out) const override;

private:
  Factory m_factory;
  mutable std::mutex m_mutex;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> m_series;
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
public:
  // Each name may be registered once; names and label names are checked
  // against Prometheus' rules (std::invalid_argument). A histogram may not
  // have a label named "le".
  CounterFamily& counter(std::string name, std::string help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> label_names, std::vector<double> bounds);

  // Runs before each render, on the thread that renders: sets the gauges
  // read from elsewhere (a link's state, a snapshot of the database).
  void on_collect(std::function<void()> collector);

  // Every family in the order registered, series in the order of their
  // label values: text exposition format 0.0.4.
  std::string render() const;

private:
  void add(std::unique_ptr<FamilyBase> family);

  mutable std::mutex m_mutex;
  std::vector<std::unique_ptr<FamilyBase>> m_families;
  std::vector<std::function<void()>> m_collectors;
};

// The text format's escaping: a HELP text escapes '\' and newline; a label
// value escapes '\', '"' and newline.
std::string escape_help(std::string_view text);
std::string escape_label_value(std::string_view text);
// A sample value as the format writes it: shortest round-trip form, "+Inf",
// "-Inf", "NaN".
std::string format_value(double value);

inline constexpr std::string_view k_content_type = "text/plain; version=0.0.4; charset=utf-8";

} // namespace laporsms::metrics

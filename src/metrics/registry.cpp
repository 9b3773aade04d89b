#include <laporsms/metrics/registry.hpp>

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace laporsms::metrics {

namespace {

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

void check_names(std::string_view name, const std::vector<std::string>& label_names) {
  if (!valid_name(name, true)) {
    throw std::invalid_argument(fmt::format("metric name '{}' is not valid", name));
  }
  for (const auto& label : label_names) {
    if (!valid_name(label, false) || label.starts_with("__")) {
      throw std::invalid_argument(fmt::format("label name '{}' of {} is not valid", label, name));
    }
  }
  auto sorted = label_names;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
    throw std::invalid_argument(fmt::format("metric {} names a label twice", name));
  }
}

std::string_view type_name(Type type) {
  switch (type) {
  case Type::counter:
    return "counter";
  case Type::gauge:
    return "gauge";
  case Type::histogram:
    return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"` plus `extra` (already formatted, e.g. le="0.5"), closed;
// nothing at all when there is no label.
void append_labels(std::string& out, const std::vector<std::string>& names,
                   const std::vector<std::string>& values, std::string_view extra = {}) {
  if (names.empty() && extra.empty()) {
    return;
  }
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += names[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  if (!extra.empty()) {
    if (!names.empty()) {
      out += ',';
    }
    out += extra;
  }
  out += '}';
}

void append_header(std::string& out, const FamilyBase& family) {
  out += "# HELP ";
  out += family.name();
  out += ' ';
  out += escape_help(family.help());
  out += "\n# TYPE ";
  out += family.name();
  out += ' ';
  out += type_name(family.type());
  out += '\n';
}

void render_series(std::string& out, const FamilyBase& family,
                   const std::vector<std::string>& values, const Counter& counter) {
  out += family.name();
  append_labels(out, family.label_names(), values);
  out += ' ';
  out += std::to_string(counter.value());
  out += '\n';
}

void render_series(std::string& out, const FamilyBase& family,
                   const std::vector<std::string>& values, const Gauge& gauge) {
  out += family.name();
  append_labels(out, family.label_names(), values);
  out += ' ';
  out += format_value(gauge.value());
  out += '\n';
}

void render_series(std::string& out, const FamilyBase& family,
                   const std::vector<std::string>& values, const Histogram& histogram) {
  const auto snap = histogram.snapshot();
  const auto& bounds = histogram.bounds();
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    out += family.name();
    out += "_bucket";
    const auto le = i < bounds.size() ? format_value(bounds[i]) : std::string("+Inf");
    append_labels(out, family.label_names(), values, "le=\"" + le + "\"");
    out += ' ';
    out += std::to_string(snap.cumulative[i]);
    out += '\n';
  }
  out += family.name();
  out += "_sum";
  append_labels(out, family.label_names(), values);
  out += ' ';
  out += format_value(snap.sum);
  out += '\n';
  out += family.name();
  out += "_count";
  append_labels(out, family.label_names(), values);
  out += ' ';
  out += std::to_string(snap.count);
  out += '\n';
}

void atomic_add(std::atomic<double>& target, double delta) noexcept {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

} // namespace

void Counter::advance_to(std::uint64_t total) noexcept {
  std::uint64_t current = m_value.load(std::memory_order_relaxed);
  while (current < total &&
         !m_value.compare_exchange_weak(current, total, std::memory_order_relaxed)) {
  }
}

void Gauge::add(double delta) noexcept {
  atomic_add(m_value, delta);
}

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)),
      m_buckets(std::make_unique<std::atomic<std::uint64_t>[]>(m_bounds.size() + 1)) {
  for (std::size_t i = 0; i < m_bounds.size(); ++i) {
    if (!std::isfinite(m_bounds[i]) || (i > 0 && m_bounds[i] <= m_bounds[i - 1])) {
      throw std::invalid_argument("histogram bounds must be finite and strictly increasing");
    }
  }
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    m_buckets[i].store(0, std::memory_order_relaxed);
  }
}

void Histogram::observe(double value) noexcept {
  // The first bucket whose bound is >= value ("le"); past the last, +Inf.
  const auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), value);
  const auto index = static_cast<std::size_t>(it - m_bounds.begin());
  m_buckets[index].fetch_add(1, std::memory_order_relaxed);
  atomic_add(m_sum, value);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.cumulative.reserve(m_bounds.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
    running += m_buckets[i].load(std::memory_order_relaxed);
    snap.cumulative.push_back(running);
  }
  // The count is the +Inf bucket, so the two always agree, even while
  // another thread observes.
  snap.count = running;
  snap.sum = m_sum.load(std::memory_order_relaxed);
  return snap;
}

std::vector<double> duration_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

FamilyBase::FamilyBase(Type type, std::string name, std::string help,
                       std::vector<std::string> label_names)
    : m_type(type), m_name(std::move(name)), m_help(std::move(help)),
      m_label_names(std::move(label_names)) {
  check_names(m_name, m_label_names);
}

void FamilyBase::check_arity(std::size_t values) const {
  if (values != m_label_names.size()) {
    throw std::invalid_argument(
        fmt::format("{} takes {} label value(s), not {}", m_name, m_label_names.size(), values));
  }
}

template <typename Metric> void Family<Metric>::render(std::string& out) const {
  append_header(out, *this);
  const std::lock_guard lock(m_mutex);
  for (const auto& [values, metric] : m_series) {
    render_series(out, *this, values, *metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::add(std::unique_ptr<FamilyBase> family) {
  const std::lock_guard lock(m_mutex);
  for (const auto& existing : m_families) {
    if (existing->name() == family->name()) {
      throw std::invalid_argument("metric " + family->name() + " is registered twice");
    }
  }
  m_families.push_back(std::move(family));
}

CounterFamily& Registry::counter(std::string name, std::string help,
                                 std::vector<std::string> label_names) {
  auto family = std::make_unique<CounterFamily>(Type::counter, std::move(name), std::move(help),
                                                std::move(label_names),
                                                [] { return std::make_unique<Counter>(); });
  auto& ref = *family;
  add(std::move(family));
  return ref;
}

GaugeFamily& Registry::gauge(std::string name, std::string help,
                             std::vector<std::string> label_names) {
  auto family = std::make_unique<GaugeFamily>(Type::gauge, std::move(name), std::move(help),
                                              std::move(label_names),
                                              [] { return std::make_unique<Gauge>(); });
  auto& ref = *family;
  add(std::move(family));
  return ref;
}

HistogramFamily& Registry::histogram(std::string name, std::string help,
                                     std::vector<std::string> label_names,
                                     std::vector<double> bounds) {
  if (std::find(label_names.begin(), label_names.end(), "le") != label_names.end()) {
    throw std::invalid_argument("histogram " + name + " may not have a label named le");
  }
  Histogram check(bounds); // throws on bad bounds now, not at the first series
  auto family = std::make_unique<HistogramFamily>(
      Type::histogram, std::move(name), std::move(help), std::move(label_names),
      [bounds = std::move(bounds)] { return std::make_unique<Histogram>(bounds); });
  auto& ref = *family;
  add(std::move(family));
  return ref;
}

void Registry::on_collect(std::function<void()> collector) {
  const std::lock_guard lock(m_mutex);
  m_collectors.push_back(std::move(collector));
}

std::string Registry::render() const {
  std::vector<std::function<void()>> collectors;
  {
    const std::lock_guard lock(m_mutex);
    collectors = m_collectors;
  }
  for (const auto& collect : collectors) {
    collect();
  }
  std::string out;
  out.reserve(16 * 1024);
  const std::lock_guard lock(m_mutex);
  for (const auto& family : m_families) {
    family->render(out);
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) {
    return "NaN";
  }
  if (std::isinf(value)) {
    return value > 0 ? "+Inf" : "-Inf";
  }
  return fmt::format("{}", value);
}

} // namespace laporsms::metrics

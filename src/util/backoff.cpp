#include <laporsms/util/backoff.hpp>

#include <algorithm>
#include <cstdint>

namespace laporsms::util {

std::chrono::milliseconds backoff_delay(std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, unsigned attempt,
                                        std::mt19937_64& rng) {
  if (max < min) {
    max = min;
  }
  const unsigned shift = std::min(attempt > 0 ? attempt - 1 : 0U, 30U);
  // Saturate instead of overflowing for large attempts.
  const std::int64_t limit = max.count();
  std::int64_t grown = min.count();
  for (unsigned i = 0; i < shift && grown < limit; ++i) {
    grown = grown > limit / 2 ? limit : grown * 2;
  }
  const std::int64_t cap = std::clamp<std::int64_t>(grown, min.count(), limit);
  std::uniform_int_distribution<std::int64_t> dist(min.count(), cap);
  return std::chrono::milliseconds(dist(rng));
}

} // namespace laporsms::util

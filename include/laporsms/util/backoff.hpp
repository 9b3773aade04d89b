// Exponential backoff with full jitter, shared by SMPP reconnects and
// upstream retries. Pure: the random source is a parameter.
#pragma once

#include <chrono>
#include <random>

namespace laporsms::util {

// The wait before the `attempt`-th retry (1-based): a uniform draw from
// [min, min(max, min * 2^(attempt-1))]. Jitter spreads out many clients that
// failed together, so they do not come back as one storm.
std::chrono::milliseconds backoff_delay(std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, unsigned attempt,
                                        std::mt19937_64& rng);

} // namespace laporsms::util

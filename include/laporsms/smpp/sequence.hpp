// SMPP sequence numbers (SMPP 3.4 §5.1.4): 0x00000001..0x7FFFFFFF, then 1
// again. 0 and the top bit are never used.
#pragma once

#include <cstdint>

namespace laporsms::smpp {

class SequenceCounter {
public:
  static constexpr std::uint32_t k_max = 0x7FFFFFFFU;

  // `last` is the number handed out last (0: none yet).
  explicit SequenceCounter(std::uint32_t last = 0) : m_last(last) {}

  std::uint32_t next() {
    m_last = m_last >= k_max ? 1 : m_last + 1;
    return m_last;
  }

private:
  std::uint32_t m_last;
};

} // namespace laporsms::smpp

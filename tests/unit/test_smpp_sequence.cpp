#include <laporsms/smpp/sequence.hpp>

#include <doctest/doctest.h>

#include <set>

using laporsms::smpp::SequenceCounter;

TEST_SUITE("smpp::SequenceCounter") {
  TEST_CASE("starts at 1 and counts up by one") {
    SequenceCounter counter;
    CHECK(counter.next() == 1);
    CHECK(counter.next() == 2);
    CHECK(counter.next() == 3);
  }

  TEST_CASE("wraps from 0x7FFFFFFF to 1, never handing out 0 or the top bit") {
    SequenceCounter counter(0x7FFFFFFDU);
    CHECK(counter.next() == 0x7FFFFFFEU);
    CHECK(counter.next() == 0x7FFFFFFFU);
    CHECK(counter.next() == 1);
    CHECK(counter.next() == 2);
  }

  TEST_CASE("a counter left past the range (a corrupt start) recovers at 1") {
    SequenceCounter counter(0xFFFFFFFFU);
    CHECK(counter.next() == 1);
  }

  TEST_CASE("numbers stay distinct across the wrap while few are outstanding") {
    SequenceCounter counter(0x7FFFFFFFU - 500);
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 1000; ++i) {
      const auto n = counter.next();
      CHECK(n >= 1);
      CHECK(n <= SequenceCounter::k_max);
      seen.insert(n);
    }
    CHECK(seen.size() == 1000);
  }
}

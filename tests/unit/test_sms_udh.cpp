#include <laporsms/sms/udh.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using namespace laporsms::sms;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes body_of(const UserData& ud) {
  return {ud.body.begin(), ud.body.end()};
}

std::string error_of(const Bytes& sm) {
  const auto r = split_user_data(sm);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

} // namespace

TEST_SUITE("sms::udh") {

  TEST_CASE("an 8-bit reference concatenation header") {
    const Bytes sm{0x05, 0x00, 0x03, 0xA7, 0x03, 0x02, 'a', 'b', 'c'};
    const auto r = split_user_data(sm);
    REQUIRE(r.has_value());
    REQUIRE(r->concat.has_value());
    CHECK(*r->concat == ConcatInfo{0xA7, 3, 2});
    CHECK(r->udh_length == 6);
    CHECK(body_of(*r) == Bytes{'a', 'b', 'c'});
    CHECK(r->body.data() == sm.data() + 6); // a view, not a copy
  }

  TEST_CASE("a 16-bit reference concatenation header") {
    const Bytes sm{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 'x'};
    const auto r = split_user_data(sm);
    REQUIRE(r.has_value());
    REQUIRE(r->concat.has_value());
    CHECK(*r->concat == ConcatInfo{0x1234, 2, 2});
    CHECK(r->udh_length == 7);
    CHECK(body_of(*r) == Bytes{'x'});
  }

  TEST_CASE("other information elements are skipped") {
    // Application port addressing (0x05, 4 octets), then the concatenation IE.
    const Bytes sm{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x01, 0x02, 0x01, 'z'};
    const auto r = split_user_data(sm);
    REQUIRE(r.has_value());
    REQUIRE(r->concat.has_value());
    CHECK(*r->concat == ConcatInfo{0x01, 2, 1});
    CHECK(body_of(*r) == Bytes{'z'});

    // Only a text formatting IE: no concatenation.
    const Bytes plain{0x05, 0x0A, 0x03, 0x00, 0x05, 0x01, 'h', 'i'};
    const auto p = split_user_data(plain);
    REQUIRE(p.has_value());
    CHECK_FALSE(p->concat.has_value());
    CHECK(body_of(*p) == Bytes{'h', 'i'});
    CHECK(p->udh_length == 6);
  }

  TEST_CASE("an empty header and an empty body are fine") {
    const Bytes only_udhl{0x00, 'q'};
    auto r = split_user_data(only_udhl);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->concat.has_value());
    CHECK(r->udh_length == 1);
    CHECK(body_of(*r) == Bytes{'q'});

    const Bytes no_body{0x05, 0x00, 0x03, 0x10, 0x01, 0x01};
    r = split_user_data(no_body);
    REQUIRE(r.has_value());
    CHECK(r->body.empty());
    CHECK(r->concat->total == 1);
  }

  TEST_CASE("a repeated concatenation element: the last one wins") {
    const Bytes sm{0x0B, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08, 0x04, 0x00, 0x09, 0x03, 0x03};
    const auto r = split_user_data(sm);
    REQUIRE(r.has_value());
    CHECK(*r->concat == ConcatInfo{0x0009, 3, 3});
  }

  TEST_CASE("malformed headers are refused with a reason") {
    CHECK(error_of({}) == "empty user data");
    CHECK(error_of({0x06, 0x00, 0x03, 0x01, 0x02, 0x01}) == "UDHL runs past the end");
    CHECK(error_of({0xFF}) == "UDHL runs past the end");
    CHECK(error_of({0x01, 0x00}) == "IE header runs past the UDH");
    CHECK(error_of({0x04, 0x00, 0x03, 0x01, 0x02, 0x01}) == "IE runs past the UDH");
    CHECK(error_of({0x05, 0x00, 0x05, 0x01, 0x02, 0x01}) == "IE runs past the UDH");
    CHECK(error_of({0x04, 0x00, 0x02, 0x01, 0x02}) == "8-bit concatenation IE is not 3 octets");
    CHECK(error_of({0x05, 0x08, 0x03, 0x01, 0x02, 0x01}) ==
          "16-bit concatenation IE is not 4 octets");
    CHECK(error_of({0x05, 0x00, 0x03, 0x01, 0x00, 0x00}) == "concatenation total is 0");
    CHECK(error_of({0x05, 0x00, 0x03, 0x01, 0x02, 0x00}) == "concatenation sequence out of range");
    CHECK(error_of({0x05, 0x00, 0x03, 0x01, 0x02, 0x03}) == "concatenation sequence out of range");
    CHECK(error_of({0x06, 0x08, 0x04, 0x01, 0x02, 0x00, 0x01}) == "concatenation total is 0");
  }

  TEST_CASE("every prefix of a valid message either parses or fails cleanly") {
    const Bytes sm{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x01, 0x02, 0x01, 'z'};
    for (std::size_t n = 0; n <= sm.size(); ++n) {
      const auto r = split_user_data(std::span(sm.data(), n));
      CHECK(r.has_value() == (n >= 12));
    }
  }

  TEST_CASE("fill bits put packed text on a septet boundary") {
    CHECK(udh_fill_bits(6) == 1);  // 48 bits + 1 = 49 = 7 septets
    CHECK(udh_fill_bits(7) == 0);  // 56 bits
    CHECK(udh_fill_bits(1) == 6);  // 8 bits + 6 = 14
    CHECK(udh_fill_bits(12) == 2); // 96 bits + 2 = 98 = 14 septets
  }

} // TEST_SUITE

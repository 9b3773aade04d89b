#include <laporsms/util/log.hpp>

#include <doctest/doctest.h>

using laporsms::log::escape_control;

TEST_SUITE("util::log") {
  TEST_CASE("control characters in a log message are escaped, so no line can be forged") {
    CHECK(escape_control("plain text, ünïcode stays") == "plain text, ünïcode stays");
    CHECK(escape_control("a\nb") == "a\\nb");
    CHECK(escape_control("x\r\n<3>forged") == "x\\r\\n<3>forged");
    CHECK(escape_control("tab\there") == "tab\\there");
    CHECK(escape_control(std::string("nul\0bell\x07", 9)) == "nul\\x00bell\\x07");
    CHECK(escape_control("del\x7F") == "del\\x7F");
    CHECK(escape_control("back\\slash") == "back\\\\slash"); // escaping stays unambiguous
    CHECK(escape_control("") == "");
  }
}

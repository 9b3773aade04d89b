#include <laporsms/util/log.hpp>

#include <doctest/doctest.h>

#include <string>

using laporsms::log::escape_control;
using laporsms::log::format_event;
using laporsms::log::format_value;

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

  TEST_CASE("an event is its message then key=value fields, bare where a value is one word") {
    CHECK(format_event("intake: report filed", {{"link", "telkomsel"},
                                                {"ref", "MTR4K7Q"},
                                                {"msisdn", "6281******001"},
                                                {"parts", 3}}) ==
          "intake: report filed link=telkomsel ref=MTR4K7Q msisdn=6281******001 parts=3");
    CHECK(format_event("laporsmsd stopped", {}) == "laporsmsd stopped");
    const std::string owned = "owned";
    const std::string_view viewed = "viewed";
    CHECK(format_event("m", {{"a", owned}, {"b", viewed}, {"c", 2.5}, {"d", true}}) ==
          "m a=owned b=viewed c=2.5 d=true");
  }

  TEST_CASE("a value with a space, '=', a quote, a backslash or a control character is quoted") {
    CHECK(format_value("connect to 127.0.0.1:2775 failed") ==
          "\"connect to 127.0.0.1:2775 failed\"");
    CHECK(format_value("") == "\"\"");
    CHECK(format_value("a=b") == "\"a=b\"");
    CHECK(format_value("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(format_value("C:\\dir") == "\"C:\\\\dir\"");
    CHECK(format_value("line\nforged=1") == "\"line\\nforged=1\"");
    CHECK(format_value(std::string("nul\0", 4)) == "\"nul\\x00\"");
    CHECK(format_value("ünïcode") == "ünïcode"); // UTF-8 stays readable
  }

  TEST_CASE("neither a message nor a field can forge a second line or a field of its own") {
    const auto line = format_event("a\nb", {{"error", "x\r\n<3>stopped ref=FAKE"}});
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line == "a\\nb error=\"x\\r\\n<3>stopped ref=FAKE\"");
  }
}

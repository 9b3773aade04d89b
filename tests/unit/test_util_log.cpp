#include <laporsms/util/log.hpp>

#include <doctest/doctest.h>

#include <string>

#include "stderr_capture.hpp"

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

  TEST_CASE("log_level: lines below the level are not written; the names read back") {
    namespace applog = laporsms::log;
    const auto text_of = [](applog::Level level) {
      test_util::StderrCapture capture;
      applog::set_level(level);
      applog::debug("d", {{"n", 1}});
      applog::info("i", {{"n", 2}});
      applog::warn("w", {{"n", 3}});
      applog::error("e", {{"n", 4}});
      return capture.text();
    };
    const auto has = [](const std::string& text, const std::string& what) {
      return text.find(what) != std::string::npos;
    };
    const auto at_warning = text_of(applog::Level::warning);
    CHECK_FALSE(has(at_warning, " d n=1"));
    CHECK_FALSE(has(at_warning, " i n=2"));
    CHECK(has(at_warning, "warning w n=3\n"));
    CHECK(has(at_warning, "error e n=4\n"));
    const auto at_debug = text_of(applog::Level::debug);
    CHECK(has(at_debug, "debug d n=1\n"));
    CHECK(has(at_debug, "info i n=2\n"));
    const auto at_error = text_of(applog::Level::error);
    CHECK(at_error.find('\n') == at_error.rfind('\n')); // one line: the error
    CHECK(has(at_error, "error e n=4\n"));
    CHECK(applog::level_from_string("debug") == applog::Level::debug);
    CHECK(applog::level_from_string("warning") == applog::Level::warning);
    CHECK(applog::level_from_string("error") == applog::Level::error);
    CHECK(applog::level_from_string("info") == applog::Level::info);
    applog::set_level(applog::Level::info);
  }
}

#include <laporsms/sms/command.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace laporsms::sms;

namespace {

constexpr std::size_t k_min = 10;

Command parse(std::string_view text, std::size_t min_chars = k_min) {
  return parse_command(text, Keywords{}, min_chars);
}

void check_report(const Command& c, std::string_view text, bool rahasia = false,
                  bool anonim = false) {
  CHECK(c.kind == CommandKind::report);
  CHECK(c.text == text);
  CHECK(c.rahasia == rahasia);
  CHECK(c.anonim == anonim);
  CHECK(c.argument.empty());
}

void check_status(const Command& c, std::string_view argument) {
  CHECK(c.kind == CommandKind::status);
  CHECK(c.argument == argument);
  CHECK(c.text.empty());
}

} // namespace

TEST_SUITE("sms::command") {

  TEST_CASE("a plain report") {
    check_report(parse("LAPORYAI jalan berlubang di Jl. Ahmad Yani"),
                 "jalan berlubang di Jl. Ahmad Yani");
  }

  TEST_CASE("keyword case, a colon, blanks inside and a newline after it") {
    check_report(parse("laporyai: jalan berlubang"), "jalan berlubang");
    check_report(parse("LaporYai jalan berlubang"), "jalan berlubang");
    check_report(parse("LAPORYAI:jalan berlubang"), "jalan berlubang");
    check_report(parse("LAPORYAI : jalan berlubang"), "jalan berlubang");
    check_report(parse("Lapor Yai jalan berlubang"), "jalan berlubang");
    check_report(parse("LAPOR   YAI jalan berlubang"), "jalan berlubang");
    check_report(parse("lapor\tyai: jalan berlubang"), "jalan berlubang");
    check_report(parse("  LAPORYAI\njalan berlubang"), "jalan berlubang");
    check_report(parse("\r\n\n LAPORYAI\r\njalan berlubang\r\n"), "jalan berlubang");
  }

  TEST_CASE("no-break, full-width and other Unicode blanks count as blanks") {
    check_report(parse("LAPORYAI\u00A0jalan berlubang"), "jalan berlubang");
    check_report(parse("\u3000LAPORYAI\u3000jalan berlubang\u3000"), "jalan berlubang");
    check_report(parse("\u00A0\u00A0LAPOR\u00A0YAI jalan berlubang \u00A0"), "jalan berlubang");
    check_report(parse("\uFEFFLAPORYAI jalan berlubang"), "jalan berlubang");
    check_report(parse("LAPORYAI\u2003jalan berlubang\u202F"), "jalan berlubang");
    check_report(parse("LAPORYAI\uFF1Ajalan berlubang"), "jalan berlubang"); // full-width colon
  }

  TEST_CASE("the text is trimmed and kept exactly as written inside") {
    check_report(parse("LAPORYAI   Jalan  rusak,\n\n  di  RT 03/RW 05 ;-)  \n "),
                 "Jalan  rusak,\n\n  di  RT 03/RW 05 ;-)");
    check_report(parse("LAPORYAI jalan: RAHASIA umum"), "jalan: RAHASIA umum");
    check_report(parse("LAPORYAI Jembatan  ambruk 😢 tolong\u00A0segera"),
                 "Jembatan  ambruk 😢 tolong\u00A0segera");
  }

  TEST_CASE("RAHASIA and ANONIM set their flags and are removed") {
    check_report(parse("LAPORYAI RAHASIA jalan berlubang"), "jalan berlubang", true, false);
    check_report(parse("LAPORYAI ANONIM jalan berlubang"), "jalan berlubang", false, true);
    check_report(parse("LAPORYAI RAHASIA ANONIM jalan berlubang"), "jalan berlubang", true, true);
    check_report(parse("LAPORYAI anonim rahasia jalan berlubang"), "jalan berlubang", true, true);
    check_report(parse("laporyai: Rahasia: jalan berlubang"), "jalan berlubang", true, false);
    check_report(parse("LAPOR YAI\nANONIM\njalan berlubang"), "jalan berlubang", false, true);
    check_report(parse("LAPORYAI RAHASIA\u3000jalan berlubang"), "jalan berlubang", true, false);
  }

  TEST_CASE("modifiers count once and only as whole words at the start") {
    check_report(parse("LAPORYAI RAHASIA RAHASIA jalan berlubang"), "RAHASIA jalan berlubang",
                 true);
    check_report(parse("LAPORYAI RAHASIAKU jalan berlubang"), "RAHASIAKU jalan berlubang");
    check_report(parse("LAPORYAI jalan berlubang ANONIM"), "jalan berlubang ANONIM");
    check_report(parse("LAPORYAI RA HASIA jalan berlubang"), "RA HASIA jalan berlubang");
  }

  TEST_CASE("a report keyword alone or with too little text is an empty report") {
    for (const char* text : {"LAPORYAI", "laporyai", "LAPORYAI   ", "  LAPORYAI:\n", "LAPOR YAI",
                             "LAPORYAI RAHASIA", "LAPORYAI ANONIM RAHASIA  "}) {
      CAPTURE(text);
      const auto c = parse(text);
      CHECK(c.kind == CommandKind::empty_report);
      CHECK(c.text.empty());
    }
    auto c = parse("LAPORYAI rusak");
    CHECK(c.kind == CommandKind::empty_report);
    CHECK(c.text == "rusak");
    c = parse("LAPORYAI RAHASIA rusak");
    CHECK(c.kind == CommandKind::empty_report);
    CHECK(c.rahasia);
    // Even with no minimum, nothing at all is an empty report.
    CHECK(parse("LAPORYAI", 0).kind == CommandKind::empty_report);
    check_report(parse("LAPORYAI x", 0), "x");
  }

  TEST_CASE("the minimum counts code points, not bytes") {
    check_report(parse("LAPORYAI 0123456789"), "0123456789"); // exactly 10
    CHECK(parse("LAPORYAI 012345678").kind == CommandKind::empty_report);
    // Five characters, ten bytes.
    CHECK(parse("LAPORYAI ééééé", 6).kind == CommandKind::empty_report);
    check_report(parse("LAPORYAI ééééé", 5), "ééééé");
    CHECK(parse("LAPORYAI 😀😀😀", 4).kind == CommandKind::empty_report);
    // Blanks inside count, the trimmed ones do not.
    check_report(parse("LAPORYAI   a b c d e   ", 9), "a b c d e");
    CHECK(parse("LAPORYAI   a b c d e   ", 10).kind == CommandKind::empty_report);
  }

  TEST_CASE("a keyword must be a whole word") {
    CHECK(parse("LAPORYAIKU jalan berlubang").kind == CommandKind::unknown);
    CHECK(parse("LAPORYAI.jalan berlubang").kind == CommandKind::unknown);
    CHECK(parse("LAPORAN jalan berlubang").kind == CommandKind::unknown);
    CHECK(parse("LAPOR jalan berlubang").kind == CommandKind::unknown);
    CHECK(parse("xLAPORYAI jalan berlubang").kind == CommandKind::unknown);
    CHECK(parse("CEKING 1916449").kind == CommandKind::unknown);
    CHECK(parse("INFORMASI").kind == CommandKind::unknown);
    CHECK(parse("HELPME").kind == CommandKind::unknown);
  }

  TEST_CASE("status checks keep the argument as typed") {
    check_status(parse("CEK 1916449"), "1916449");
    check_status(parse("cek MTR4K7Q"), "MTR4K7Q");
    check_status(parse("CEK mtr4k7q"), "mtr4k7q");
    check_status(parse("STATUS mtr4k7q"), "mtr4k7q");
    check_status(parse("status: 1916449"), "1916449");
    check_status(parse("CEK:1916449"), "1916449");
    check_status(parse("  Cek\n #1916449  "), "#1916449");
    check_status(parse("CEK 1916449 tolong dicek"), "1916449");
    check_status(parse("CEK\u00A01916449\u3000"), "1916449");
    check_status(parse("C E K 1916449"), "1916449");
  }

  TEST_CASE("a status keyword without an argument is help") {
    for (const char* text : {"CEK", "cek ", "STATUS", "status:", " CEK \n\u3000"}) {
      CAPTURE(text);
      const auto c = parse(text);
      CHECK(c.kind == CommandKind::help);
      CHECK(c.argument.empty());
    }
  }

  TEST_CASE("help keywords") {
    for (const char* text :
         {"INFO", "info", "Bantuan", "HELP", " help\n", "INFO: apa ini?", "INFO 1708"}) {
      CAPTURE(text);
      const auto c = parse(text);
      CHECK(c.kind == CommandKind::help);
      CHECK(c.text.empty());
      CHECK(c.argument.empty());
    }
  }

  TEST_CASE("anything else is unknown") {
    for (const char* text : {"", "   ", "\n\u3000", "Halo", "jalan berlubang di Jl. Ahmad Yani",
                             ":", "LAPOR! jalan rusak", "\xFF\xFE\x80", "😀 LAPORYAI jalan"}) {
      CAPTURE(text);
      const auto c = parse(text);
      CHECK(c.kind == CommandKind::unknown);
      CHECK(c.text.empty());
      CHECK(c.argument.empty());
      CHECK_FALSE(c.rahasia);
      CHECK_FALSE(c.anonim);
    }
  }

  TEST_CASE("configured keywords and aliases") {
    Keywords kw;
    kw.report = {"ADUAN", "lapor yai"};
    kw.status = {"CEKLAPOR"};
    kw.help = {"TOLONG", ""};
    check_report(parse_command("aduan jalan berlubang", kw, 5), "jalan berlubang");
    check_report(parse_command("LAPORYAI jalan berlubang", kw, 5), "jalan berlubang");
    check_report(parse_command("Lapor Yai jalan berlubang", kw, 5), "jalan berlubang");
    check_status(parse_command("ceklapor MTR4K7Q", kw, 5), "MTR4K7Q");
    CHECK(parse_command("CEK MTR4K7Q", kw, 5).kind == CommandKind::unknown);
    CHECK(parse_command("tolong", kw, 5).kind == CommandKind::help);
    // The empty alias matches nothing, not everything.
    CHECK(parse_command("apa saja", kw, 5).kind == CommandKind::unknown);
    CHECK(parse_command("", kw, 5).kind == CommandKind::unknown);
  }

  TEST_CASE("the longest matching keyword wins") {
    Keywords kw;
    kw.report = {"LAPOR", "LAPORYAI"};
    check_report(parse_command("LAPOR YAI jalan berlubang", kw, 5), "jalan berlubang");
    check_report(parse_command("LAPOR jalan berlubang", kw, 5), "jalan berlubang");
    kw.report = {"LAPORYAI"};
    kw.status = {"LAPORYAI STATUS"};
    check_status(parse_command("LAPORYAI STATUS 1916449", kw, 5), "1916449");
  }

  TEST_CASE("ill-formed UTF-8 is carried through, never trusted") {
    const auto c = parse("LAPORYAI \xC3 jalan \xE2\x82 rusak \xFF");
    CHECK(c.kind == CommandKind::report);
    CHECK(c.text == "\xC3 jalan \xE2\x82 rusak \xFF");
    // A truncated multi-byte blank at the very end is not a blank.
    CHECK(parse("LAPORYAI jalan berlubang\xE3\x80").text == "jalan berlubang\xE3\x80");
    CHECK(parse("CEK 12\xC2").argument == "12\xC2");
  }

} // TEST_SUITE

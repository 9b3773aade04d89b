#include <laporsms/sms/template.hpp>

#include <doctest/doctest.h>

using namespace laporsms::sms;

namespace {

using Values = std::map<std::string, std::string, std::less<>>;

} // namespace

TEST_SUITE("sms::template") {

  TEST_CASE("placeholders are replaced from the values") {
    const Values values{{"ref", "MTR4K7Q"}, {"tracking_id", "1916449"}};
    CHECK(render_template("Laporan {ref} sudah masuk LAPOR! dengan Tracking ID #{tracking_id}. "
                          "Pantau: lapor.go.id/pengaduan/{tracking_id}",
                          values) ==
          "Laporan MTR4K7Q sudah masuk LAPOR! dengan Tracking ID #1916449. "
          "Pantau: lapor.go.id/pengaduan/1916449");
    CHECK(render_template("{ref}", values) == "MTR4K7Q");
    CHECK(render_template("{ref}{ref}", values) == "MTR4K7QMTR4K7Q");
    CHECK(render_template("", values).empty());
    CHECK(render_template("tanpa isian", values) == "tanpa isian");
  }

  TEST_CASE("unknown placeholders and stray braces are left as written") {
    const Values values{{"ref", "MTR4K7Q"}, {"note", ""}};
    CHECK(render_template("{ref} {status}", values) == "MTR4K7Q {status}");
    CHECK(render_template("{ {} {ref {ref}} }{", values) == "{ {} {ref MTR4K7Q} }{");
    CHECK(render_template("{{ref}}", values) == "{MTR4K7Q}");
    CHECK(render_template("{re f} {ref-x} {ref", values) == "{re f} {ref-x} {ref");
    CHECK(render_template("Status: {note}.", values) == "Status: .");
  }

  TEST_CASE("values are never expanded again") {
    const Values values{{"note", "{ref} {note}"}, {"ref", "MTR4K7Q"}};
    CHECK(render_template("{note} / {ref}", values) == "{ref} {note} / MTR4K7Q");
  }

  TEST_CASE("values may hold any text") {
    const Values values{{"status", "Selesai ✔"}, {"note", "Jalan\ndiperbaiki 😀"}};
    CHECK(render_template("Laporan: {status}. {note}", values) ==
          "Laporan: Selesai ✔. Jalan\ndiperbaiki 😀");
  }

  TEST_CASE("template_placeholders lists each name once in order of use") {
    CHECK(template_placeholders("Laporan #{tracking_id}: {status}. {note} ({tracking_id})") ==
          std::vector<std::string>{"tracking_id", "status", "note"});
    CHECK(template_placeholders("tanpa isian").empty());
    CHECK(template_placeholders("{ } {} {a b} {x").empty());
    CHECK(template_placeholders("{{ref}}") == std::vector<std::string>{"ref"});
    CHECK(template_placeholders("{Ref_2}{ref}") == std::vector<std::string>{"Ref_2", "ref"});
  }

} // TEST_SUITE

// Golden tests of the text layer end to end (issue 4): every case in
// golden/sms_cases.json is one real-looking MO, or the parts of one, as the
// SMSC hands it over. Each goes through the real path, relay::make_inbound and
// store::record_inbound, on a fresh migrated database; then the report, the
// inbound rows and the queued replies are compared with the expectations,
// which were worked out by hand (GSM 03.38 tables, UTF-16BE), never by
// running this code.
#include <laporsms/relay/inbound.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/ref.hpp>
#include <laporsms/sms/udh.hpp>
#include <laporsms/store/intake.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms;
using namespace store_test;
using nlohmann::json;

namespace {

using Bytes = std::vector<std::uint8_t>;

const std::filesystem::path k_table =
    std::filesystem::path(__FILE__).parent_path() / "golden/sms_cases.json";
constexpr std::string_view k_link = "telkomsel";

json load_table() {
  std::ifstream in(k_table);
  if (!in) {
    throw std::runtime_error("cannot read " + k_table.string());
  }
  return json::parse(in);
}

// Hex digits, optionally grouped by blanks ("050003A40201 4C41...").
Bytes from_hex(std::string_view hex) {
  Bytes out;
  int high = -1;
  for (const char c : hex) {
    if (c == ' ') {
      continue;
    }
    int nibble = -1;
    if (c >= '0' && c <= '9') {
      nibble = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      nibble = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      nibble = c - 'a' + 10;
    } else {
      throw std::invalid_argument("not a hex digit in: " + std::string(hex));
    }
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | nibble));
      high = -1;
    }
  }
  if (high >= 0) {
    throw std::invalid_argument("odd number of hex digits in: " + std::string(hex));
  }
  return out;
}

std::uint16_t tlv_tag(const std::string& name) {
  static const std::map<std::string, std::uint16_t> k_tags{
      {"sar_msg_ref_num", smpp::tlv_tag::sar_msg_ref_num},
      {"sar_total_segments", smpp::tlv_tag::sar_total_segments},
      {"sar_segment_seqnum", smpp::tlv_tag::sar_segment_seqnum},
      {"message_payload", smpp::tlv_tag::message_payload}};
  if (const auto it = k_tags.find(name); it != k_tags.end()) {
    return it->second;
  }
  if (name.starts_with("0x")) {
    return static_cast<std::uint16_t>(std::stoul(name.substr(2), nullptr, 16));
  }
  throw std::invalid_argument("unknown TLV tag " + name);
}

sms::DefaultCoding default_coding(const json& c) {
  const auto name = c.value("default_data_coding", std::string("gsm7"));
  if (name == "gsm7") {
    return sms::DefaultCoding::gsm7;
  }
  if (name == "latin1") {
    return sms::DefaultCoding::latin1;
  }
  if (name == "ascii") {
    return sms::DefaultCoding::ascii;
  }
  throw std::invalid_argument("unknown default_data_coding " + name);
}

// The parts of a case: its "parts" list, or the case itself as one part.
std::vector<json> parts_of(const json& c) {
  if (c.contains("parts")) {
    return c.at("parts").get<std::vector<json>>();
  }
  return {c};
}

smpp::ShortMessageFields deliver_sm(const json& c, const json& part) {
  smpp::ShortMessageFields fields;
  fields.source = smpp::Address{1, 1, part.value("sender", c.at("sender").get<std::string>())};
  fields.destination = smpp::Address{3, 0, "1708"};
  fields.data_coding = part.at("data_coding").get<std::uint8_t>();
  fields.esm_class = part.at("esm_class").get<std::uint8_t>();
  fields.short_message = from_hex(part.at("short_message").get<std::string>());
  for (const auto& tlv : part.value("tlvs", json::array())) {
    fields.tlvs.push_back(smpp::Tlv{tlv_tag(tlv.at("tag").get<std::string>()),
                                    from_hex(tlv.at("value").get<std::string>())});
  }
  return fields;
}

store::IntakePolicy policy_for(const json& c) {
  auto policy = test_policy();
  if (c.contains("keywords")) {
    const auto& k = c.at("keywords");
    policy.keywords.report = k.at("report").get<std::vector<std::string>>();
    policy.keywords.status = k.at("status").get<std::vector<std::string>>();
    policy.keywords.help = k.at("help").get<std::vector<std::string>>();
  }
  return policy;
}

std::optional<std::string> optional_string(const json& value) {
  if (value.is_null()) {
    return std::nullopt;
  }
  return value.get<std::string>();
}

// Whether the user data header that leads `data` has an element `iei`.
bool has_element(const Bytes& data, std::uint8_t iei) {
  const std::size_t end = 1u + data.at(0);
  for (std::size_t k = 1; k + 1 < end && k + 1 < data.size(); k += 2u + data[k + 1]) {
    if (data[k] == iei) {
      return true;
    }
  }
  return false;
}

bool is_ref(std::string_view ref) {
  if (!ref.starts_with("MTR") || ref.size() < 3 + sms::k_ref_min_symbols ||
      ref.size() > 3 + sms::k_ref_max_symbols) {
    return false;
  }
  return std::all_of(ref.begin() + 3, ref.end(),
                     [](char c) { return sms::k_ref_alphabet.find(c) != std::string_view::npos; });
}

// What the database shows the message asked for. A single SMS keeps its
// command in its inbound row; the parts of a set are rows marked 'part', so
// there the command shows in what it caused. Help and an unknown text both
// cause one help reply, so after a join they read the same.
std::string observed_command(Connection& db) {
  std::vector<std::string> commands;
  auto stmt = db.prepare_uncached("SELECT DISTINCT command FROM inbound WHERE command <> 'part'");
  while (stmt->step()) {
    commands.push_back(stmt->column_text(0));
  }
  if (commands.size() == 1) {
    return commands.front();
  }
  if (!commands.empty()) {
    return "several commands";
  }
  if (count_rows(db, "reports") > 0) {
    return "report";
  }
  if (count_rows(db, "outbound", "kind = 'empty_report'") > 0) {
    return "empty_report";
  }
  if (count_rows(db, "outbound", "kind IN ('unknown_ref', 'status_reply')") > 0) {
    return "status";
  }
  if (count_rows(db, "outbound", "kind = 'help'") > 0) {
    return "help or unknown";
  }
  return "nothing";
}

bool command_matches(const std::string& observed, const std::string& expected) {
  if (observed == "help or unknown") {
    return expected == "help" || expected == "unknown";
  }
  return observed == expected;
}

void run_case(const json& c) {
  const auto& expect = c.at("expect");
  const auto policy = policy_for(c);
  const auto coding = default_coding(c);
  TestDb t;

  std::int64_t now = k_t0;
  const auto parts = parts_of(c);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    now = k_t0 + static_cast<std::int64_t>(i) * 1000;
    const auto inbound =
        relay::make_inbound(std::string(k_link), coding, deliver_sm(c, parts[i]), now);
    // As the store's writer does it: one transaction for each MO.
    t.db.exec("BEGIN IMMEDIATE");
    store::record_inbound(t.db, inbound, policy);
    t.db.exec("COMMIT");
  }
  // Long after the reassembly timeout: an incomplete set is filed now, and
  // nothing else may be.
  t.db.exec("BEGIN IMMEDIATE");
  const int expired =
      store::file_expired_parts(t.db, now + policy.concat_timeout_ms + 1000, policy);
  t.db.exec("COMMIT");
  CHECK(expired == expect.at("expired_sets").get<int>());

  const auto msisdn = expect.at("msisdn").get<std::string>();
  const auto command = expect.at("command").get<std::string>();
  CHECK(count_rows(t.db, "inbound") == expect.at("inbound_rows").get<std::int64_t>());
  CHECK(count_rows(t.db, "inbound", fmt::format("msisdn <> '{}'", msisdn)) == 0);
  CHECK((count_rows(t.db, "inbound", "had_invalid <> 0") > 0) ==
        expect.at("had_invalid").get<bool>());
  const auto observed = observed_command(t.db);
  CHECK_MESSAGE(command_matches(observed, command), "observed command: " << observed);

  // The report, when there is one.
  const auto text = optional_string(expect.at("text"));
  CHECK(count_rows(t.db, "reports") == (text ? 1 : 0));
  CHECK(count_rows(t.db, "upstream_jobs", "state = 'pending'") == (text ? 1 : 0));
  std::string ref;
  if (text) {
    auto row = t.db.prepare_uncached(
        "SELECT id, ref, msisdn, link, text, rahasia, anonim, incomplete, state FROM reports");
    if (!row->step()) {
      return; // the count above has failed already
    }
    const auto report_id = row->column_int(0);
    ref = row->column_text(1);
    CHECK_MESSAGE(is_ref(ref), "ref: " << ref);
    CHECK(row->column_text(2) == msisdn);
    CHECK(row->column_text(3) == k_link);
    CHECK(row->column_text(4) == *text);
    CHECK((row->column_int(5) != 0) == expect.at("rahasia").get<bool>());
    CHECK((row->column_int(6) != 0) == expect.at("anonim").get<bool>());
    CHECK((row->column_int(7) != 0) == expect.at("incomplete").get<bool>());
    CHECK(row->column_text(8) == "received");
    CHECK(count_rows(t.db, "inbound", fmt::format("report_id = {}", report_id)) ==
          expect.at("linked_rows").get<std::int64_t>());
    CHECK(count_rows(t.db, "upstream_jobs", fmt::format("report_id = {}", report_id)) == 1);
  } else {
    CHECK_FALSE(expect.at("rahasia").get<bool>());
    CHECK_FALSE(expect.at("anonim").get<bool>());
    CHECK_FALSE(expect.at("incomplete").get<bool>());
    CHECK(count_rows(t.db, "inbound", "report_id IS NOT NULL") == 0);
  }

  // The replies, in the order they were queued, each with its whole text.
  const auto rows = replies(t.db);
  const auto kinds = expect.at("replies").get<std::vector<std::string>>();
  std::vector<std::string> got_kinds;
  for (const auto& r : rows) {
    got_kinds.push_back(r.kind);
  }
  CHECK(fmt::format("{}", fmt::join(got_kinds, ", ")) == fmt::format("{}", fmt::join(kinds, ", ")));
  std::optional<std::string> argument;
  const auto& templates = policy.replies;
  for (const auto& r : rows) {
    CAPTURE(r.kind);
    CHECK(r.msisdn == msisdn);
    CHECK(r.link == k_link);
    CHECK(r.state == "queued");
    if (r.kind == "received") {
      CHECK(r.text == "Diterima " + ref + ".");
      CHECK(templates.received == "Diterima {ref}.");
    } else if (r.kind == "help") {
      CHECK(r.text == templates.help);
    } else if (r.kind == "empty_report") {
      CHECK(r.text == templates.empty_report);
    } else if (r.kind == "unknown_ref") {
      // "Nomor {ref} tidak ditemukan." with {ref} the argument as typed.
      constexpr std::string_view head = "Nomor ";
      constexpr std::string_view tail = " tidak ditemukan.";
      CHECK(templates.unknown_ref == "Nomor {ref} tidak ditemukan.");
      const bool framed = r.text.size() >= head.size() + tail.size() && r.text.starts_with(head) &&
                          r.text.ends_with(tail);
      CHECK_MESSAGE(framed, "unknown_ref text: " << r.text);
      if (framed) {
        argument = r.text.substr(head.size(), r.text.size() - head.size() - tail.size());
      }
    } else {
      FAIL_CHECK("a reply the table does not expect: " << r.kind);
    }
  }
  CHECK(argument.value_or("(none)") == optional_string(expect.at("argument")).value_or("(none)"));
}

} // namespace

TEST_SUITE("app::golden SMS") {
  TEST_CASE("the table covers what issue 4 asks for") {
    const auto table = load_table();
    const auto& cases = table.at("cases");
    CHECK(cases.size() >= 60);

    std::set<std::string> names;
    std::set<std::string> commands;
    std::map<std::string, int> seen;
    for (const auto& c : cases) {
      const auto name = c.at("name").get<std::string>();
      CAPTURE(name);
      CHECK(names.insert(name).second);
      const auto& expect = c.at("expect");
      commands.insert(expect.at("command").get<std::string>());
      if (expect.at("rahasia").get<bool>()) {
        ++seen["rahasia"];
      }
      if (expect.at("anonim").get<bool>()) {
        ++seen["anonim"];
      }
      if (expect.at("incomplete").get<bool>()) {
        ++seen["incomplete"];
      }
      const auto parts = parts_of(c);
      std::set<std::string> distinct;
      std::vector<int> order;
      for (const auto& part : parts) {
        distinct.insert(part.dump());
        const auto fields = deliver_sm(c, part);
        const auto* payload = smpp::find_tlv(fields.tlvs, smpp::tlv_tag::message_payload);
        const Bytes& data = payload != nullptr ? payload->value : fields.short_message;
        const auto dc = fields.data_coding;
        if (payload != nullptr) {
          ++seen["message_payload"];
        }
        if (dc == 0 && std::find(data.begin(), data.end(), sms::k_gsm_escape) != data.end()) {
          ++seen["gsm7 escape"];
        }
        if (dc == 3) {
          ++seen["latin1"];
        }
        if (dc == 8) {
          for (std::size_t k = 0; k + 1 < data.size(); k += 2) {
            if (data[k] >= 0xD8 && data[k] <= 0xDB) {
              ++seen["ucs2 surrogate pair"];
              break;
            }
          }
        }
        if (smpp::find_tlv(fields.tlvs, smpp::tlv_tag::sar_segment_seqnum) != nullptr) {
          ++seen["sar"];
          order.push_back(
              smpp::find_tlv(fields.tlvs, smpp::tlv_tag::sar_segment_seqnum)->value.at(0));
        }
        if ((fields.esm_class & sms::k_esm_udhi) != 0) {
          const auto ud = sms::split_user_data(data);
          REQUIRE(ud.has_value());
          if (ud->concat) {
            order.push_back(ud->concat->sequence);
            const bool wide = has_element(data, sms::k_iei_concat_16bit);
            ++seen[fmt::format("udh{} {} parts", wide ? 16 : 8, unsigned{ud->concat->total})];
          }
        }
      }
      if (!std::is_sorted(order.begin(), order.end())) {
        ++seen["out of order"];
      }
      if (distinct.size() < parts.size()) {
        ++seen["same PDU twice"];
      }
    }
    for (const char* kind : {"report", "empty_report", "status", "help", "unknown", "binary"}) {
      CAPTURE(kind);
      CHECK(commands.count(kind) == 1);
    }
    for (const char* what : {"rahasia", "anonim", "incomplete", "message_payload", "gsm7 escape",
                             "latin1", "ucs2 surrogate pair", "sar", "udh8 2 parts", "udh8 3 parts",
                             "udh16 2 parts", "udh16 3 parts", "out of order", "same PDU twice"}) {
      CAPTURE(what);
      CHECK(seen[what] > 0);
    }
  }

  TEST_CASE("every SMS in the table gives the report, flags, command and replies expected") {
    const auto table = load_table();
    for (const auto& c : table.at("cases")) {
      const auto name = c.at("name").get<std::string>();
      INFO("case: " << name);
      run_case(c);
    }
  }
}

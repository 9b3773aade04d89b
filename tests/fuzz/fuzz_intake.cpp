// libFuzzer target for the intake path: decoding, reassembly and the keyword
// parser as the daemon runs them, relay::make_inbound then store::record_inbound
// on a real (in-memory) SQLite database, then store::file_expired_parts.
// Whatever the SMSC sends, nothing throws or crashes, every text stored is
// well-formed UTF-8, and no part of a concatenated SMS waits forever.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize=function
//     -DBOOST_ASIO_HAS_CO_AWAIT=1 -DBOOST_ASIO_NO_DEPRECATED -Iinclude
//     tests/fuzz/fuzz_intake.cpp src/relay/inbound.cpp src/store/*.cpp src/sms/*.cpp
//     src/smpp/pdu.cpp src/smpp/receipt.cpp src/util/*.cpp
//     -lsqlite3 -lfmt -lssl -lcrypto -lsystemd -o fuzz_intake
// (clang 14 with libstdc++: Asio 1.18 enables co_await only when told to, and
// -fsanitize=function fails on the coroutines in store.cpp and inbound.cpp.)
//   ./fuzz_intake tests/fuzz/corpus/intake
//
// Input: octet 0 sets the policy (bits 0-1 default_data_coding, bit 2
// reply_to_short_numbers, bit 3 the default confidentiality flags, bits 4-7
// min_report_chars). Then up to k_max_records records, each:
//   flags          bits 0-2 the sender (k_senders), bit 3 let the reassembly
//                  timeout pass first, bit 4 SAR TLVs follow, bit 5 the data
//                  goes in message_payload, bit 6 the second link, bit 7 the
//                  SMSC delivers the record twice
//   data_coding, esm_class
//   [sar_msg_ref_num (2 octets), sar_total_segments, sar_segment_seqnum]
//   length (1 octet; 2 octets, big-endian, for message_payload), the data
// A record cut short by the end of the input is sent as far as it goes.
#include <laporsms/relay/inbound.hpp>
#include <laporsms/smpp/pdu.hpp>
#include <laporsms/sms/charset.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace laporsms;

namespace {

constexpr std::size_t k_max_records = 12;
constexpr std::int64_t k_t0 = 1'795'000'000'000;

// Numbers in every form an SMSC sends them (the first three are one citizen),
// a short code, an alphanumeric sender, nothing, and an international prefix.
constexpr std::array<std::string_view, 8> k_senders = {
    "6281234567890", "081234567890", "+6281234567890", "6285712345678", "1708", "TELKOMSEL", "",
    "00 62-812 345"};

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

// Strict UTF-8 (RFC 3629), written here rather than taken from the code
// under test.
bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    if ((b0 & 0xE0) == 0xC0) {
      n = 2;
      cp = b0 & 0x1F;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3;
      cp = b0 & 0x0F;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4;
      cp = b0 & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < n) {
      return false;
    }
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

bool is_ascii_blank(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

// One database for the whole run; each input runs in a transaction that is
// rolled back, so every input starts from the same empty, migrated schema.
store::Connection& database() {
  static store::Connection* db = [] {
    auto* c = new store::Connection(":memory:", store::OpenMode::read_write_create);
    c->exec("PRAGMA foreign_keys = ON");
    store::migrate(*c);
    return c;
  }();
  return *db;
}

class Reader {
public:
  Reader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  bool empty() const { return m_pos >= m_size; }
  std::uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  std::vector<std::uint8_t> bytes(std::size_t n) {
    const std::size_t take = std::min(n, m_size - std::min(m_pos, m_size));
    std::vector<std::uint8_t> out(m_data + m_pos, m_data + m_pos + take);
    m_pos += take;
    return out;
  }

private:
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_pos = 0;
};

store::IntakePolicy policy_from(std::uint8_t flags) {
  store::IntakePolicy policy;
  policy.ref_prefix = "MTR";
  policy.min_report_chars = flags >> 4;
  policy.max_reports_per_sender = 3;
  policy.reply_to_short_numbers = (flags & 0x04) != 0;
  policy.default_rahasia = (flags & 0x08) != 0;
  policy.default_anonim = (flags & 0x08) != 0;
  policy.replies.received = "Diterima {ref}.";
  policy.replies.status_reply = "Laporan {ref} (#{tracking_id}): {status}, {updated}.";
  policy.replies.help = "Format: LAPORYAI isi laporan.";
  policy.replies.empty_report = "Isi laporan belum ada.";
  policy.replies.unknown_ref = "Nomor {ref} tidak ditemukan.";
  policy.replies.rate_limited = "Terlalu banyak laporan.";
  return policy;
}

std::vector<std::string> texts(store::Connection& db, std::string_view sql) {
  std::vector<std::string> out;
  auto stmt = db.prepare_uncached(sql);
  while (stmt->step()) {
    out.push_back(stmt->column_text(0));
  }
  return out;
}

void check_database(store::Connection& db, const store::IntakePolicy& policy, std::size_t sent) {
  for (const auto& text : texts(db, "SELECT text FROM reports")) {
    check(is_utf8(text), "reports.text is well-formed UTF-8");
    check(!text.empty(), "a report has text");
    check(!is_ascii_blank(text.front()) && !is_ascii_blank(text.back()), "report text is trimmed");
    std::size_t code_points = 0;
    for (const char c : text) {
      code_points += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    check(code_points >= policy.min_report_chars, "a report has min_report_chars");
  }
  for (const auto& text : texts(db, "SELECT text FROM inbound")) {
    check(is_utf8(text), "inbound.text is well-formed UTF-8");
  }
  for (const auto& text : texts(db, "SELECT text FROM outbound")) {
    check(is_utf8(text), "outbound.text is well-formed UTF-8");
  }
  check(db.query_int("SELECT count(*) FROM inbound") <= static_cast<std::int64_t>(sent),
        "at most one inbound row per MO");
  check(db.query_int("SELECT count(*) FROM reports") <= static_cast<std::int64_t>(sent),
        "at most one report per MO");
  check(db.query_int("SELECT count(*) FROM inbound_parts WHERE joined_at IS NULL") == 0,
        "no part waits past the reassembly timeout");
  check(db.query_int("SELECT count(*) FROM reports r WHERE r.state = 'received' AND NOT EXISTS "
                     "(SELECT 1 FROM upstream_jobs j WHERE j.report_id = r.id)") == 0,
        "every received report has an upstream job");
  check(db.query_int("SELECT count(*) FROM upstream_jobs j WHERE NOT EXISTS "
                     "(SELECT 1 FROM reports r WHERE r.id = j.report_id)") == 0,
        "every upstream job has its report");
  check(db.query_int("SELECT count(*) FROM reports WHERE ref IS NULL") == 0,
        "every report has a ref");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  Reader in(data, size);
  const auto policy = policy_from(in.byte());
  const auto default_coding = static_cast<sms::DefaultCoding>((data[0] & 0x03) % 3);

  auto& db = database();
  db.exec("BEGIN");
  std::int64_t now = k_t0;
  std::size_t sent = 0;
  for (std::size_t record = 0; record < k_max_records && !in.empty(); ++record) {
    const std::uint8_t flags = in.byte();
    smpp::ShortMessageFields message;
    message.source = smpp::Address{1, 1, std::string(k_senders[flags & 0x07])};
    message.destination = smpp::Address{3, 0, "1708"};
    message.data_coding = in.byte();
    message.esm_class = in.byte();
    if ((flags & 0x10) != 0) {
      message.tlvs.push_back({smpp::tlv_tag::sar_msg_ref_num, in.bytes(2)});
      message.tlvs.push_back({smpp::tlv_tag::sar_total_segments, in.bytes(1)});
      message.tlvs.push_back({smpp::tlv_tag::sar_segment_seqnum, in.bytes(1)});
    }
    if ((flags & 0x20) != 0) {
      const std::size_t length = static_cast<std::size_t>(in.byte()) << 8 | in.byte();
      message.tlvs.push_back({smpp::tlv_tag::message_payload, in.bytes(length)});
    } else {
      message.short_message = in.bytes(in.byte());
    }
    if ((flags & 0x08) != 0) {
      now += policy.concat_timeout_ms + 1000;
      store::file_expired_parts(db, now, policy);
    }
    now += 1000;
    const std::string link = (flags & 0x40) != 0 ? "indosat" : "telkomsel";
    const int deliveries = (flags & 0x80) != 0 ? 2 : 1;
    for (int k = 0; k < deliveries; ++k) {
      const auto sms = relay::make_inbound(link, default_coding, message, now);
      check(is_utf8(sms.text), "make_inbound gives well-formed UTF-8");
      check(!sms.binary || sms.text.empty(), "binary has no text");
      store::record_inbound(db, sms, policy);
      ++sent;
    }
  }
  store::file_expired_parts(db, now + policy.concat_timeout_ms + 1000, policy);
  check_database(db, policy, sent);
  db.exec("ROLLBACK");
  return 0;
}

// Value types that cross the store's boundary: what goes in, what comes out.
#pragma once

#include <laporsms/sms/charset.hpp>
#include <laporsms/sms/command.hpp>
#include <laporsms/sms/udh.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::store {

// What the outbox of a reply's link holds for it, reserved on the io thread
// before the transaction that queues the reply.
enum class ReplyRoom : std::uint8_t {
  none,    // nothing: the reply waits in the queue for the outbox's claim
  claimed, // room to take it: queued claimed and handed over in memory; the
           // outbox marks it started (a commit of its own) before it leaves
  started, // also a submit_sm that may leave at once (smpp::SubmitTicket):
           // marked started in the same fsync'd commit that queues it, so
           // its first part leaves without a commit of its own
};

// One SMS as it reached us, already decoded and parsed on the io thread.
struct InboundSms {
  std::string link;
  std::int64_t received_at = 0; // Unix ms
  std::string source_addr;      // as the SMSC sent it
  std::string msisdn;           // normalised (628...)
  std::string destination_addr;
  std::uint8_t data_coding = 0;
  std::uint8_t esm_class = 0;
  std::vector<std::uint8_t> raw; // short_message or message_payload as received
  std::string text;              // UTF-8 (of this part alone, for a part)
  bool had_invalid = false;
  bool binary = false;
  bool short_or_alphanumeric_sender = false;
  // One part of a concatenated SMS (UDH or SAR TLVs): joined with its
  // siblings in the store before anything else happens.
  std::optional<sms::ConcatInfo> concat;
  std::vector<std::uint8_t> body; // the user data after any UDH
  sms::DefaultCoding default_coding = sms::DefaultCoding::gsm7;
  // Identifies a redelivery of the same PDU (sender, coding, bytes).
  std::int64_t fingerprint = 0;
  // A forwarder slot waits for it: a report filed from this SMS has its job
  // stored inflight, and IntakeResult::job hands it over without a claim.
  bool hand_over_job = false;
  // What the outbox of `link` holds for its reply: queued claimed (and maybe
  // started), and IntakeResult::replies hands it over.
  ReplyRoom reply_room = ReplyRoom::none;
};

// The reply texts with their {placeholders}, as configured; the defaults
// are interfaces.md's. Each uses only its own placeholders, checked at load:
// received {ref}; forwarded {ref} {tracking_id}; status_changed {tracking_id}
// {status} {note} {ref}; status_reply {ref} {tracking_id} {status} {updated};
// unknown_ref {ref}; failed {ref}; help, empty_report and rate_limited none.
struct ReplyTemplates {
  std::string received = "Terima kasih, laporan Anda kami terima dengan nomor {ref}. Kami "
                         "teruskan ke LAPOR! dan kabari Anda via SMS.";
  std::string forwarded = "Laporan {ref} sudah masuk LAPOR! dengan Tracking ID #{tracking_id}. "
                          "Pantau: lapor.go.id/pengaduan/{tracking_id} atau SMS CEK "
                          "{tracking_id} ke 1708.";
  std::string status_changed = "Laporan #{tracking_id}: {status}. {note}";
  std::string status_reply = "Laporan {ref} (#{tracking_id}): {status}, diperbarui {updated}.";
  std::string help = "Format: LAPORYAI spasi isi laporan, kirim ke 1708. Cek status: CEK spasi "
                     "nomor laporan.";
  std::string empty_report =
      "Isi laporan belum ada. Ketik LAPORYAI spasi isi laporan, kirim ke 1708.";
  std::string unknown_ref = "Nomor laporan {ref} tidak ditemukan. Periksa kembali nomornya.";
  std::string rate_limited = "Laporan Anda sudah banyak dalam 1 jam terakhir. Laporan berikutnya "
                             "kami simpan untuk diperiksa petugas.";
  std::string failed = "Maaf, laporan {ref} belum dapat diteruskan ke LAPOR!. Petugas kami akan "
                       "menindaklanjuti.";

  bool operator==(const ReplyTemplates&) const = default;
};

struct IntakePolicy {
  sms::Keywords keywords;
  // How long an identical MO (same link, sender and octets) is taken for the
  // SMSC redelivering one whose deliver_sm_resp it never saw: the carrier's
  // redelivery horizon. Per link, with a default for links not named.
  std::int64_t redelivery_window_ms = 72LL * 3600 * 1000;
  std::map<std::string, std::int64_t, std::less<>> redelivery_horizon_ms;
  // For INFO, CEK and stray texts the horizon is at most this: a citizen who
  // asks again later is answered again, not swallowed.
  std::int64_t command_redelivery_ms = 60 * 1000;
  std::int64_t horizon_ms(std::string_view link) const {
    const auto it = redelivery_horizon_ms.find(link);
    return it != redelivery_horizon_ms.end() ? it->second : redelivery_window_ms;
  }
  std::int64_t concat_timeout_ms = 5 * 60 * 1000;
  std::string ref_prefix = "MTR";
  std::size_t min_report_chars = 10;
  unsigned max_reports_per_sender = 5;
  std::int64_t sender_window_ms = 3600 * 1000;
  bool reply_to_short_numbers = false;
  bool default_rahasia = true;
  bool default_anonim = true;
  ReplyTemplates replies;
};

// A reply waiting in the outbound queue.
struct OutboundItem {
  std::int64_t id = 0;
  std::string link;
  std::string msisdn;
  std::string text;
  std::int64_t created_at = 0;
  // Marked started in the commit that queued it (ReplyRoom::started): the
  // outbox sends it on the ticket it holds, without marking it again.
  bool started = false;
};

// A report due to be forwarded upstream.
struct UpstreamJob {
  std::int64_t report_id = 0;
  std::string ref;
  std::string msisdn;
  std::string link;
  std::string text;
  bool rahasia = true;
  bool anonim = true;
  std::int64_t received_at = 0;
  std::int64_t created_at = 0;
  int attempts = 0; // including the one now claimed
  // In memory only: every reply the intake queued for this report went
  // straight to the outbox, so its outcome's reply may too without
  // overtaking one still in the queue (replies keep their order per citizen).
  bool replies_handed_over = false;
};

struct IntakeResult {
  bool redelivery = false;     // the same MO was stored moments ago: nothing stored now
  bool part_waiting = false;   // a part stored; its siblings have not all arrived
  bool duplicate_part = false; // a part we already had
  std::int64_t inbound_id = 0;
  std::optional<std::int64_t> report_id;
  std::string ref;
  int replies_queued = 0;
  bool job_queued = false;
  // The reply queued claimed for the room InboundSms::reply_room
  // reserved (at most one); the others are in the queue.
  std::vector<OutboundItem> replies;
  // The report's job, stored inflight for the slot InboundSms::hand_over_job
  // reserved.
  std::optional<UpstreamJob> job;
};

enum class UpstreamOutcomeKind { delivered, temporary, auth_error, rejected, gave_up };

// The word upstream_attempts stores (and logs show) for an outcome.
constexpr std::string_view name(UpstreamOutcomeKind kind) {
  switch (kind) {
  case UpstreamOutcomeKind::delivered:
    return "delivered";
  case UpstreamOutcomeKind::temporary:
    return "temporary";
  case UpstreamOutcomeKind::auth_error:
    return "auth_error";
  case UpstreamOutcomeKind::rejected:
    return "rejected";
  case UpstreamOutcomeKind::gave_up:
    return "gave_up";
  }
  return "temporary";
}

struct UpstreamOutcome {
  UpstreamOutcomeKind kind = UpstreamOutcomeKind::temporary;
  std::string tracking_id;
  std::string transaction_id;
  std::string error;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;
  std::int64_t next_attempt_at = 0; // for temporary and auth_error
};

} // namespace laporsms::store

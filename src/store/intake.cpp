#include <laporsms/sms/ref.hpp>
#include <laporsms/sms/template.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/util/clock.hpp>

#include <map>

namespace laporsms::store {
namespace {

using Values = std::map<std::string, std::string, std::less<>>;

std::string_view command_word(sms::CommandKind kind) {
  switch (kind) {
  case sms::CommandKind::report:
    return "report";
  case sms::CommandKind::status:
    return "status";
  case sms::CommandKind::help:
    return "help";
  case sms::CommandKind::empty_report:
    return "empty_report";
  case sms::CommandKind::unknown:
    return "unknown";
  }
  return "unknown";
}

std::int64_t insert_inbound(Connection& db, const InboundSms& sms, std::string_view command) {
  auto& stmt =
      db.prepare("INSERT INTO inbound (link, received_at, source_addr, msisdn, destination_addr, "
                 "data_coding, esm_class, raw, text, had_invalid, command) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  stmt.bind(1, sms.link)
      .bind(2, sms.received_at)
      .bind(3, sms.source_addr)
      .bind(4, sms.msisdn)
      .bind(5, sms.destination_addr)
      .bind(6, static_cast<int>(sms.data_coding))
      .bind(7, static_cast<int>(sms.esm_class))
      .bind_blob(8, sms.raw)
      .bind(9, sms.text)
      .bind(10, sms.had_invalid)
      .bind(11, command);
  stmt.run();
  return db.last_insert_rowid();
}

// Whether `msisdn` was sent a reply of `kind` since `since`.
bool replied_since(Connection& db, std::string_view msisdn, std::string_view kind,
                   std::int64_t since) {
  auto& stmt =
      db.prepare("SELECT 1 FROM outbound WHERE msisdn = ? AND kind = ? AND created_at > ? LIMIT 1");
  stmt.bind(1, msisdn).bind(2, kind).bind(3, since);
  const bool found = stmt.step();
  stmt.reset();
  return found;
}

std::int64_t reports_since(Connection& db, std::string_view msisdn, std::int64_t since) {
  auto& stmt = db.prepare("SELECT count(*) FROM reports WHERE msisdn = ? AND received_at > ?");
  stmt.bind(1, msisdn).bind(2, since);
  const std::int64_t n = stmt.step() ? stmt.column_int(0) : 0;
  stmt.reset();
  return n;
}

std::string format_local_time(std::int64_t unix_ms) {
  // "2026-11-29 13:05": the citizen's clock, not UTC.
  const auto full = util::format_rfc3339(unix_ms, util::local_utc_offset_minutes(unix_ms));
  return full.substr(0, 10) + " " + full.substr(11, 5);
}

void answer_status(Connection& db, const InboundSms& sms, const sms::Command& command,
                   const IntakePolicy& policy, bool may_reply, IntakeResult& result) {
  std::string argument = command.argument;
  if (!argument.empty() && argument.front() == '#') {
    argument.erase(0, 1);
  }
  std::optional<std::int64_t> report_id;
  std::string ref;
  std::string tracking_id;
  std::string status;
  std::int64_t updated = 0;
  const auto lookup = [&](std::string_view sql, std::string_view key) {
    auto& stmt = db.prepare(sql);
    stmt.bind(1, key);
    if (stmt.step()) {
      report_id = stmt.column_int(0);
      ref = stmt.column_text(1);
      tracking_id = stmt.column_text(2);
      const auto state = stmt.column_text(3);
      status = stmt.column_optional_text(4).value_or(describe_state(state));
      updated = stmt.column_int(5);
    }
    stmt.reset();
  };
  constexpr std::string_view k_columns =
      "SELECT id, ref, coalesce(tracking_id, '-'), state, status, "
      "coalesce(status_updated_at, updated_at) FROM reports ";
  if (const auto canonical = sms::canonical_ref(policy.ref_prefix, argument)) {
    lookup(std::string(k_columns) + "WHERE ref = ?", *canonical);
  }
  if (!report_id) {
    lookup(std::string(k_columns) + "WHERE tracking_id = ? ORDER BY id DESC LIMIT 1", argument);
  }
  if (!may_reply) {
    return;
  }
  if (report_id) {
    const Values values{{"ref", ref},
                        {"tracking_id", tracking_id},
                        {"status", status},
                        {"updated", format_local_time(updated)}};
    queue_reply(db, report_id, "status_reply", sms.link, sms.msisdn,
                sms::render_template(policy.replies.status_reply, values), sms.received_at);
  } else {
    queue_reply(db, std::nullopt, "unknown_ref", sms.link, sms.msisdn,
                sms::render_template(policy.replies.unknown_ref, Values{{"ref", command.argument}}),
                sms.received_at);
  }
  ++result.replies_queued;
}

void file_report(Connection& db, const InboundSms& sms, const sms::Command& command,
                 const IntakePolicy& policy, bool may_reply, IntakeResult& result) {
  const std::int64_t window_start = sms.received_at - policy.sender_window_ms;
  const bool over_limit =
      reports_since(db, sms.msisdn, window_start) >= policy.max_reports_per_sender;
  const bool rahasia = command.rahasia || policy.default_rahasia;
  const bool anonim = command.anonim || policy.default_anonim;

  auto& insert = db.prepare(
      "INSERT INTO reports (msisdn, link, text, rahasia, anonim, state, received_at, updated_at) "
      "VALUES (?,?,?,?,?,?,?,?)");
  insert.bind(1, sms.msisdn)
      .bind(2, sms.link)
      .bind(3, command.text)
      .bind(4, rahasia)
      .bind(5, anonim)
      .bind(6, over_limit ? "held" : "received")
      .bind(7, sms.received_at)
      .bind(8, sms.received_at);
  insert.run();
  const std::int64_t report_id = db.last_insert_rowid();
  result.report_id = report_id;
  result.ref = sms::make_ref(policy.ref_prefix, static_cast<std::uint64_t>(report_id));
  auto& set_ref = db.prepare("UPDATE reports SET ref = ? WHERE id = ?");
  set_ref.bind(1, result.ref).bind(2, report_id);
  set_ref.run();

  if (over_limit) {
    // Stored and visible to operators, but not forwarded; told once a window.
    if (may_reply && !replied_since(db, sms.msisdn, "rate_limited", window_start)) {
      queue_reply(db, report_id, "rate_limited", sms.link, sms.msisdn,
                  sms::render_template(policy.replies.rate_limited, Values{}), sms.received_at);
      ++result.replies_queued;
    }
    return;
  }
  auto& job = db.prepare(
      "INSERT INTO upstream_jobs (report_id, state, next_attempt_at, created_at, updated_at) "
      "VALUES (?, 'pending', ?, ?, ?)");
  job.bind(1, report_id).bind(2, sms.received_at).bind(3, sms.received_at).bind(4, sms.received_at);
  job.run();
  result.job_queued = true;
  if (may_reply) {
    queue_reply(db, report_id, "received", sms.link, sms.msisdn,
                sms::render_template(policy.replies.received, Values{{"ref", result.ref}}),
                sms.received_at);
    ++result.replies_queued;
  }
}

} // namespace

std::string describe_state(std::string_view state) {
  if (state == "received") {
    return "Diterima";
  }
  if (state == "forwarding") {
    return "Sedang diteruskan ke LAPOR!";
  }
  if (state == "forwarded") {
    return "Sudah diteruskan ke LAPOR!";
  }
  if (state == "closed") {
    return "Selesai";
  }
  if (state == "failed") {
    return "Belum dapat diteruskan";
  }
  if (state == "held") {
    return "Diperiksa petugas";
  }
  return std::string(state);
}

std::int64_t queue_reply(Connection& db, std::optional<std::int64_t> report_id,
                         std::string_view kind, std::string_view link, std::string_view msisdn,
                         std::string_view text, std::int64_t now) {
  auto& stmt = db.prepare(
      "INSERT INTO outbound (report_id, kind, link, msisdn, text, state, created_at, updated_at) "
      "VALUES (?,?,?,?,?,'queued',?,?)");
  stmt.bind(1, report_id)
      .bind(2, kind)
      .bind(3, link)
      .bind(4, msisdn)
      .bind(5, text)
      .bind(6, now)
      .bind(7, now);
  stmt.run();
  return db.last_insert_rowid();
}

IntakeResult record_inbound(Connection& db, const InboundSms& sms, const sms::Command& command,
                            const IntakePolicy& policy) {
  IntakeResult result;
  const std::string_view word = sms.binary ? "binary" : command_word(command.kind);
  result.inbound_id = insert_inbound(db, sms, word);
  const bool may_reply = policy.reply_to_short_numbers || !sms.short_or_alphanumeric_sender;
  if (sms.binary) {
    return result; // kept for operators; nothing a person typed to answer
  }
  switch (command.kind) {
  case sms::CommandKind::report:
    file_report(db, sms, command, policy, may_reply, result);
    break;
  case sms::CommandKind::status:
    answer_status(db, sms, command, policy, may_reply, result);
    break;
  case sms::CommandKind::help:
    if (may_reply) {
      queue_reply(db, std::nullopt, "help", sms.link, sms.msisdn, policy.replies.help,
                  sms.received_at);
      ++result.replies_queued;
    }
    break;
  case sms::CommandKind::empty_report:
    if (may_reply) {
      queue_reply(db, std::nullopt, "empty_report", sms.link, sms.msisdn,
                  policy.replies.empty_report, sms.received_at);
      ++result.replies_queued;
    }
    break;
  case sms::CommandKind::unknown:
    // Help for a stray SMS, but at most once a window: never an SMS ping-pong.
    if (may_reply &&
        !replied_since(db, sms.msisdn, "help", sms.received_at - policy.sender_window_ms)) {
      queue_reply(db, std::nullopt, "help", sms.link, sms.msisdn, policy.replies.help,
                  sms.received_at);
      ++result.replies_queued;
    }
    break;
  }
  if (result.report_id) {
    auto& link = db.prepare("UPDATE inbound SET report_id = ? WHERE id = ?");
    link.bind(1, *result.report_id).bind(2, result.inbound_id);
    link.run();
  }
  return result;
}

} // namespace laporsms::store

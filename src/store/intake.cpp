#include <laporsms/sms/msisdn.hpp>
#include <laporsms/sms/ref.hpp>
#include <laporsms/sms/reply.hpp>
#include <laporsms/sms/template.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/states.hpp>
#include <laporsms/util/clock.hpp>

#include <sqlite3.h>

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
                 "data_coding, esm_class, raw, text, had_invalid, command, fingerprint) "
                 "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
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
      .bind(11, command)
      .bind(12, sms.fingerprint);
  stmt.run();
  return db.last_insert_rowid();
}

// Whether `select` (parameters: a number, then a time) finds a row.
bool any_row(Connection& db, std::string_view select, std::string_view msisdn, std::int64_t since) {
  auto& stmt = db.prepare(select);
  stmt.bind(1, msisdn).bind(2, since);
  const bool found = stmt.step();
  stmt.reset();
  return found;
}

// Whether `msisdn` was told it is over its limit since `since`. The kind is
// written out so the query runs on its partial index.
bool told_rate_limited_since(Connection& db, std::string_view msisdn, std::int64_t since) {
  return any_row(db,
                 "SELECT 1 FROM outbound WHERE kind = 'rate_limited' AND msisdn = ? "
                 "AND created_at > ? LIMIT 1",
                 msisdn, since);
}

// Whether `msisdn` was sent the help text since `since`. Help belongs to no
// report, so it is among the replies indexed by number.
bool told_help_since(Connection& db, std::string_view msisdn, std::int64_t since) {
  return any_row(db,
                 "SELECT 1 FROM outbound WHERE report_id IS NULL AND msisdn = ? "
                 "AND kind = 'help' AND created_at > ? LIMIT 1",
                 msisdn, since);
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

// Queues a reply to the sender of `sms`. The first goes to the outbox room
// InboundSms::reply_room reserved: queued claimed, and in the result.
void queue_intake_reply(Connection& db, IntakeResult& result, std::optional<std::int64_t> report_id,
                        std::string_view kind, const InboundSms& sms, std::string text) {
  const auto room = result.replies.empty() ? sms.reply_room : ReplyRoom::none;
  const auto id =
      queue_reply(db, report_id, kind, sms.link, sms.msisdn, text, sms.received_at, room);
  if (room != ReplyRoom::none) {
    result.replies.push_back(OutboundItem{id, sms.link, sms.msisdn, std::move(text),
                                          sms.received_at, room == ReplyRoom::started});
  }
  ++result.replies_queued;
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
  const auto lookup = [&](std::string_view sql, const auto& key) {
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
    if (const auto id = find_report_by_ref(db, *canonical)) {
      lookup(std::string(k_columns) + "WHERE id = ?", *id);
    }
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
    queue_intake_reply(db, result, report_id, "status_reply", sms,
                       sms::render_template(policy.replies.status_reply, values));
  } else {
    queue_intake_reply(
        db, result, std::nullopt, "unknown_ref", sms,
        sms::render_template(policy.replies.unknown_ref, Values{{"ref", command.argument}}));
  }
}

void file_report(Connection& db, const InboundSms& sms, const sms::Command& command,
                 const IntakePolicy& policy, bool may_reply, IntakeResult& result) {
  const std::int64_t window_start = sms.received_at - policy.sender_window_ms;
  const bool over_limit =
      reports_since(db, sms.msisdn, window_start) >= policy.max_reports_per_sender;
  const bool rahasia = command.rahasia || policy.default_rahasia;
  const bool anonim = command.anonim || policy.default_anonim;

  // The ref is written with the row: its id is known beforehand (the next
  // after the newest ever given, AUTOINCREMENT's rule), so the ref's unique
  // index gets one entry instead of a NULL moved to its place.
  auto& next_id = db.prepare(
      "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'reports'), 0), "
      "coalesce((SELECT max(id) FROM reports), 0)) + 1");
  const std::int64_t report_id = next_id.step() ? next_id.column_int(0) : 1;
  next_id.reset();
  result.report_id = report_id;
  result.ref = sms::make_ref(policy.ref_prefix, static_cast<std::uint64_t>(report_id),
                             deployment_ref_key(db));
  const bool hand_over = sms.hand_over_job && !over_limit;
  const auto state = over_limit  ? ReportState::held
                     : hand_over ? report_state_for(JobState::inflight)
                                 : ReportState::received;
  auto& insert = db.prepare(
      "INSERT INTO reports (id, ref, msisdn, link, text, rahasia, anonim, state, received_at, "
      "updated_at, silent) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  insert.bind(1, report_id)
      .bind(2, result.ref)
      .bind(3, sms.msisdn)
      .bind(4, sms.link)
      .bind(5, command.text)
      .bind(6, rahasia)
      .bind(7, anonim)
      .bind(8, name(state))
      .bind(9, sms.received_at)
      .bind(10, sms.received_at)
      .bind(11, !may_reply);
  insert.run();

  if (over_limit) {
    // Stored and visible to operators, but not forwarded; told once a window.
    if (may_reply && !told_rate_limited_since(db, sms.msisdn, window_start)) {
      queue_intake_reply(db, result, report_id, "rate_limited", sms,
                         sms::render_template(policy.replies.rate_limited, Values{}));
    }
    return;
  }
  // Handed over, the job is claimed here (its first attempt) as
  // claim_due_jobs would have.
  auto& job = db.prepare(
      "INSERT INTO upstream_jobs (report_id, state, attempts, next_attempt_at, created_at, "
      "updated_at) VALUES (?, ?, ?, ?, ?, ?)");
  job.bind(1, report_id)
      .bind(2, name(hand_over ? JobState::inflight : JobState::pending))
      .bind(3, hand_over ? 1 : 0)
      .bind(4, sms.received_at)
      .bind(5, sms.received_at)
      .bind(6, sms.received_at);
  job.run();
  result.job_queued = true;
  if (hand_over) {
    result.job = UpstreamJob{.report_id = report_id,
                             .ref = result.ref,
                             .msisdn = sms.msisdn,
                             .link = sms.link,
                             .text = command.text,
                             .rahasia = rahasia,
                             .anonim = anonim,
                             .received_at = sms.received_at,
                             .created_at = sms.received_at,
                             .attempts = 1};
  }
  if (may_reply) {
    queue_intake_reply(db, result, report_id, "received", sms,
                       sms::render_template(policy.replies.received, Values{{"ref", result.ref}}));
  }
}

} // namespace

std::string describe_state(std::string_view state) {
  const auto known = report_state_named(state);
  return known ? std::string(citizen_words(*known)) : std::string(state);
}

sms::RefKey deployment_ref_key(Connection& db) {
  auto& select = db.prepare("SELECT secret, min_symbols FROM ref_key WHERE id = 1");
  if (!select.step()) {
    select.reset();
    throw SqliteError(SQLITE_CORRUPT, "the database has no ref key");
  }
  const auto secret = select.column_blob(0);
  sms::RefKey key;
  key.min_symbols = static_cast<std::size_t>(select.column_int(1));
  select.reset();
  if (secret.size() != key.secret.size() * sizeof(std::uint64_t)) {
    throw SqliteError(SQLITE_CORRUPT, "the database's ref key is damaged");
  }
  for (std::size_t i = 0; i < secret.size(); ++i) {
    key.secret[i / 8] = (key.secret[i / 8] << 8) | secret[i];
  }
  return key;
}

std::optional<std::int64_t> find_report_by_ref(Connection& db, std::string_view ref) {
  // No index by ref: its id is read off it, and the stored ref confirms it.
  auto& stmt = db.prepare("SELECT 1 FROM reports WHERE id = ? AND ref = ?");
  for (const auto id : sms::ref_id_candidates(ref, deployment_ref_key(db))) {
    stmt.bind(1, static_cast<std::int64_t>(id)).bind(2, ref);
    const bool found = stmt.step();
    stmt.reset();
    if (found) {
      return static_cast<std::int64_t>(id);
    }
  }
  return std::nullopt;
}

std::int64_t queue_reply(Connection& db, std::optional<std::int64_t> report_id,
                         std::string_view kind, std::string_view link, std::string_view msisdn,
                         std::string_view text, std::int64_t now, ReplyRoom room) {
  auto& stmt = db.prepare("INSERT INTO outbound (report_id, kind, link, msisdn, text, state, "
                          "created_at, updated_at, claimed_at, submit_started_at, parts) "
                          "VALUES (?,?,?,?,?,'queued',?,?,?,?,?)");
  const bool started = room == ReplyRoom::started;
  // The part count is the outbox's encoding's (the concatenation reference
  // it picks does not change it); unstarted, the outbox counts them itself.
  const auto parts = started ? static_cast<std::int64_t>(sms::encode_reply(text, 0).size()) : 0;
  stmt.bind(1, report_id)
      .bind(2, kind)
      .bind(3, link)
      .bind(4, msisdn)
      .bind(5, text)
      .bind(6, now)
      .bind(7, now)
      .bind(8, room != ReplyRoom::none ? std::optional(now) : std::nullopt)
      .bind(9, started ? std::optional(now) : std::nullopt)
      .bind(10, parts);
  stmt.run();
  return db.last_insert_rowid();
}

std::optional<std::int64_t> queue_report_reply(Connection& db, std::int64_t report_id,
                                               std::string_view kind, std::string_view link,
                                               std::string_view msisdn, std::string_view text,
                                               std::int64_t now, ReplyRoom room) {
  auto& silent = db.prepare("SELECT silent FROM reports WHERE id = ?");
  silent.bind(1, report_id);
  const bool quiet = silent.step() && silent.column_int(0) != 0;
  silent.reset();
  if (quiet) {
    return std::nullopt;
  }
  return queue_reply(db, report_id, kind, link, msisdn, text, now, room);
}

namespace {

// Acts on a whole message whose inbound row(s) are already stored.
void act_on(Connection& db, const InboundSms& sms, const sms::Command& command,
            const IntakePolicy& policy, IntakeResult& result) {
  const bool may_reply = policy.reply_to_short_numbers || !sms.short_or_alphanumeric_sender;
  if (sms.binary) {
    return; // kept for operators; nothing a person typed to answer
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
      queue_intake_reply(db, result, std::nullopt, "help", sms, policy.replies.help);
    }
    break;
  case sms::CommandKind::empty_report:
    if (may_reply) {
      queue_intake_reply(db, result, std::nullopt, "empty_report", sms,
                         policy.replies.empty_report);
    }
    break;
  case sms::CommandKind::unknown:
    // Help for a stray SMS, but at most once a window: never an SMS ping-pong.
    if (may_reply && !told_help_since(db, sms.msisdn, sms.received_at - policy.sender_window_ms)) {
      queue_intake_reply(db, result, std::nullopt, "help", sms, policy.replies.help);
    }
    break;
  }
}

// An MO identical to one stored from the same link within `horizon_ms`.
bool is_redelivery(Connection& db, const InboundSms& sms, std::int64_t horizon_ms) {
  if (horizon_ms <= 0) {
    return false;
  }
  auto& stmt = db.prepare("SELECT 1 FROM inbound WHERE fingerprint = ? AND received_at > ? "
                          "AND msisdn = ? AND link = ? AND raw = ? LIMIT 1");
  stmt.bind(1, sms.fingerprint)
      .bind(2, sms.received_at - horizon_ms)
      .bind(3, sms.msisdn)
      .bind(4, sms.link)
      .bind_blob(5, sms.raw);
  const bool found = stmt.step();
  stmt.reset();
  return found;
}

struct PartKey {
  std::string msisdn;
  std::int64_t reference = 0;
  std::int64_t total = 0;
};

// Joins the stored parts of `key` in order (missing ones skipped), files the
// whole message and marks the parts joined.
void join_and_file(Connection& db, const PartKey& key, const InboundSms& last,
                   const IntakePolicy& policy, bool incomplete, IntakeResult& result) {
  auto& parts = db.prepare("SELECT seq, body, data_coding, inbound_id, link, received_at, "
                           "default_coding "
                           "FROM inbound_parts WHERE msisdn = ? AND reference = ? AND total = ? "
                           "AND joined_at IS NULL ORDER BY seq");
  parts.bind(1, key.msisdn).bind(2, key.reference).bind(3, key.total);
  std::vector<std::uint8_t> body;
  std::vector<std::int64_t> inbound_ids;
  std::uint8_t data_coding = last.data_coding;
  std::string link = last.link;
  auto default_coding = last.default_coding;
  bool mixed_coding = false;
  bool first = true;
  while (parts.step()) {
    const auto bytes = parts.column_blob(1);
    const auto coding = static_cast<std::uint8_t>(parts.column_int(2));
    if (first) {
      data_coding = coding;
      link = parts.column_text(4);
      default_coding = static_cast<sms::DefaultCoding>(parts.column_int(6));
      first = false;
    } else if (coding != data_coding) {
      mixed_coding = true;
    }
    body.insert(body.end(), bytes.begin(), bytes.end());
    inbound_ids.push_back(parts.column_int(3));
  }
  parts.reset();

  // Decoding the joined bytes once keeps a character split across two parts
  // (an escape pair, a surrogate pair) whole.
  InboundSms whole = last;
  whole.link = link;
  // Room was reserved in the outbox of the link the last part came on; a
  // message begun on another link is answered there, through the queue.
  whole.reply_room = link == last.link ? last.reply_room : ReplyRoom::none;
  whole.received_at = last.received_at;
  whole.concat.reset();
  whole.data_coding = data_coding;
  auto decoded = sms::decode_text(data_coding, body, default_coding);
  whole.text = std::move(decoded.utf8);
  whole.binary = decoded.binary;
  whole.had_invalid = decoded.had_invalid || mixed_coding;
  const auto command = sms::parse_command(whole.text, policy.keywords, policy.min_report_chars);
  act_on(db, whole, command, policy, result);

  auto& mark = db.prepare("UPDATE inbound_parts SET joined_at = ? WHERE msisdn = ? AND "
                          "reference = ? AND total = ? AND joined_at IS NULL");
  mark.bind(1, last.received_at).bind(2, key.msisdn).bind(3, key.reference).bind(4, key.total);
  mark.run();
  if (result.report_id) {
    auto& link_rows = db.prepare("UPDATE inbound SET report_id = ? WHERE id = ?");
    for (const auto id : inbound_ids) {
      link_rows.bind(1, *result.report_id).bind(2, id);
      link_rows.run();
      link_rows.reset();
    }
    if (incomplete) {
      auto& flag = db.prepare("UPDATE reports SET incomplete = 1 WHERE id = ?");
      flag.bind(1, *result.report_id);
      flag.run();
    }
  }
}

} // namespace

IntakeResult record_inbound(Connection& db, const InboundSms& sms, const IntakePolicy& policy) {
  IntakeResult result;
  const std::int64_t horizon = policy.horizon_ms(sms.link);
  if (sms.concat && sms.concat->total > 1) {
    // A part byte for byte as stored is the SMSC's redelivery.
    if (is_redelivery(db, sms, horizon)) {
      result.redelivery = true;
      return result;
    }
    result.inbound_id = insert_inbound(db, sms, "part");
    const PartKey key{sms.msisdn, sms.concat->reference, sms.concat->total};
    // A reference number comes round again (8 bits wrap quickly), and a
    // part that is not a redelivery is a new message's: a set already
    // joined must not swallow it.
    auto& forget = db.prepare("DELETE FROM inbound_parts WHERE msisdn = ? AND reference = ? AND "
                              "total = ? AND joined_at IS NOT NULL");
    forget.bind(1, key.msisdn).bind(2, key.reference).bind(3, key.total);
    forget.run();
    auto& part = db.prepare(
        "INSERT OR IGNORE INTO inbound_parts (msisdn, reference, total, seq, inbound_id, link, "
        "data_coding, default_coding, body, received_at) VALUES (?,?,?,?,?,?,?,?,?,?)");
    part.bind(1, key.msisdn)
        .bind(2, key.reference)
        .bind(3, key.total)
        .bind(4, static_cast<int>(sms.concat->sequence))
        .bind(5, result.inbound_id)
        .bind(6, sms.link)
        .bind(7, static_cast<int>(sms.data_coding))
        .bind(8, static_cast<int>(sms.default_coding))
        .bind_blob(9, sms.body)
        .bind(10, sms.received_at);
    part.run();
    if (db.changes() == 0) {
      result.duplicate_part = true; // stored once already (maybe joined)
      return result;
    }
    auto& count = db.prepare("SELECT count(*) FROM inbound_parts WHERE msisdn = ? AND "
                             "reference = ? AND total = ? AND joined_at IS NULL");
    count.bind(1, key.msisdn).bind(2, key.reference).bind(3, key.total);
    const auto have = count.step() ? count.column_int(0) : 0;
    count.reset();
    if (have < key.total) {
      result.part_waiting = true;
      return result;
    }
    join_and_file(db, key, sms, policy, false, result);
    return result;
  }
  const auto command = sms::parse_command(sms.text, policy.keywords, policy.min_report_chars);
  // A report sent twice is filed once; a question asked again is answered
  // again once it is clearly not the SMSC repeating itself.
  const bool report = command.kind == sms::CommandKind::report;
  if (is_redelivery(db, sms, report ? horizon : std::min(horizon, policy.command_redelivery_ms))) {
    result.redelivery = true;
    return result;
  }
  const std::string_view word = sms.binary ? "binary" : command_word(command.kind);
  result.inbound_id = insert_inbound(db, sms, word);
  act_on(db, sms, command, policy, result);
  if (result.report_id) {
    auto& link = db.prepare("UPDATE inbound SET report_id = ? WHERE id = ?");
    link.bind(1, *result.report_id).bind(2, result.inbound_id);
    link.run();
  }
  return result;
}

int file_expired_parts(Connection& db, std::int64_t now, const IntakePolicy& policy) {
  std::vector<PartKey> keys;
  auto& stmt = db.prepare("SELECT msisdn, reference, total FROM inbound_parts "
                          "WHERE joined_at IS NULL GROUP BY msisdn, reference, total "
                          "HAVING min(received_at) < ?");
  stmt.bind(1, now - policy.concat_timeout_ms);
  while (stmt.step()) {
    keys.push_back({stmt.column_text(0), stmt.column_int(1), stmt.column_int(2)});
  }
  stmt.reset();
  for (const auto& key : keys) {
    // The newest part stands for the message: its sender, link and flags.
    auto& last = db.prepare("SELECT i.link, i.source_addr, i.destination_addr, i.esm_class, "
                            "p.data_coding FROM inbound_parts p JOIN inbound i ON i.id = "
                            "p.inbound_id WHERE p.msisdn = ? AND p.reference = ? AND p.total = ? "
                            "AND p.joined_at IS NULL ORDER BY p.received_at DESC LIMIT 1");
    last.bind(1, key.msisdn).bind(2, key.reference).bind(3, key.total);
    InboundSms sms;
    if (last.step()) {
      sms.link = last.column_text(0);
      sms.source_addr = last.column_text(1);
      sms.destination_addr = last.column_text(2);
      sms.esm_class = static_cast<std::uint8_t>(last.column_int(3));
      sms.data_coding = static_cast<std::uint8_t>(last.column_int(4));
    }
    last.reset();
    sms.msisdn = key.msisdn;
    sms.received_at = now;
    sms.short_or_alphanumeric_sender = sms::is_short_or_alphanumeric(sms.source_addr);
    IntakeResult result;
    join_and_file(db, key, sms, policy, true, result);
  }
  return static_cast<int>(keys.size());
}

} // namespace laporsms::store

#include <laporsms/sms/charset.hpp>
#include <laporsms/store/doubt.hpp>
#include <laporsms/store/outbox.hpp>

#include <fmt/format.h>

namespace laporsms::store {
namespace {

struct InDoubt {
  std::int64_t id = 0;
  std::string msisdn;
  std::string text;
  std::int64_t started_at = 0;
  std::int64_t parts = 0;
};

// The code points of UTF-8 `text` (U+FFFD for what is not UTF-8).
std::vector<char32_t> code_points(std::string_view text) {
  std::vector<char32_t> points;
  for (std::size_t i = 0; i < text.size();) {
    const auto step = sms::next_code_point(text, i);
    points.push_back(step.code_point);
    i += step.length;
  }
  return points;
}

bool same_letter(char excerpt, char32_t point) {
  const auto e = static_cast<unsigned char>(excerpt);
  if (e >= 0x80 || excerpt == '.' || excerpt == '?' || point >= 0x80) {
    return true; // where SMSCs differ: no evidence either way
  }
  const auto lower = [](char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
  return lower(e) == lower(point);
}

// Replies in doubt past reply_max_age are no longer judged: they stay
// unknown, for an operator.
int give_up_on_old(Connection& db, std::string_view link, const DoubtPolicy& policy) {
  auto& update = db.prepare(
      "UPDATE outbound SET resends = 1, last_error = last_error || '; no receipt for it within "
      "reply_max_age: not resent' WHERE id IN (SELECT id FROM outbound INDEXED BY "
      "outbound_in_doubt WHERE link = ?1 AND state = 'unknown' AND resends = 0 AND "
      "created_at < ?2)");
  update.bind(1, link).bind(2, policy.created_after);
  update.run();
  return db.changes();
}

std::vector<InDoubt> replies_to_judge(Connection& db, std::string_view link, std::int64_t now,
                                      const DoubtPolicy& policy) {
  auto& select = db.prepare(
      "SELECT o.id, o.msisdn, o.text, coalesce(o.submit_started_at, o.created_at), o.parts "
      "FROM outbound o INDEXED BY outbound_in_doubt WHERE o.link = ?1 AND o.state = 'unknown' "
      "AND o.resends = 0 AND o.updated_at <= ?2 AND NOT EXISTS (SELECT 1 FROM outbound_parts p "
      "WHERE p.outbound_id = o.id) ORDER BY o.id LIMIT ?3");
  select.bind(1, link)
      .bind(2, now - policy.judge_after_ms)
      .bind(3, static_cast<std::int64_t>(policy.batch));
  std::vector<InDoubt> replies;
  while (select.step()) {
    replies.push_back(InDoubt{select.column_int(0), select.column_text(1), select.column_text(2),
                              select.column_int(3), select.column_int(4)});
  }
  select.reset();
  return replies;
}

// Receipts no part claimed, for the reply's handset, since it was sent, that
// can be about its text; at most one per part, all from the link of the
// first (one session sends every part of a reply).
struct OrphanReceipts {
  std::string link;
  std::vector<std::string> message_ids;
};

OrphanReceipts orphan_receipts_for(Connection& db, const InDoubt& reply, std::int64_t now,
                                   const DoubtPolicy& policy) {
  auto& select = db.prepare("SELECT link, message_id, excerpt FROM early_receipts INDEXED BY "
                            "early_receipts_msisdn WHERE msisdn = ? AND received_at >= ? AND "
                            "received_at <= ? ORDER BY received_at, message_id");
  select.bind(1, reply.msisdn).bind(2, reply.started_at).bind(3, now - policy.settle_ms);
  OrphanReceipts found;
  const auto wanted = static_cast<std::size_t>(std::max<std::int64_t>(1, reply.parts));
  while (found.message_ids.size() < wanted && select.step()) {
    auto link = select.column_text(0);
    if (!found.message_ids.empty() && link != found.link) {
      continue;
    }
    if (excerpt_matches(select.column_text(2), reply.text, wanted > 1)) {
      found.link = std::move(link);
      found.message_ids.push_back(select.column_text(1));
    }
  }
  select.reset();
  return found;
}

// Whether a reply to the same handset, queued after `reply`, was delivered
// and its receipt came: the handset is reachable and its receipts flow, so
// a reply the SMSC had would have its receipt by now.
bool later_reply_delivered(Connection& db, const InDoubt& reply) {
  // Replies are not indexed by number: those of a report are found through
  // the reports from that number, the others (help, unknown refs) through
  // their own small index.
  auto& select = db.prepare(
      "SELECT 1 FROM reports r INDEXED BY reports_msisdn JOIN outbound o ON o.report_id = r.id "
      "WHERE r.msisdn = ?1 AND o.msisdn = ?1 AND o.id > ?2 AND EXISTS (SELECT 1 FROM "
      "outbound_parts p WHERE p.outbound_id = o.id AND p.state = 'delivered' AND "
      "p.updated_at >= ?3) "
      "UNION ALL SELECT 1 FROM outbound o INDEXED BY outbound_stray_to WHERE o.report_id IS NULL "
      "AND o.msisdn = ?1 AND o.id > ?2 AND EXISTS (SELECT 1 FROM outbound_parts p WHERE "
      "p.outbound_id = o.id AND p.state = 'delivered' AND p.updated_at >= ?3) LIMIT 1");
  select.bind(1, reply.msisdn).bind(2, reply.id).bind(3, reply.started_at);
  const bool found = select.step();
  select.reset();
  return found;
}

std::string state_of(Connection& db, std::int64_t outbound_id) {
  auto& select = db.prepare("SELECT state FROM outbound WHERE id = ?");
  select.bind(1, outbound_id);
  auto state = select.step() ? select.column_text(0) : std::string();
  select.reset();
  return state;
}

} // namespace

bool excerpt_matches(std::string_view excerpt, std::string_view text, bool anywhere) {
  while (!excerpt.empty() && (excerpt.back() == ' ' || excerpt.back() == '\0')) {
    excerpt.remove_suffix(1);
  }
  if (excerpt.empty()) {
    return true;
  }
  const auto points = code_points(text);
  const std::size_t last_start = anywhere ? points.size() : 0;
  for (std::size_t start = 0; start <= last_start && start + excerpt.size() <= points.size();
       ++start) {
    bool all = true;
    for (std::size_t i = 0; i < excerpt.size() && all; ++i) {
      all = same_letter(excerpt[i], points[start + i]);
    }
    if (all) {
      return true;
    }
  }
  return false;
}

DoubtResult resolve_in_doubt(Connection& db, std::string_view link, std::int64_t now,
                             const DoubtPolicy& policy) {
  DoubtResult result;
  result.given_up = give_up_on_old(db, link, policy);
  for (const auto& reply : replies_to_judge(db, link, now, policy)) {
    const auto orphans = orphan_receipts_for(db, reply, now, policy);
    const auto& receipts = orphans.message_ids;
    if (!receipts.empty()) {
      // The SMSC had it: its parts are the receipts' message ids, and the
      // receipts give the reply its state. With receipts for only some of
      // its parts the rest stays in doubt, for an operator.
      const auto parts = std::max<std::int64_t>(1, reply.parts);
      const bool whole = static_cast<std::int64_t>(receipts.size()) >= parts;
      auto& note = db.prepare("UPDATE outbound SET parts = ?, resends = 1, last_error = ?, "
                              "updated_at = ? WHERE id = ?");
      note.bind(1, parts)
          .bind(2, whole ? std::string("no response to the submit_sm, but its delivery receipt "
                                       "came: not resent")
                         : fmt::format("no response to the submit_sm; receipts came for {} of "
                                       "its {} parts: not resent",
                                       receipts.size(), parts))
          .bind(3, now)
          .bind(4, reply.id);
      note.run();
      record_parts(db, reply.id, orphans.link, receipts, now);
      auto& found = whole ? result.found_receipt : result.found_part;
      found.push_back(DoubtVerdict{reply.id, reply.msisdn, state_of(db, reply.id)});
      continue;
    }
    if (!later_reply_delivered(db, reply)) {
      ++result.still_in_doubt; // a missing receipt proves nothing yet
      continue;
    }
    auto& requeue = db.prepare(
        "UPDATE outbound SET state = 'queued', claimed_at = NULL, submit_started_at = NULL, "
        "parts = 0, resends = 1, last_error = ?, updated_at = ? WHERE id = ?");
    requeue
        .bind(1, "no response to the submit_sm and no delivery receipt for it, while a later "
                 "reply to the same number was delivered: sent again")
        .bind(2, now)
        .bind(3, reply.id);
    requeue.run();
    result.resent.push_back(DoubtVerdict{reply.id, reply.msisdn, "queued"});
  }
  return result;
}

} // namespace laporsms::store

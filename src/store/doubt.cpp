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
  std::int64_t resends = 0;
  std::int64_t parts = 0;
};

// The code points of UTF-8 `text`, each as its bytes.
std::vector<std::string_view> code_points(std::string_view text) {
  std::vector<std::string_view> points;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t n = 1;
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead >= 0xF0) {
      n = 4;
    } else if (lead >= 0xE0) {
      n = 3;
    } else if (lead >= 0xC0) {
      n = 2;
    }
    n = std::min(n, text.size() - i);
    points.push_back(text.substr(i, n));
    i += n;
  }
  return points;
}

bool same_letter(char excerpt, std::string_view point) {
  const auto e = static_cast<unsigned char>(excerpt);
  if (e >= 0x80 || excerpt == '.' || excerpt == '?' || point.size() > 1) {
    return true; // where SMSCs differ: no evidence either way
  }
  const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
  return lower(e) == lower(static_cast<unsigned char>(point[0]));
}

std::vector<InDoubt> replies_to_judge(Connection& db, std::string_view link, std::int64_t now,
                                      const DoubtPolicy& policy) {
  auto& select = db.prepare(
      "SELECT o.id, o.msisdn, o.text, coalesce(o.submit_started_at, o.created_at), o.resends, "
      "o.parts FROM outbound o WHERE o.state = 'unknown' AND o.link = ?1 AND o.updated_at <= ?2 "
      "AND o.created_at >= ?3 AND NOT EXISTS (SELECT 1 FROM outbound_parts p "
      "WHERE p.outbound_id = o.id) ORDER BY o.id LIMIT ?4");
  select.bind(1, link)
      .bind(2, now - policy.judge_after_ms)
      .bind(3, policy.created_after)
      .bind(4, static_cast<std::int64_t>(policy.batch));
  std::vector<InDoubt> replies;
  while (select.step()) {
    replies.push_back(InDoubt{select.column_int(0), select.column_text(1), select.column_text(2),
                              select.column_int(3), select.column_int(4), select.column_int(5)});
  }
  select.reset();
  return replies;
}

// Receipts no part claimed, for the reply's handset, since it was sent, that
// can be about its text; at most one per part.
std::vector<std::string> orphan_receipts_for(Connection& db, const InDoubt& reply, std::int64_t now,
                                             const DoubtPolicy& policy) {
  auto& select = db.prepare("SELECT message_id, excerpt FROM early_receipts INDEXED BY "
                            "early_receipts_msisdn WHERE msisdn = ? AND received_at >= ? AND "
                            "received_at <= ? ORDER BY received_at, message_id");
  select.bind(1, reply.msisdn).bind(2, reply.started_at).bind(3, now - policy.settle_ms);
  std::vector<std::string> ids;
  const auto wanted = static_cast<std::size_t>(std::max<std::int64_t>(1, reply.parts));
  while (ids.size() < wanted && select.step()) {
    if (excerpt_matches(select.column_text(1), reply.text)) {
      ids.push_back(select.column_text(0));
    }
  }
  select.reset();
  return ids;
}

// The newest reply of `link` a receipt came back for (0: none yet).
std::int64_t last_receipted(Connection& db, std::string_view link) {
  auto& select = db.prepare("SELECT last_outbound_id FROM receipt_clock WHERE link = ?");
  select.bind(1, link);
  const auto id = select.step() ? select.column_int(0) : 0;
  select.reset();
  return id;
}

std::string state_of(Connection& db, std::int64_t outbound_id) {
  auto& select = db.prepare("SELECT state FROM outbound WHERE id = ?");
  select.bind(1, outbound_id);
  auto state = select.step() ? select.column_text(0) : std::string();
  select.reset();
  return state;
}

} // namespace

bool excerpt_matches(std::string_view excerpt, std::string_view text) {
  while (!excerpt.empty() && (excerpt.back() == ' ' || excerpt.back() == '\0')) {
    excerpt.remove_suffix(1);
  }
  if (excerpt.empty()) {
    return true;
  }
  const auto points = code_points(text);
  for (std::size_t start = 0; start + excerpt.size() <= points.size(); ++start) {
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
  const auto replies = replies_to_judge(db, link, now, policy);
  if (replies.empty()) {
    return result;
  }
  const auto receipts_flow_past = last_receipted(db, link);
  for (const auto& reply : replies) {
    const auto receipts = orphan_receipts_for(db, reply, now, policy);
    if (!receipts.empty()) {
      // The SMSC had it: its parts are the receipts' message ids, and the
      // receipts give the reply its state.
      auto& note = db.prepare("UPDATE outbound SET parts = max(parts, ?), last_error = ?, "
                              "updated_at = ? WHERE id = ?");
      note.bind(1, static_cast<std::int64_t>(receipts.size()))
          .bind(2, "no response to the submit_sm, but its delivery receipt came: not resent")
          .bind(3, now)
          .bind(4, reply.id);
      note.run();
      record_parts(db, reply.id, receipts, now);
      result.found_receipt.push_back(DoubtVerdict{reply.id, reply.msisdn, state_of(db, reply.id)});
      continue;
    }
    if (reply.resends >= policy.max_resends || receipts_flow_past <= reply.id) {
      // Resent enough already, or no receipt yet for anything queued after
      // it: a missing receipt proves nothing.
      ++result.still_in_doubt;
      continue;
    }
    auto& requeue = db.prepare(
        "UPDATE outbound SET state = 'queued', claimed_at = NULL, submit_started_at = NULL, "
        "parts = 0, resends = resends + 1, last_error = ?, updated_at = ? WHERE id = ?");
    requeue
        .bind(1, fmt::format("no response to the submit_sm and no delivery receipt within {} s, "
                             "while later replies got theirs: sent again",
                             policy.judge_after_ms / 1000))
        .bind(2, now)
        .bind(3, reply.id);
    requeue.run();
    result.resent.push_back(DoubtVerdict{reply.id, reply.msisdn, "queued"});
  }
  return result;
}

} // namespace laporsms::store

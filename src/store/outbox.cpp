#include <laporsms/store/outbox.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace laporsms::store {

std::vector<OutboundItem> claim_outbound(Connection& db, std::string_view link, std::size_t limit,
                                         std::int64_t now, std::int64_t expire_before,
                                         int* expired) {
  // Only the head of the queue can be too old (ids grow with time), so the
  // check looks at the oldest few rows, not the whole backlog.
  auto& expire = db.prepare("UPDATE outbound SET state = 'expired', updated_at = ?1, "
                            "last_error = 'too old to send' WHERE id IN (SELECT id FROM outbound "
                            "WHERE state = 'queued' AND link = ?2 AND claimed_at IS NULL "
                            "ORDER BY id LIMIT ?4) AND created_at < ?3");
  expire.bind(1, now)
      .bind(2, link)
      .bind(3, expire_before)
      .bind(4, static_cast<std::int64_t>(limit) + 16);
  expire.run();
  if (expired != nullptr) {
    *expired += db.changes();
  }

  std::vector<OutboundItem> items;
  auto& select = db.prepare(
      "SELECT id, msisdn, text, created_at FROM outbound "
      "INDEXED BY outbound_queue WHERE state = 'queued' AND link = ? AND claimed_at IS NULL "
      "ORDER BY id LIMIT ?");
  select.bind(1, link).bind(2, static_cast<std::int64_t>(limit));
  while (select.step()) {
    items.push_back(OutboundItem{select.column_int(0), std::string(link), select.column_text(1),
                                 select.column_text(2), select.column_int(3)});
  }
  select.reset();
  auto& mark = db.prepare("UPDATE outbound SET claimed_at = ?, updated_at = ? WHERE id = ?");
  for (const auto& item : items) {
    mark.bind(1, now).bind(2, now).bind(3, item.id);
    mark.run();
    mark.reset();
  }
  return items;
}

void mark_submit_started(Connection& db, std::int64_t outbound_id, std::size_t parts,
                         std::int64_t now) {
  auto& mark = db.prepare(
      "UPDATE outbound SET submit_started_at = ?, parts = ?, updated_at = ? WHERE id = ?");
  mark.bind(1, now).bind(2, static_cast<std::int64_t>(parts)).bind(3, now).bind(4, outbound_id);
  mark.run();
}

void record_parts(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                  const std::vector<std::string>& message_ids, std::int64_t now) {
  auto& part = db.prepare("INSERT OR REPLACE INTO outbound_parts "
                          "(outbound_id, part, link, message_id, state, updated_at) "
                          "VALUES (?, ?, ?, ?, 'submitted', ?)");
  for (std::size_t i = 0; i < message_ids.size(); ++i) {
    part.bind(1, outbound_id)
        .bind(2, static_cast<std::int64_t>(i + 1))
        .bind(3, sent_on)
        .bind(4, message_ids[i])
        .bind(5, now);
    part.run();
    part.reset();
  }
  // A receipt that overtook this write may spell the id in the other base.
  auto& early = db.prepare("DELETE FROM early_receipts WHERE link = ? AND message_id = ? "
                           "RETURNING state, msisdn, excerpt");
  for (const auto& id : message_ids) {
    std::optional<ReceiptRecord> receipt;
    for (const auto& form : message_id_forms(id)) {
      early.bind(1, sent_on).bind(2, form);
      if (early.step()) {
        receipt = ReceiptRecord{std::string(sent_on), id, early.column_text(0),
                                early.column_text(1), early.column_text(2)};
      }
      early.reset();
      if (receipt) {
        break;
      }
    }
    if (receipt) {
      record_receipt(db, *receipt, now);
    }
  }
}

void record_submitted(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                      const std::vector<std::string>& message_ids, std::int64_t now) {
  auto& update = db.prepare("UPDATE outbound SET state = 'submitted', parts = ?, updated_at = ?, "
                            "last_error = NULL WHERE id = ?");
  update.bind(1, static_cast<std::int64_t>(message_ids.size())).bind(2, now).bind(3, outbound_id);
  update.run();
  record_parts(db, outbound_id, sent_on, message_ids, now);
}

void record_submit_failed(Connection& db, std::int64_t outbound_id, std::string_view error,
                          bool permanent, std::int64_t now) {
  auto& update =
      db.prepare("UPDATE outbound SET state = ?1, submit_started_at = CASE WHEN ?2 THEN "
                 "submit_started_at ELSE NULL END, claimed_at = CASE WHEN ?2 THEN claimed_at "
                 "ELSE NULL END, last_error = ?3, updated_at = ?4 WHERE id = ?5");
  update.bind(1, permanent ? "undeliverable" : "queued")
      .bind(2, permanent)
      .bind(3, error)
      .bind(4, now)
      .bind(5, outbound_id);
  update.run();
}

void record_submit_unknown(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                           const std::vector<std::string>& message_ids, std::size_t total_parts,
                           std::string_view error, std::int64_t now) {
  // With a part already accepted a resend would duplicate it: never
  // resent automatically (resends = 1).
  auto& update = db.prepare("UPDATE outbound SET state = 'unknown', parts = ?, last_error = ?, "
                            "updated_at = ?, resends = max(resends, ?) WHERE id = ?");
  update.bind(1, static_cast<std::int64_t>(total_parts))
      .bind(2, error)
      .bind(3, now)
      .bind(4, message_ids.empty() ? 0 : 1)
      .bind(5, outbound_id);
  update.run();
  record_parts(db, outbound_id, sent_on, message_ids, now);
}

std::int64_t queued_count(Connection& db, std::string_view link) {
  auto& stmt = db.prepare("SELECT count(*) FROM outbound WHERE state = 'queued' AND link = ?");
  stmt.bind(1, link);
  const auto n = stmt.step() ? stmt.column_int(0) : 0;
  stmt.reset();
  return n;
}

} // namespace laporsms::store

namespace laporsms::store {

std::vector<std::string> message_id_forms(std::string_view id) {
  std::vector<std::string> forms{std::string(id)};
  if (id.empty() || id.size() > 16) {
    return forms;
  }
  const bool decimal =
      std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  const bool hex = std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
  if (decimal && id.size() <= 19) {
    const auto value = std::stoull(std::string(id));
    forms.push_back(fmt::format("{:x}", value));
    forms.push_back(fmt::format("{:X}", value));
  }
  if (hex) {
    forms.push_back(std::to_string(std::stoull(std::string(id), nullptr, 16)));
  }
  forms.erase(std::unique(forms.begin() + 1, forms.end()), forms.end());
  return forms;
}

bool record_receipt(Connection& db, const ReceiptRecord& given, std::int64_t now) {
  auto& find = db.prepare("SELECT outbound_id FROM outbound_parts WHERE link = ? AND "
                          "message_id = ? ORDER BY outbound_id DESC LIMIT 1");
  // Some SMSCs answer submit_sm_resp in hex and write receipts in decimal,
  // or the other way round: the id as given first, then its other forms.
  ReceiptRecord receipt = given;
  bool found = false;
  for (const auto& form : message_id_forms(given.message_id)) {
    find.bind(1, given.link).bind(2, form);
    found = find.step();
    if (found) {
      receipt.message_id = form;
      break;
    }
    find.reset();
  }
  if (!found) {
    find.reset();
    auto& keep = db.prepare("INSERT OR REPLACE INTO early_receipts "
                            "(link, message_id, state, received_at, msisdn, excerpt) "
                            "VALUES (?, ?, ?, ?, ?, ?)");
    keep.bind(1, receipt.link)
        .bind(2, receipt.message_id)
        .bind(3, receipt.state)
        .bind(4, now)
        .bind(5, receipt.msisdn)
        .bind(6, receipt.excerpt);
    keep.run();
    return false;
  }
  const auto outbound_id = find.column_int(0);
  find.reset();
  auto& part = db.prepare("UPDATE outbound_parts SET state = ?, updated_at = ? WHERE outbound_id = "
                          "? AND link = ? AND message_id = ?");
  part.bind(1, receipt.state)
      .bind(2, now)
      .bind(3, outbound_id)
      .bind(4, receipt.link)
      .bind(5, receipt.message_id);
  part.run();
  // The reply's state: delivered only when every part is; otherwise the
  // first final failure of any part.
  auto& summary = db.prepare(
      "SELECT (SELECT parts FROM outbound WHERE id = ?1), sum(state = 'delivered'), "
      "max(CASE state WHEN 'undeliverable' THEN 3 WHEN 'expired' THEN 2 WHEN 'unknown' THEN 1 "
      "ELSE 0 END) FROM outbound_parts WHERE outbound_id = ?1");
  summary.bind(1, outbound_id);
  std::string_view reply_state;
  if (summary.step()) {
    const auto total = summary.column_int(0);
    const auto delivered = summary.column_int(1);
    const auto worst = summary.column_int(2);
    if (worst == 3) {
      reply_state = "undeliverable";
    } else if (worst == 2) {
      reply_state = "expired";
    } else if (worst == 1) {
      reply_state = "unknown";
    } else if (delivered == total) {
      reply_state = "delivered";
    }
  }
  summary.reset();
  if (!reply_state.empty()) {
    auto& update = db.prepare("UPDATE outbound SET state = ?, updated_at = ? WHERE id = ?");
    update.bind(1, reply_state).bind(2, now).bind(3, outbound_id);
    update.run();
  }
  return true;
}

} // namespace laporsms::store

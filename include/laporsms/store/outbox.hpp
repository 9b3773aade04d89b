// The outbound SMS queue: replies waiting for a link, and what became of
// each submit_sm.
#pragma once

#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace laporsms::store {

// Up to `limit` queued replies for `link` not yet claimed, oldest first, and
// marks each claimed (claimed_at = now) so the next call skips it. A claim
// is only a reservation: recover_on_startup puts claimed replies back.
// Replies created before `expire_before` are marked expired instead, and
// counted in `*expired` when given.
std::vector<OutboundItem> claim_outbound(Connection& db, std::string_view link, std::size_t limit,
                                         std::int64_t now, std::int64_t expire_before,
                                         int* expired = nullptr);

// The first submit_sm of reply `outbound_id` (in `parts` parts) is about to
// leave. Written (and committed) before it does: after a crash such a reply
// is in doubt and is marked unknown instead of being sent twice.
void mark_submit_started(Connection& db, std::int64_t outbound_id, std::size_t parts,
                         std::int64_t now);

// Every part of reply `outbound_id` was accepted by the SMSC of link
// `sent_on` (its own link, or the fallback that stood in for it).
void record_submitted(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                      const std::vector<std::string>& message_ids, std::int64_t now);

// The SMSC refused reply `outbound_id`. A temporary refusal puts it back in
// the queue (nothing left the SMSC); a permanent one marks it undeliverable.
void record_submit_failed(Connection& db, std::int64_t outbound_id, std::string_view error,
                          bool permanent, std::int64_t now);

// Parts 1..n of reply `outbound_id` were accepted as `message_ids` by the
// SMSC of link `sent_on`; receipts kept for those ids on that link (they
// overtook this write, or the reply was in doubt) are applied now. Message
// ids are the SMSC's: two links may hand out the same one.
void record_parts(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                  const std::vector<std::string>& message_ids, std::int64_t now);

// Reply `outbound_id` (in `total_parts` parts) is in doubt: the response to
// one of its submit_sm never came, so the SMSC may have taken it. It is
// marked unknown rather than sent again; the parts accepted before that
// (`message_ids`) are kept so their receipts still count. resolve_in_doubt
// decides later, from the receipts, whether it is sent again.
void record_submit_unknown(Connection& db, std::int64_t outbound_id, std::string_view sent_on,
                           const std::vector<std::string>& message_ids, std::size_t total_parts,
                           std::string_view error, std::int64_t now);

// How many replies wait for `link`.
std::int64_t queued_count(Connection& db, std::string_view link);

} // namespace laporsms::store

namespace laporsms::store {

// A delivery receipt, as far as the store cares.
struct ReceiptRecord {
  std::string link; // the link it came in on: it names a part sent there
  std::string message_id;
  std::string state;   // delivered|undeliverable|expired|unknown
  std::string msisdn;  // the handset it speaks of (the receipt's source_addr)
  std::string excerpt; // the text form's "text:", if any
};

// A delivery receipt for the part sent on `receipt.link` as
// `receipt.message_id` reached `receipt.state`. The reply takes the worst state of its parts once
// every part has one. False when no part carries that message id yet: the receipt is then kept, for
// record_submitted (a receipt may overtake the write of its part) or for resolve_in_doubt (the
// response to its submit_sm was lost).
bool record_receipt(Connection& db, const ReceiptRecord& receipt, std::int64_t now);

// A message id as given, then the same number in the other base (hex lower
// and upper case, decimal) where it reads as one: SMSCs differ in which
// they write in submit_sm_resp and in the receipt.
std::vector<std::string> message_id_forms(std::string_view id);

} // namespace laporsms::store

// The outbound SMS queue: replies waiting for a link, and what became of
// each submit_sm.
#pragma once

#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>

#include <string_view>
#include <vector>

namespace laporsms::store {

// Up to `limit` queued replies for `link` not yet claimed, oldest first, and
// marks each claimed (claimed_at = now) so the next call skips it. A claim
// is only a reservation: recover_on_startup puts claimed replies back.
// Replies created before `expire_before` are marked expired instead.
std::vector<OutboundItem> claim_outbound(Connection& db, std::string_view link, std::size_t limit,
                                         std::int64_t now, std::int64_t expire_before);

// The first submit_sm of reply `outbound_id` is about to leave. Written (and
// committed) before it does: after a crash such a reply is in doubt and is
// marked unknown instead of being sent twice.
void mark_submit_started(Connection& db, std::int64_t outbound_id, std::int64_t now);

// Every part of reply `outbound_id` was accepted by the SMSC.
void record_submitted(Connection& db, std::int64_t outbound_id,
                      const std::vector<std::string>& message_ids, std::int64_t now);

// The SMSC refused reply `outbound_id`. A temporary refusal puts it back in
// the queue (nothing left the SMSC); a permanent one marks it undeliverable.
void record_submit_failed(Connection& db, std::int64_t outbound_id, std::string_view error,
                          bool permanent, std::int64_t now);

// The submit's response never came: the SMSC may have taken it, so the reply
// is marked unknown rather than sent twice.
void record_submit_unknown(Connection& db, std::int64_t outbound_id, std::string_view error,
                           std::int64_t now);

// How many replies wait for `link`.
std::int64_t queued_count(Connection& db, std::string_view link);

} // namespace laporsms::store

namespace laporsms::store {

// A delivery receipt for the part sent as `message_id` on `link` reached
// `state` (delivered|undeliverable|expired|unknown). The reply takes the
// worst state of its parts once every part has one. False when no part
// carries that message id yet: the receipt is then kept and applied by
// record_submitted, since a receipt may overtake the write of its part.
bool record_receipt(Connection& db, std::string_view message_id, std::string_view state,
                    std::int64_t now);

} // namespace laporsms::store

// The outbound SMS queue: replies waiting for a link, and what became of
// each submit_sm.
#pragma once

#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>

#include <string_view>
#include <vector>

namespace laporsms::store {

// Up to `limit` queued replies for `link` not yet started, oldest first, and
// marks each as started (submit_started_at = now). A reply started but
// never confirmed is not blindly resent after a crash: see recover_on_startup.
// Replies created before `expire_before` are marked expired instead.
std::vector<OutboundItem> claim_outbound(Connection& db, std::string_view link, std::size_t limit,
                                         std::int64_t now, std::int64_t expire_before);

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
// carries that message id.
bool record_receipt(Connection& db, std::string_view message_id, std::string_view state,
                    std::int64_t now);

} // namespace laporsms::store

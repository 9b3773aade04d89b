// Filing an inbound SMS: the one transaction that stores the message, the
// report it carries, the replies it calls for and the upstream job.
#pragma once

#include <laporsms/sms/command.hpp>
#include <laporsms/sms/ref.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/sqlite.hpp>

namespace laporsms::store {

// Stores `sms` and acts on what it says (interfaces.md §3): a report gets a
// reference, a `received` reply and an upstream job (unless the sender is
// over its limit: then it is held, with one `rate_limited` reply a window);
// CEK gets `status_reply` or `unknown_ref`; INFO gets `help`; anything else
// gets `help` at most once a sender window.
// A redelivery of an MO stored within the redelivery window is recognised
// and nothing is stored. A part of a concatenated SMS is stored and waits for
// its siblings; the part that completes the set files the joined message.
// Runs inside the caller's transaction; throws SqliteError on a storage fault.
IntakeResult record_inbound(Connection& db, const InboundSms& sms, const IntakePolicy& policy);

// Files every concatenated SMS whose first part arrived before
// now - concat_timeout and is still incomplete, joined as far as it goes and
// marked incomplete. Returns how many were filed.
int file_expired_parts(Connection& db, std::int64_t now, const IntakePolicy& policy);

// The deployment's ref key, made at its first start (schema migration 6)
// and never changed: every ref this database issues is made with it.
sms::RefKey deployment_ref_key(Connection& db);

// The report whose ref is `ref` (exactly: upper case, its prefix included),
// if any.
std::optional<std::int64_t> find_report_by_ref(Connection& db, std::string_view ref);

// Queues one reply in the outbound queue; returns its id.
// `room`: what the outbox of `link` reserved for it. With room it is queued
// claimed at `now` (a hand-over in memory: the outbox's own claim never sees
// it); with a submit held besides (ReplyRoom::started) it is also marked
// started, with the part count the outbox will send, so this transaction
// must be fsync'd before its submit_sm leaves (as the intake's and an
// upstream outcome's are). A crash before it leaves finds it in doubt, as
// any reply marked started: never resent blindly.
std::int64_t queue_reply(Connection& db, std::optional<std::int64_t> report_id,
                         std::string_view kind, std::string_view link, std::string_view msisdn,
                         std::string_view text, std::int64_t now, ReplyRoom room = ReplyRoom::none);

// Queues a reply about report `report_id` unless its sender is one we never
// reply to (reports.silent); returns its id, or nullopt when none was queued.
std::optional<std::int64_t> queue_report_reply(Connection& db, std::int64_t report_id,
                                               std::string_view kind, std::string_view link,
                                               std::string_view msisdn, std::string_view text,
                                               std::int64_t now, ReplyRoom room = ReplyRoom::none);

// What a citizen is told about a report's state when no upstream status is known.
std::string describe_state(std::string_view state);

} // namespace laporsms::store

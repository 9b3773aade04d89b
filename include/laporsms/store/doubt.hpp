// Replies in doubt: a submit_sm whose response never came (or a crash right
// after one left). The SMSC may have taken it, so it is never resent
// blindly. A later delivery receipt for the same handset, whose message id we
// never learnt, settles it as sent. No such receipt, while a reply to the
// same handset queued after it was delivered (so the handset is reachable and
// its receipts come back), means the SMSC never had it: it is queued once
// more. Otherwise there is no telling, and it stays in doubt for an operator
// (`laporctl resend`).
#pragma once

#include <laporsms/store/sqlite.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace laporsms::store {

struct DoubtPolicy {
  std::int64_t judge_after_ms = 10 * 60 * 1000; // how long a reply stays in doubt untouched
  std::int64_t created_after = 0;               // older replies are past reply_max_age: left alone
  std::int64_t settle_ms = 5000; // a younger receipt may still find its part the usual way
  int max_resends = 1;           // automatic resends of one reply, at most
  std::size_t batch = 200;
};

struct DoubtVerdict {
  std::int64_t outbound_id = 0;
  std::string msisdn;
  std::string state; // the reply's state afterwards: queued (resent) or what its receipt said
};

struct DoubtResult {
  std::vector<DoubtVerdict> found_receipt; // the SMSC had it: not resent
  std::vector<DoubtVerdict> found_part;    // receipts for some of its parts: left to an operator
  std::vector<DoubtVerdict> resent;        // queued again
  int given_up = 0;                        // still in doubt at reply_max_age: left to an operator
  int still_in_doubt = 0;                  // nothing to judge by yet
};

// Judges the replies of `link` that have been unknown for judge_after_ms.
// A reply is resent at most once (outbound.resends), and never when a part
// of it was accepted (that would duplicate the parts already sent).
DoubtResult resolve_in_doubt(Connection& db, std::string_view link, std::int64_t now,
                             const DoubtPolicy& policy);

// Whether a receipt's "text:" excerpt can be the start of `text` or, with
// `anywhere` (a long reply: the excerpt of a later part), part of it. SMSCs
// shorten it and replace what is not printable ASCII, each in its own way,
// so '.', '?' and any non-ASCII character of `text` match anything. An empty
// excerpt (a receipt without text form) matches every text.
bool excerpt_matches(std::string_view excerpt, std::string_view text, bool anywhere = false);

} // namespace laporsms::store

// Replies in doubt: a submit_sm whose response never came (or a crash right
// after one left). The SMSC may have taken it, so it is never resent
// blindly. A later delivery receipt for the same handset, whose message id we
// never learnt, settles it as sent; no receipt, while receipts came back for
// replies queued after it, means the SMSC never had it, and it is queued once
// more. With no receipts flowing at all there is no telling: it stays in
// doubt for an operator (`laporctl resend`).
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
  std::vector<DoubtVerdict> resent;        // queued again
  int still_in_doubt = 0;                  // no receipts flowing yet to judge by
};

// Judges the replies of `link` that have been unknown for judge_after_ms.
// Replies with a part the SMSC accepted are never resent (that would
// duplicate the parts already sent).
DoubtResult resolve_in_doubt(Connection& db, std::string_view link, std::int64_t now,
                             const DoubtPolicy& policy);

// Whether a receipt's "text:" excerpt can be the start of `text` (or of one
// of its parts). SMSCs shorten it and replace what is not printable ASCII,
// each in its own way, so '.', '?' and any non-ASCII character of `text`
// match anything. An empty excerpt matches every text.
bool excerpt_matches(std::string_view excerpt, std::string_view text);

} // namespace laporsms::store

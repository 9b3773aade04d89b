// Start-up recovery: the one explicit step that turns what a crash left
// behind into a consistent queue. Disk is the truth; the schedule in memory
// is rebuilt from it afterwards.
#pragma once

#include <laporsms/store/sqlite.hpp>

namespace laporsms::store {

struct RecoveryReport {
  int jobs_requeued = 0;    // inflight upstream jobs put back to pending
  int replies_unknown = 0;  // replies whose submit_sm was under way
  int replies_requeued = 0; // replies claimed by the outbox but never sent
};

// Inflight upstream jobs go back to pending, due now: the attempt may or may
// not have reached the API, and the idempotency key (rest-json) makes the
// repeat safe. Replies whose submit_sm had left but whose response never came
// become `unknown`: the SMSC may have taken them, and a citizen must not get
// the same SMS twice.
RecoveryReport recover_on_startup(Connection& db, std::int64_t now);

} // namespace laporsms::store

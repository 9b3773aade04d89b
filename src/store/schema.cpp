#include <laporsms/store/schema.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace laporsms::store {
namespace {

// Each entry is one migration; never edit a released one, add the next.
// Times are Unix milliseconds; states are the words laporctl shows.
constexpr std::array<std::string_view, 11> k_migrations = {
    R"sql(
CREATE TABLE reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,   -- AUTOINCREMENT: an id (and so a ref) is never reused
  ref TEXT UNIQUE,
  msisdn TEXT NOT NULL,
  link TEXT NOT NULL,
  text TEXT NOT NULL,
  rahasia INTEGER NOT NULL,
  anonim INTEGER NOT NULL,
  state TEXT NOT NULL,                   -- received|forwarding|forwarded|closed|failed|held
  tracking_id TEXT,
  transaction_id TEXT,
  status TEXT,
  status_note TEXT,
  status_updated_at INTEGER,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX reports_msisdn ON reports(msisdn, received_at);
CREATE INDEX reports_tracking ON reports(tracking_id);
CREATE INDEX reports_state ON reports(state, received_at);

CREATE TABLE inbound (
  id INTEGER PRIMARY KEY,
  link TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  source_addr TEXT NOT NULL,
  msisdn TEXT NOT NULL,
  destination_addr TEXT NOT NULL,
  data_coding INTEGER NOT NULL,
  esm_class INTEGER NOT NULL,
  raw BLOB NOT NULL,
  text TEXT NOT NULL,
  had_invalid INTEGER NOT NULL DEFAULT 0,
  command TEXT NOT NULL,                 -- report|status|help|empty_report|unknown|binary
  report_id INTEGER REFERENCES reports(id)
);
CREATE INDEX inbound_received ON inbound(received_at);
CREATE INDEX inbound_msisdn ON inbound(msisdn, received_at);

CREATE TABLE outbound (
  id INTEGER PRIMARY KEY,
  report_id INTEGER REFERENCES reports(id),
  kind TEXT NOT NULL,                    -- received|forwarded|help|empty_report|status_reply|...
  link TEXT NOT NULL,
  msisdn TEXT NOT NULL,
  text TEXT NOT NULL,
  state TEXT NOT NULL,                   -- queued|submitted|delivered|undeliverable|expired|unknown
  submit_started_at INTEGER,             -- set before the first submit_sm leaves
  parts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX outbound_queue ON outbound(state, link, id);
CREATE INDEX outbound_report ON outbound(report_id);
CREATE INDEX outbound_msisdn_kind ON outbound(msisdn, kind, created_at);

CREATE TABLE outbound_parts (
  outbound_id INTEGER NOT NULL REFERENCES outbound(id),
  part INTEGER NOT NULL,
  message_id TEXT,
  state TEXT NOT NULL,                   -- submitted|delivered|undeliverable|expired|unknown
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (outbound_id, part)
);
CREATE INDEX outbound_parts_message ON outbound_parts(message_id);

CREATE TABLE upstream_jobs (
  report_id INTEGER PRIMARY KEY REFERENCES reports(id),
  state TEXT NOT NULL,                   -- pending|inflight|done|failed|held
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX upstream_due ON upstream_jobs(state, next_attempt_at);

CREATE TABLE upstream_attempts (
  id INTEGER PRIMARY KEY,
  report_id INTEGER NOT NULL REFERENCES reports(id),
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,                 -- delivered|temporary|auth_error|rejected
  error TEXT
);
CREATE INDEX upstream_attempts_report ON upstream_attempts(report_id);

CREATE TABLE status_history (
  id INTEGER PRIMARY KEY,
  report_id INTEGER NOT NULL REFERENCES reports(id),
  status TEXT NOT NULL,
  note TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX status_history_report ON status_history(report_id);
)sql",
    // 2: redelivery detection and concatenated SMS reassembly.
    R"sql(
ALTER TABLE inbound ADD COLUMN fingerprint INTEGER;
CREATE INDEX inbound_fingerprint ON inbound(fingerprint, received_at);
CREATE TABLE inbound_parts (
  msisdn TEXT NOT NULL,
  reference INTEGER NOT NULL,
  total INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  inbound_id INTEGER NOT NULL REFERENCES inbound(id),
  link TEXT NOT NULL,
  data_coding INTEGER NOT NULL,
  default_coding INTEGER NOT NULL,
  body BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  joined_at INTEGER,                     -- set when the message was filed
  PRIMARY KEY (msisdn, reference, total, seq)
);
CREATE INDEX inbound_parts_open ON inbound_parts(joined_at, received_at);
ALTER TABLE reports ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reports ADD COLUMN status_polled_at INTEGER;
CREATE INDEX reports_poll ON reports(state, status_polled_at);
-- A receipt can overtake the write of its part's message id: kept here
-- until record_submitted stores that id.
ALTER TABLE outbound ADD COLUMN claimed_at INTEGER;  -- taken by the outbox, maybe not sent
-- Serves the outbox claim in id order without sorting the whole queue.
CREATE INDEX outbound_claim ON outbound(state, link, claimed_at, id);
-- Walks pending jobs oldest report first, stopping at the claim's limit.
CREATE INDEX upstream_pending ON upstream_jobs(state, report_id);
CREATE TABLE early_receipts (
  message_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  received_at INTEGER NOT NULL
);
)sql",
    // 3: replies in doubt (no submit_sm_resp) are looked for in later receipts.
    R"sql(
-- Who a receipt speaks of and how its text begins, to tie a receipt whose
-- message id we never learnt to the reply in doubt it belongs to.
ALTER TABLE early_receipts ADD COLUMN msisdn TEXT NOT NULL DEFAULT '';
ALTER TABLE early_receipts ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';
CREATE INDEX early_receipts_msisdn ON early_receipts(msisdn, received_at);
-- 1: sent again once, or must never be resent automatically.
ALTER TABLE outbound ADD COLUMN resends INTEGER NOT NULL DEFAULT 0;
-- Replies still to be judged: few, whatever the size of the table.
CREATE INDEX outbound_in_doubt ON outbound(link, id) WHERE state = 'unknown' AND resends = 0;
-- outbound_queue serves the claim as well (at most two windows of claimed
-- rows to step over), and a claim then moves no index entry.
DROP INDEX outbound_claim;
-- Version 2 kept neither the handset of a receipt nor the parts accepted
-- before a lost response: its replies in doubt are left to an operator.
UPDATE outbound SET resends = 1 WHERE state = 'unknown';
)sql",
    // 4: a sender we may not reply to gets no SMS at all, also after intake.
    R"sql(
-- 1: the sender is a short code or alphanumeric (or the SMSC said so by its
-- type of number) and reply_to_short_numbers was off: no reply of any kind.
ALTER TABLE reports ADD COLUMN silent INTEGER NOT NULL DEFAULT 0;
-- Reports filed before: a short or alphanumeric sender that got no
-- acknowledgement was one we did not reply to.
UPDATE reports SET silent = 1
 WHERE (length(msisdn) <= 6 OR msisdn GLOB '*[^0-9]*')
   AND NOT EXISTS (SELECT 1 FROM outbound o WHERE o.report_id = reports.id
                   AND o.kind IN ('received', 'rate_limited'));
-- Pruning or blanking a closed report finds its SMS by these; without them
-- each report scanned both tables while every acknowledgement waited.
CREATE INDEX inbound_report ON inbound(report_id);
CREATE INDEX inbound_parts_inbound ON inbound_parts(inbound_id);
)sql",
    // 5: a message id is the SMSC's, so it names a part only on its link.
    R"sql(
-- The link whose SMSC accepted the part: a reply's own link or the fallback
-- that carried it. Parts written before were sent on their reply's link as
-- far as anyone knows.
ALTER TABLE outbound_parts ADD COLUMN link TEXT NOT NULL DEFAULT '';
UPDATE outbound_parts SET link = (SELECT o.link FROM outbound o WHERE o.id = outbound_id);
DROP INDEX outbound_parts_message;
CREATE INDEX outbound_parts_message ON outbound_parts(link, message_id);
-- Kept receipts are keyed by link too; those from before keep link '' and
-- age out within a day.
CREATE TABLE early_receipts_by_link (
  link TEXT NOT NULL,
  message_id TEXT NOT NULL,
  state TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  msisdn TEXT NOT NULL DEFAULT '',
  excerpt TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (link, message_id)
);
INSERT INTO early_receipts_by_link (link, message_id, state, received_at, msisdn, excerpt)
  SELECT '', message_id, state, received_at, msisdn, excerpt FROM early_receipts;
DROP TABLE early_receipts;
ALTER TABLE early_receipts_by_link RENAME TO early_receipts;
CREATE INDEX early_receipts_msisdn ON early_receipts(msisdn, received_at);
)sql",
    // 6: refs keyed by a secret of this deployment, so they cannot be walked.
    R"sql(
-- randomblob comes from SQLite's ChaCha20 generator, seeded from the
-- operating system. A database that issued refs before (unkeyed, ids of
-- every report ever made counted by sqlite_sequence) makes new refs one
-- symbol wider than the widest of those, so an old and a new ref never meet.
CREATE TABLE ref_key (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret BLOB NOT NULL CHECK (length(secret) = 32),
  min_symbols INTEGER NOT NULL CHECK (min_symbols BETWEEN 4 AND 8)
);
INSERT INTO ref_key (id, secret, min_symbols)
  SELECT 1, randomblob(32),
         CASE WHEN last IS NULL OR last = 0 THEN 4
              WHEN last < 923521 THEN 5          -- 31^4: refs had 4 symbols
              WHEN last < 28629151 THEN 6        -- 31^5
              WHEN last < 887503681 THEN 7       -- 31^6
              ELSE 8 END
    FROM (SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'reports') AS last);
)sql",
    // 7: the states checked by the schema, and the queues' indexes holding
    // only what waits, so a report's writes touch small B-trees.
    R"sql(
-- The words are store/states.hpp's; a typo in a state now fails its
-- statement instead of stranding a row no query finds. SQLite adds a CHECK
-- only by building the table anew (foreign keys are off meanwhile: migrate).
-- The newest id ever given survives, so no ref is ever issued twice.
CREATE TEMP TABLE v7_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'reports';
CREATE TABLE reports_v7 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ref TEXT UNIQUE,
  msisdn TEXT NOT NULL,
  link TEXT NOT NULL,
  text TEXT NOT NULL,
  rahasia INTEGER NOT NULL,
  anonim INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('received', 'forwarding', 'forwarded', 'closed', 'failed', 'held')),
  tracking_id TEXT,
  transaction_id TEXT,
  status TEXT,
  status_note TEXT,
  status_updated_at INTEGER,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  incomplete INTEGER NOT NULL DEFAULT 0,
  status_polled_at INTEGER,
  silent INTEGER NOT NULL DEFAULT 0
);
INSERT INTO reports_v7 (id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id,
                        transaction_id, status, status_note, status_updated_at, received_at,
                        updated_at, incomplete, status_polled_at, silent)
  SELECT id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id, transaction_id,
         status, status_note, status_updated_at, received_at, updated_at, incomplete,
         status_polled_at, silent FROM reports;
DROP TABLE reports;
ALTER TABLE reports_v7 RENAME TO reports;
DELETE FROM sqlite_sequence WHERE name = 'reports';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'reports', max(coalesce((SELECT seq FROM v7_sequence), 0),
                        coalesce((SELECT max(id) FROM reports), 0));
DROP TABLE v7_sequence;
CREATE INDEX reports_msisdn ON reports(msisdn, received_at);
CREATE INDEX reports_tracking ON reports(tracking_id);
CREATE INDEX reports_state ON reports(state, received_at);
-- The status poller's order, over the reports it polls only.
CREATE INDEX reports_poll ON reports(coalesce(status_polled_at, 0), id) WHERE state = 'forwarded';

CREATE TABLE outbound_v7 (
  id INTEGER PRIMARY KEY,
  report_id INTEGER REFERENCES reports(id),
  kind TEXT NOT NULL,
  link TEXT NOT NULL,
  msisdn TEXT NOT NULL,
  text TEXT NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('queued', 'submitted', 'delivered', 'undeliverable', 'expired', 'unknown')),
  submit_started_at INTEGER,
  parts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  claimed_at INTEGER,
  resends INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbound_v7 (id, report_id, kind, link, msisdn, text, state, submit_started_at,
                         parts, last_error, created_at, updated_at, claimed_at, resends)
  SELECT id, report_id, kind, link, msisdn, text, state, submit_started_at, parts, last_error,
         created_at, updated_at, claimed_at, resends FROM outbound;
DROP TABLE outbound;
ALTER TABLE outbound_v7 RENAME TO outbound;
-- The queue: a reply is in it from its insert to its submit_sm, and the
-- index holds nothing else (it held every reply ever sent before).
CREATE INDEX outbound_queue ON outbound(link, id) WHERE state = 'queued';
CREATE INDEX outbound_report ON outbound(report_id);
CREATE INDEX outbound_msisdn_kind ON outbound(msisdn, kind, created_at);
CREATE INDEX outbound_in_doubt ON outbound(link, id) WHERE state = 'unknown' AND resends = 0;
-- Few rows each: laporctl status counts replies in doubt, and retention
-- finds the replies no report owns, without reading the whole table.
CREATE INDEX outbound_unknown ON outbound(link) WHERE state = 'unknown';
CREATE INDEX outbound_stray ON outbound(updated_at) WHERE report_id IS NULL;

CREATE TABLE outbound_parts_v7 (
  outbound_id INTEGER NOT NULL REFERENCES outbound(id),
  part INTEGER NOT NULL,
  message_id TEXT,
  state TEXT NOT NULL
    CHECK (state IN ('submitted', 'delivered', 'undeliverable', 'expired', 'unknown')),
  updated_at INTEGER NOT NULL,
  link TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (outbound_id, part)
);
INSERT INTO outbound_parts_v7 (outbound_id, part, message_id, state, updated_at, link)
  SELECT outbound_id, part, message_id, state, updated_at, link FROM outbound_parts;
DROP TABLE outbound_parts;
ALTER TABLE outbound_parts_v7 RENAME TO outbound_parts;
CREATE INDEX outbound_parts_message ON outbound_parts(link, message_id);

CREATE TABLE upstream_jobs_v7 (
  report_id INTEGER PRIMARY KEY REFERENCES reports(id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'inflight', 'done', 'failed', 'held')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
INSERT INTO upstream_jobs_v7 (report_id, state, attempts, next_attempt_at, last_error,
                              created_at, updated_at)
  SELECT report_id, state, attempts, next_attempt_at, last_error, created_at, updated_at
    FROM upstream_jobs;
DROP TABLE upstream_jobs;
ALTER TABLE upstream_jobs_v7 RENAME TO upstream_jobs;
-- Pending jobs only: a job leaves both when it is claimed.
CREATE INDEX upstream_due ON upstream_jobs(next_attempt_at) WHERE state = 'pending';
CREATE INDEX upstream_pending ON upstream_jobs(report_id) WHERE state = 'pending';

-- Nothing reads inbound by sender (the rate limit counts reports).
DROP INDEX inbound_msisdn;
)sql",
    // 8: the jobs a stopped daemon left inflight, found by start-up
    // recovery without reading every job ever stored.
    R"sql(
CREATE INDEX upstream_inflight ON upstream_jobs(report_id) WHERE state = 'inflight';
)sql",
    // 9: an SMS is stored before its report, and a report before the API
    // names its tracking id: NULL at insert, set later. Indexed only once
    // set, each report's commit writes one page less in each index (the
    // NULL entry's), and every lookup by them already says which value.
    R"sql(
DROP INDEX inbound_report;
CREATE INDEX inbound_report ON inbound(report_id) WHERE report_id IS NOT NULL;
DROP INDEX reports_tracking;
CREATE INDEX reports_tracking ON reports(tracking_id) WHERE tracking_id IS NOT NULL;
)sql",
    // 10: fewer pages written a report. Every reply had an entry by its
    // handset's number, a random page written twice a report. Only two lookups read replies by
    // number: the limits (how recently a handset was told "help" or "rate limited") and doubt (a
    // later reply to the same handset delivered), and a reply that belongs to a report is found
    // through the report's number instead.
    R"sql(
DROP INDEX outbound_msisdn_kind;
CREATE INDEX outbound_rate_limited ON outbound(msisdn, created_at) WHERE kind = 'rate_limited';
CREATE INDEX outbound_stray_to ON outbound(msisdn, id) WHERE report_id IS NULL;

-- Nearly every report's one attempt is the one the API accepted: it is kept
-- in the job's row, and upstream_attempts holds the attempts that failed
-- (two B-trees fewer written a report). The log reads both.
ALTER TABLE upstream_jobs ADD COLUMN delivered_started_at INTEGER;
ALTER TABLE upstream_jobs ADD COLUMN delivered_at INTEGER;
CREATE VIEW upstream_attempt_log (report_id, started_at, finished_at, outcome, error) AS
  SELECT report_id, started_at, finished_at, outcome, error FROM upstream_attempts
  UNION ALL
  SELECT report_id, delivered_started_at, delivered_at, 'delivered', NULL FROM upstream_jobs
    WHERE delivered_at IS NOT NULL;
)sql",
    // 11: a ref is its report's id, permuted (sms/ref.hpp), so the id is
    // read off the ref and the row confirms it: the unique index on ref,
    // a random page written every report, goes. SQLite drops a UNIQUE
    // constraint only by building the table anew (as in 7).
    R"sql(
CREATE TEMP TABLE v11_sequence AS SELECT seq FROM sqlite_sequence WHERE name = 'reports';
CREATE TABLE reports_v11 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ref TEXT,
  msisdn TEXT NOT NULL,
  link TEXT NOT NULL,
  text TEXT NOT NULL,
  rahasia INTEGER NOT NULL,
  anonim INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK (state IN ('received', 'forwarding', 'forwarded', 'closed', 'failed', 'held')),
  tracking_id TEXT,
  transaction_id TEXT,
  status TEXT,
  status_note TEXT,
  status_updated_at INTEGER,
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  incomplete INTEGER NOT NULL DEFAULT 0,
  status_polled_at INTEGER,
  silent INTEGER NOT NULL DEFAULT 0
);
INSERT INTO reports_v11 (id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id,
                         transaction_id, status, status_note, status_updated_at, received_at,
                         updated_at, incomplete, status_polled_at, silent)
  SELECT id, ref, msisdn, link, text, rahasia, anonim, state, tracking_id, transaction_id,
         status, status_note, status_updated_at, received_at, updated_at, incomplete,
         status_polled_at, silent FROM reports;
DROP TABLE reports;
ALTER TABLE reports_v11 RENAME TO reports;
DELETE FROM sqlite_sequence WHERE name = 'reports';
INSERT INTO sqlite_sequence (name, seq)
  SELECT 'reports', max(coalesce((SELECT seq FROM v11_sequence), 0),
                        coalesce((SELECT max(id) FROM reports), 0));
DROP TABLE v11_sequence;
CREATE INDEX reports_msisdn ON reports(msisdn, received_at);
CREATE INDEX reports_state ON reports(state, received_at);
CREATE INDEX reports_poll ON reports(coalesce(status_polled_at, 0), id) WHERE state = 'forwarded';
CREATE INDEX reports_tracking ON reports(tracking_id) WHERE tracking_id IS NOT NULL;
)sql",
};

} // namespace

int current_schema_version() {
  return static_cast<int>(k_migrations.size());
}

void migrate(Connection& db, int target) {
  const auto version = db.query_int("PRAGMA user_version");
  if (version > current_schema_version()) {
    throw SchemaError(
        fmt::format("database schema version {} is newer than this laporsmsd understands ({}); "
                    "run the laporsms release that wrote it",
                    version, current_schema_version()));
  }
  target = std::min(target, current_schema_version());
  if (version >= target) {
    return;
  }
  // A migration that builds a table anew drops the old one, which other
  // tables' foreign keys name: they are off while it runs (the pragma is a
  // no-op inside a transaction) and checked before it commits.
  const bool foreign_keys = db.query_int("PRAGMA foreign_keys") != 0;
  db.exec("PRAGMA foreign_keys = OFF");
  db.exec("BEGIN IMMEDIATE");
  try {
    for (auto v = version; v < target; ++v) {
      db.exec(k_migrations[static_cast<std::size_t>(v)]);
    }
    auto check = db.prepare_uncached("PRAGMA foreign_key_check");
    if (check->step()) {
      throw SchemaError(fmt::format("migrating the database to version {} would leave a row of "
                                    "{} without the row it refers to",
                                    target, check->column_text(0)));
    }
    check.reset();
    db.exec(fmt::format("PRAGMA user_version = {}", target));
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    if (foreign_keys) {
      db.exec("PRAGMA foreign_keys = ON");
    }
    throw;
  }
  if (foreign_keys) {
    db.exec("PRAGMA foreign_keys = ON");
  }
}

} // namespace laporsms::store

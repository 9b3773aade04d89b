#include <laporsms/store/schema.hpp>
#include <laporsms/store/sqlite.hpp>
#include <laporsms/store/states.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <string>

#include "store_test_util.hpp"

using namespace laporsms::store;
using store_test::TempDir;

namespace {

// Whether the schema lets `sql` (a row with the state word spliced in) in.
bool accepted(Connection& db, const std::string& sql) {
  try {
    db.exec(sql);
    return true;
  } catch (const SqliteError& e) {
    CHECK((e.code() & 0xff) == SQLITE_CONSTRAINT);
    return false;
  }
}

std::string report_row(std::string_view state) {
  return "INSERT INTO reports (msisdn, link, text, rahasia, anonim, state, received_at, "
         "updated_at) VALUES ('628123', 'l', 'x', 1, 1, '" +
         std::string(state) + "', 1, 1)";
}

std::string reply_row(std::string_view state) {
  return "INSERT INTO outbound (kind, link, msisdn, text, state, created_at, updated_at) "
         "VALUES ('help', 'l', '628123', 'x', '" +
         std::string(state) + "', 1, 1)";
}

std::string job_row(std::int64_t report_id, std::string_view state) {
  return "INSERT INTO upstream_jobs (report_id, state, next_attempt_at, created_at, updated_at) "
         "VALUES (" +
         std::to_string(report_id) + ", '" + std::string(state) + "', 1, 1, 1)";
}

} // namespace

TEST_SUITE("store::states") {

  TEST_CASE("every state has one word, and the word names it back") {
    for (const auto state : k_report_states) {
      CHECK(report_state_named(name(state)) == state);
    }
    for (const auto state : k_job_states) {
      CHECK(job_state_named(name(state)) == state);
    }
    for (const auto state : k_reply_states) {
      CHECK(reply_state_named(name(state)) == state);
    }
    CHECK_FALSE(report_state_named("Received").has_value());
    CHECK_FALSE(job_state_named("in_flight").has_value());
    CHECK_FALSE(reply_state_named("").has_value());
  }

  TEST_CASE("the schema takes exactly the words of states.hpp") {
    TempDir dir;
    Connection db(dir.file("states.db"), OpenMode::read_write_create);
    db.exec("PRAGMA synchronous = OFF");
    migrate(db);
    for (const auto state : k_report_states) {
      CAPTURE(name(state));
      CHECK(accepted(db, report_row(name(state))));
    }
    CHECK_FALSE(accepted(db, report_row("forwardd")));
    CHECK_FALSE(accepted(db, "UPDATE reports SET state = 'open' WHERE id = 1"));

    std::int64_t report_id = 1;
    for (const auto state : k_job_states) {
      CAPTURE(name(state));
      CHECK(accepted(db, job_row(report_id++, name(state))));
    }
    CHECK_FALSE(accepted(db, job_row(report_id, "in_flight")));

    for (const auto state : k_reply_states) {
      CAPTURE(name(state));
      CHECK(accepted(db, reply_row(name(state))));
    }
    CHECK_FALSE(accepted(db, reply_row("sent")));
    // A part is never queued: it exists from its submit_sm_resp on.
    CHECK(accepted(db, "INSERT INTO outbound_parts (outbound_id, part, state, updated_at) "
                       "VALUES (1, 1, 'submitted', 1)"));
    CHECK_FALSE(accepted(db, "INSERT INTO outbound_parts (outbound_id, part, state, updated_at) "
                             "VALUES (1, 2, 'queued', 1)"));
  }

  TEST_CASE("the moves") {
    CHECK(api_has_it(ReportState::forwarded));
    CHECK(api_has_it(ReportState::closed));
    CHECK_FALSE(api_has_it(ReportState::failed));
    CHECK_FALSE(api_has_it(ReportState::held));
    CHECK(report_state_for(JobState::inflight) == ReportState::forwarding);
    CHECK(report_state_for(JobState::pending) == ReportState::received);
    CHECK(report_state_for(JobState::done) == ReportState::forwarded);
    CHECK(is_final(ReplyState::delivered));
    CHECK_FALSE(is_final(ReplyState::unknown));
    CHECK(is_closing_status("Selesai"));
    CHECK(is_closing_status("Diarsipkan"));
    CHECK_FALSE(is_closing_status("Diproses"));
    CHECK(citizen_words(ReportState::held) == "Diperiksa petugas");
  }
}

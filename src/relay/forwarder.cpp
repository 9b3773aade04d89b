#include <laporsms/relay/forwarder.hpp>
#include <laporsms/sms/msisdn.hpp>
#include <laporsms/store/upstream.hpp>
#include <laporsms/util/backoff.hpp>
#include <laporsms/util/clock.hpp>
#include <laporsms/util/log.hpp>

#include <limits>

namespace laporsms::relay {

using namespace std::chrono_literals;

std::string_view upstream_state_name(UpstreamState state) {
  switch (state) {
  case UpstreamState::ok:
    return "ok";
  case UpstreamState::retrying:
    return "retrying";
  case UpstreamState::auth_error:
    return "auth_error";
  case UpstreamState::circuit_open:
    return "circuit_open";
  }
  return "ok";
}

store::UpstreamOutcome decide_outcome(const lapor::SubmitResult& result,
                                      const store::UpstreamJob& job,
                                      const ForwarderOptions& options, std::int64_t started_at,
                                      std::int64_t now, std::mt19937_64& rng) {
  store::UpstreamOutcome outcome;
  outcome.started_at = started_at;
  outcome.finished_at = now;
  outcome.error = result.error;
  outcome.tracking_id = result.tracking_id;
  outcome.transaction_id = result.transaction_id;
  const auto attempts = static_cast<unsigned>(std::max(job.attempts, 1));
  switch (result.outcome) {
  case lapor::Outcome::delivered:
    outcome.kind = store::UpstreamOutcomeKind::delivered;
    return outcome;
  case lapor::Outcome::rejected:
    outcome.kind = store::UpstreamOutcomeKind::rejected;
    return outcome;
  case lapor::Outcome::auth_error:
    // A wrong token does not fix itself quickly: retry at the slow end, and
    // never give up on the report for it (operators are alerted instead).
    outcome.kind = store::UpstreamOutcomeKind::auth_error;
    outcome.next_attempt_at = now + options.retry_max.count();
    return outcome;
  case lapor::Outcome::temporary:
    break;
  }
  if (now - job.created_at >= options.give_up_after.count()) {
    outcome.kind = store::UpstreamOutcomeKind::gave_up;
    outcome.error = "gave up after give_up_after: " + result.error;
    return outcome;
  }
  outcome.kind = store::UpstreamOutcomeKind::temporary;
  outcome.next_attempt_at =
      now + util::backoff_delay(options.retry_min, options.retry_max, attempts, rng).count();
  return outcome;
}

Forwarder::Forwarder(asio::any_io_executor executor, store::Store& store,
                     lapor::HttpTransport& http, const lapor::Adapter& adapter,
                     ForwarderOptions options, ReplyTemplatesSource replies, ReplyHandover on_reply,
                     metrics::UpstreamMetrics metrics)
    : m_executor(executor), m_store(store), m_http(http), m_adapter(adapter), m_options(options),
      m_replies(std::move(replies)), m_on_reply(std::move(on_reply)), m_metrics(metrics),
      m_wakeup(executor), m_rng(std::random_device{}()) {}

ForwarderSnapshot Forwarder::snapshot() const {
  auto snap = m_counters;
  snap.in_flight = m_in_flight;
  if (m_circuit_open && snap.state != UpstreamState::auth_error) {
    snap.state = UpstreamState::circuit_open;
  }
  return snap;
}

unsigned Forwarder::busy_slots() const {
  // Outcomes waiting for the store hold no slot, up to one round of them:
  // past that, a store that takes claims but refuses outcomes would let
  // every job go out once more and sit inflight, to be posted again at the
  // next start.
  const unsigned unstored =
      m_recording > m_options.concurrency ? m_recording - m_options.concurrency : 0;
  return m_in_flight + m_reserved + unstored;
}

bool Forwarder::reserve() {
  // Never while a claim is out: what it takes is not counted yet, and a job
  // it leaves behind is older than this one.
  if (!m_gate.admit(!m_stopping && !m_circuit_open && m_ahead.empty() &&
                    busy_slots() < m_options.concurrency)) {
    return false; // the job goes to the queue: claimed when a slot frees
  }
  ++m_reserved;
  return true;
}

void Forwarder::take(store::UpstreamJob job) {
  --m_reserved;
  if (m_stopping) {
    return; // stored inflight: start-up recovery puts it back to pending
  }
  ++m_in_flight;
  asio::co_spawn(m_executor, attempt(std::move(job)), asio::detached);
}

void Forwarder::release() {
  --m_reserved;
  if (m_gate.backlog()) {
    m_wakeup.notify();
  }
}

void Forwarder::start_ahead() {
  while (!m_stopping && !m_circuit_open && !m_ahead.empty() &&
         busy_slots() < m_options.concurrency) {
    auto job = std::move(m_ahead.front());
    m_ahead.pop_front();
    ++m_in_flight;
    asio::co_spawn(m_executor, attempt(std::move(job)), asio::detached);
  }
}

awaitable<void> Forwarder::unclaim_ahead() {
  if (m_ahead.empty()) {
    co_return;
  }
  std::vector<store::UpstreamJob> jobs(std::make_move_iterator(m_ahead.begin()),
                                       std::make_move_iterator(m_ahead.end()));
  m_ahead.clear();
  m_gate.mark_backlog(); // they wait in the queue again, oldest first
  auto unclaim = [jobs = std::move(jobs), now = util::now_ms()](store::Connection& db) {
    return store::unclaim_jobs(db, jobs, now);
  };
  try {
    // Lost to a crash, they are inflight: start-up recovery requeues them.
    co_await m_store.execute(std::move(unclaim), store::Durability::written);
  } catch (const std::exception& e) {
    log::warn("upstream: cannot put reports claimed ahead back to the queue; they wait until the "
              "next start",
              {{"error", e.what()}});
  }
}

awaitable<void> Forwarder::run() {
  while (!m_stopping) {
    std::chrono::milliseconds sleep = 60s;
    if (m_circuit_open && !m_ahead.empty()) {
      co_await unclaim_ahead(); // before the probe's claim, which must see them
      continue;
    }
    start_ahead();
    const unsigned busy = busy_slots();
    unsigned free_slots = m_options.concurrency > busy ? m_options.concurrency - busy : 0;
    // What a claim may take: the free slots, and as many again to hold ahead
    // once a backlog shows (the last claim filled what it asked for).
    unsigned claim_room = free_slots;
    if (m_circuit_open) {
      // Open: nothing until the probe time; then one job at a time (half-open).
      const auto now = std::chrono::steady_clock::now();
      if (now < m_probe_at) {
        co_await m_wakeup.wait(m_probe_at - now);
        continue;
      }
      if (m_in_flight == 0) {
        co_await give_up_overdue(); // once per probe
      }
      free_slots = busy == 0 ? 1 : 0;
      claim_room = free_slots;
    } else if (m_gate.backlog() && m_ahead.size() <= m_options.concurrency / 2) {
      claim_room += m_options.concurrency - static_cast<unsigned>(m_ahead.size());
    }
    if (claim_room > 0) {
      const auto now = util::now_ms();
      // The half-open probe is the oldest report waiting, due or not.
      const auto due_by = m_circuit_open ? std::numeric_limits<std::int64_t>::max() : now;
      const bool probing = m_circuit_open;
      const bool reopen_backlog = m_release_backlog;
      m_release_backlog = false;
      m_gate.claim_started();
      try {
        // The claim and, when it leaves slots free, when the next job is
        // due: one transaction.
        auto claim = [now, due_by, claim_room, reopen_backlog](store::Connection& db) {
          if (reopen_backlog) {
            store::make_pending_due(db, now);
          }
          auto claimed = store::claim_due_jobs(db, due_by, claim_room);
          const auto next_due = claimed.size() < claim_room ? store::next_due_at(db) : std::nullopt;
          return std::make_pair(std::move(claimed), next_due);
        };
        // Lost to a power cut, a claim only means the job is tried again.
        auto [jobs, due] = co_await m_store.execute(std::move(claim), store::Durability::written);
        m_gate.claim_ended(jobs.size() >= claim_room);
        if (m_read_fault.cleared(util::now_ms())) {
          log::info("upstream: reads the job queue again");
        }
        for (auto& job : jobs) {
          m_ahead.push_back(std::move(job)); // behind any older ones held
        }
        if (probing && m_circuit_open && busy_slots() == 0 && !m_ahead.empty()) {
          // The half-open probe: one job, whatever the claim took. (Opened
          // while a claim was out, the circuit gives back what it took.)
          auto probe = std::move(m_ahead.front());
          m_ahead.pop_front();
          ++m_in_flight;
          asio::co_spawn(m_executor, attempt(std::move(probe)), asio::detached);
        }
        start_ahead();
        if (jobs.size() < claim_room) {
          if (due) {
            sleep = std::clamp<std::chrono::milliseconds>(
                std::chrono::milliseconds(*due - util::now_ms()), 0ms, 60s);
          }
        } else {
          sleep = 0ms; // more may be due: look again once a slot frees
        }
      } catch (const std::exception& e) {
        if (m_read_fault.failed(util::now_ms())) {
          log::error("upstream: cannot read the job queue; retrying every second, logged again "
                     "when it reads",
                     {{"error", e.what()}});
        } else {
          log::debug("upstream: cannot read the job queue", {{"error", e.what()}});
        }
        m_gate.claim_failed();
        sleep = 1s;
      }
    }
    if (claim_room == 0 && !m_circuit_open) {
      // A job may fall due while every slot is busy: the next one to free
      // wakes this loop, and nothing newer is handed over meanwhile.
      m_gate.mark_backlog();
    }
    if (sleep > 0ms || claim_room == 0) {
      co_await m_wakeup.wait(claim_room == 0 ? std::chrono::milliseconds(60s) : sleep);
    }
  }
}

awaitable<void> Forwarder::give_up_overdue() {
  // One report probes per backoff: without this, the n-th report waiting
  // would fail n probes after its give_up_after instead of at it.
  const auto now = util::now_ms();
  const auto created_before = now - m_options.give_up_after.count();
  auto give_up = [created_before, now, replies = m_replies()](store::Connection& db) {
    return store::give_up_overdue_jobs(db, created_before, now,
                                       "gave up after give_up_after: the API stayed unreachable",
                                       *replies, 1000);
  };
  try {
    const auto jobs = co_await m_store.execute(std::move(give_up));
    for (const auto& job : jobs) {
      ++m_counters.rejected;
      log::error("upstream: report failed for good; the citizen is told, operators: laporctl retry",
                 {{"ref", job.ref},
                  {"msisdn", sms::mask_msisdn(job.msisdn)},
                  {"outcome", store::name(store::UpstreamOutcomeKind::gave_up)},
                  {"error", "the API stayed unreachable for give_up_after"}});
      m_on_reply.queued(job.link, std::nullopt, store::ReplyRoom::none);
    }
  } catch (const std::exception& e) {
    log::error("upstream: cannot give up overdue reports", {{"error", e.what()}});
  }
}

awaitable<void> Forwarder::attempt(store::UpstreamJob job) {
  const auto started_at = util::now_ms();
  lapor::Submission submission;
  submission.ref = job.ref;
  submission.msisdn = job.msisdn;
  submission.text = job.text;
  submission.received_at =
      util::format_rfc3339(job.received_at, util::local_utc_offset_minutes(job.received_at));
  submission.rahasia = job.rahasia;
  submission.anonim = job.anonim;

  lapor::SubmitResult result;
  bool maybe_filed = false; // the request left, but no answer came back
  try {
    auto request = m_adapter.build_submit(submission);
    const auto sent_at = std::chrono::steady_clock::now();
    const auto response = co_await m_http.send(std::move(request));
    result = m_adapter.classify_submit(response);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - sent_at;
    m_metrics.request("report", to_string(result.outcome), took.count());
    maybe_filed = !response && (response.error().kind == lapor::HttpErrorKind::timeout ||
                                response.error().kind == lapor::HttpErrorKind::io);
  } catch (const std::exception& e) {
    result.outcome = lapor::Outcome::temporary;
    result.error = e.what();
  }
  const auto outcome = decide_outcome(result, job, m_options, started_at, util::now_ms(), m_rng);
  // A 401 answered to the half-open probe is a failed probe too: without a
  // new probe time the loop would claim the oldest report again at once.
  const bool failed_probe =
      m_circuit_open && outcome.kind == store::UpstreamOutcomeKind::auth_error;
  if (outcome.kind == store::UpstreamOutcomeKind::temporary ||
      outcome.kind == store::UpstreamOutcomeKind::gave_up || failed_probe) {
    ++m_consecutive_failures;
    if (m_circuit_open || m_consecutive_failures >= m_options.circuit_threshold) {
      // (Re)open: wait longer after each failed probe, as for any retry.
      const auto wait =
          util::backoff_delay(m_options.retry_min, m_options.retry_max, ++m_circuit_opens, m_rng);
      if (!m_circuit_open) {
        log::warn("upstream: circuit open; probing again later",
                  {{"failures", m_consecutive_failures}, {"probe_in_ms", wait.count()}});
      }
      m_circuit_open = true;
      m_probe_at = std::chrono::steady_clock::now() + wait;
    }
  } else if (outcome.kind != store::UpstreamOutcomeKind::auth_error) {
    if (m_circuit_open) {
      log::info("upstream: the API answers again; circuit closed", {{"ref", job.ref}});
      m_release_backlog = true; // the waiting reports go now, oldest first
      m_gate.mark_backlog();
    }
    m_consecutive_failures = 0;
    m_circuit_opens = 0;
    m_circuit_open = false;
  }
  // The slot is free once the API has answered: the outcome rides the
  // writer's next commit while the next job's request is already on its way.
  // (Queued below before this coroutine first suspends, so a claim the loop
  // makes next runs after it.) The job stays inflight in the database until
  // the outcome is stored; if the daemon stops first, recover_on_startup puts
  // it back to pending (a repeat the idempotency key of rest-json makes
  // harmless).
  --m_in_flight;
  ++m_recording;
  if (outcome.kind == store::UpstreamOutcomeKind::temporary ||
      outcome.kind == store::UpstreamOutcomeKind::auth_error) {
    m_gate.mark_backlog(); // pending again: run() learns when it falls due
  }
  start_ahead(); // the freed slot sends the next job claimed ahead, if any
  if (m_gate.backlog() || m_circuit_open) {
    m_wakeup.notify();
  }
  // Room in the outbox for the citizen's reply, when the outcome makes one.
  const bool replies_now = outcome.kind == store::UpstreamOutcomeKind::delivered ||
                           outcome.kind == store::UpstreamOutcomeKind::rejected ||
                           outcome.kind == store::UpstreamOutcomeKind::gave_up;
  // Only after a received reply that went the same way: one still in the
  // queue must leave first.
  const auto room = replies_now && job.replies_handed_over && m_on_reply.reserve
                        ? m_on_reply.reserve(job.link)
                        : store::ReplyRoom::none;
  // Set on the writer thread, read here after the commit resumed us.
  std::optional<store::OutboundItem> reply;
  const store::Store::Task record = [&job, &outcome, &reply, room,
                                     replies = m_replies()](store::Connection& db) {
    reply = store::record_upstream_outcome(db, job, outcome, *replies, room);
    return true;
  };
  const auto what = "upstream job " + job.ref;
  const std::function<bool()> keep_trying = [this] { return !m_stopping; };
  // The outcome rides the next commit another task starts (a crash before
  // it has the job posted again). With a submit ticket for its reply it
  // holds one window slot of the link meanwhile: at most ride_within, as
  // the ticket is only given while the window has room.
  const bool stored = co_await m_store.execute_until_stored(record, what, keep_trying);
  --m_recording;
  if (!stored) {
    if (room != store::ReplyRoom::none) {
      m_on_reply.queued(job.link, std::nullopt, room); // the room back
    }
    co_return; // stopping: start-up recovery puts the job back to pending
  }
  switch (outcome.kind) {
  case store::UpstreamOutcomeKind::delivered:
    ++m_counters.delivered;
    m_counters.state = UpstreamState::ok;
    m_counters.last_error.reset();
    log::info("upstream: report forwarded", {{"ref", job.ref},
                                             {"msisdn", sms::mask_msisdn(job.msisdn)},
                                             {"tracking_id", outcome.tracking_id},
                                             {"attempt", job.attempts},
                                             {"outcome", store::name(outcome.kind)}});
    m_on_reply.queued(job.link, std::move(reply), room);
    break;
  case store::UpstreamOutcomeKind::temporary:
    ++m_counters.temporary;
    if (maybe_filed && !m_adapter.idempotent()) {
      ++m_counters.possible_duplicates;
      m_metrics.possible_duplicate();
      log::warn("upstream: the report may already be filed (no answer after sending); this API "
                "has no idempotency key, so the retry may file it twice",
                {{"ref", job.ref}, {"possible_duplicates", m_counters.possible_duplicates}});
    }
    m_counters.state = UpstreamState::retrying;
    m_counters.last_error = outcome.error;
    log::warn("upstream: report not forwarded; retrying",
              {{"ref", job.ref},
               {"attempt", job.attempts},
               {"outcome", store::name(outcome.kind)},
               {"retry_in_ms", outcome.next_attempt_at - outcome.finished_at},
               {"error", outcome.error}});
    break;
  case store::UpstreamOutcomeKind::auth_error:
    ++m_counters.auth_errors;
    m_counters.state = UpstreamState::auth_error;
    m_counters.last_error = outcome.error;
    log::error(
        "upstream: the API refused our credentials; the report waits; check upstream.token",
        {{"ref", job.ref}, {"outcome", store::name(outcome.kind)}, {"error", outcome.error}});
    break;
  case store::UpstreamOutcomeKind::rejected:
  case store::UpstreamOutcomeKind::gave_up:
    ++m_counters.rejected;
    m_counters.last_error = outcome.error;
    log::error("upstream: report failed for good; the citizen is told, operators: laporctl retry",
               {{"ref", job.ref},
                {"msisdn", sms::mask_msisdn(job.msisdn)},
                {"outcome", store::name(outcome.kind)},
                {"error", outcome.error}});
    m_on_reply.queued(job.link, std::move(reply), room);
    break;
  }
}

awaitable<void> Forwarder::stop(std::chrono::milliseconds grace) {
  m_stopping = true;
  m_wakeup.notify();
  co_await unclaim_ahead();
  asio::steady_timer timer(m_executor);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while ((m_in_flight > 0 || m_recording > 0) && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(50ms);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

} // namespace laporsms::relay

// The Forwarder: takes due upstream jobs from the store, posts each report
// through the adapter, and records every outcome (delivered, temporary,
// auth_error, rejected) in the store before acting on it. Retries follow
// exponential backoff with full jitter; a job older than give_up_after fails.
#pragma once

#include <laporsms/lapor/adapter.hpp>
#include <laporsms/lapor/http_client.hpp>
#include <laporsms/metrics/catalog.hpp>
#include <laporsms/store/records.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/fault_episode.hpp>
#include <laporsms/util/handover_gate.hpp>
#include <laporsms/util/net.hpp>
#include <laporsms/util/wakeup.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

namespace laporsms::relay {

enum class UpstreamState { ok, retrying, auth_error, circuit_open };
std::string_view upstream_state_name(UpstreamState state);

struct ForwarderOptions {
  unsigned concurrency = 4;
  std::chrono::milliseconds retry_min{5000};
  std::chrono::milliseconds retry_max{3600 * 1000};
  std::chrono::milliseconds give_up_after{72LL * 3600 * 1000};
  // Consecutive temporary failures that open the circuit: no more jobs are
  // claimed until a probe (one job) succeeds.
  unsigned circuit_threshold = 5;
};

struct ForwarderSnapshot {
  UpstreamState state = UpstreamState::ok;
  std::optional<std::string> last_error;
  std::uint64_t delivered = 0;
  std::uint64_t temporary = 0;
  std::uint64_t auth_errors = 0;
  std::uint64_t rejected = 0;
  std::uint64_t possible_duplicates = 0; // retries after a lost answer, non-idempotent API
  unsigned in_flight = 0;
};

// Maps an adapter's verdict to what the store records, with the time of the
// next attempt for the outcomes that retry. Pure; the clock and the random
// source are parameters.
store::UpstreamOutcome decide_outcome(const lapor::SubmitResult& result,
                                      const store::UpstreamJob& job,
                                      const ForwarderOptions& options, std::int64_t started_at,
                                      std::int64_t now, std::mt19937_64& rng);

// The reply templates in force now (SIGHUP replaces them). Called on the io
// thread; a store task keeps the snapshot it was given, never the source.
using ReplyTemplatesSource = std::function<std::shared_ptr<const store::ReplyTemplates>()>;

class Forwarder {
public:
  // Where an outcome's reply to the citizen goes: `reserve` asks the outbox
  // of a link for room (and maybe a submit ticket) before the outcome is
  // stored; `queued` hands over the reply stored claimed (or started) for
  // it, or, with none, gives back what `reserved` holds and has the outboxes
  // look in the queue.
  struct ReplyHandover {
    std::function<store::ReplyRoom(const std::string& link)> reserve;
    std::function<void(const std::string& link, std::optional<store::OutboundItem> reply,
                       store::ReplyRoom reserved)>
        queued;
  };
  Forwarder(asio::any_io_executor executor, store::Store& store, lapor::HttpTransport& http,
            const lapor::Adapter& adapter, ForwarderOptions options, ReplyTemplatesSource replies,
            ReplyHandover on_reply, metrics::UpstreamMetrics metrics = {});

  // Runs until stop(): claims due jobs while slots are free, sleeps until the
  // next one falls due or wake() is called.
  awaitable<void> run();
  // A new job was stored: look again now.
  void wake() {
    m_gate.mark_backlog();
    m_wakeup.notify();
  }
  // The hand-over in memory, for a report about to be filed: reserve() holds
  // a slot when one is free, the circuit is closed and nothing waits in the
  // queue; the intake then stores the job inflight and take() starts its
  // attempt without a claim; release() gives the slot back when no job came.
  bool reserve();
  void take(store::UpstreamJob job);
  void release();
  // Stops claiming jobs and waits up to `grace` for attempts under way.
  awaitable<void> stop(std::chrono::milliseconds grace);

  ForwarderSnapshot snapshot() const;

private:
  awaitable<void> give_up_overdue();
  unsigned busy_slots() const;
  // Starts jobs claimed ahead while slots are free and the circuit is closed.
  void start_ahead();
  // Gives the jobs claimed ahead back to the queue (the circuit opened, or
  // stopping): their attempts never started.
  awaitable<void> unclaim_ahead();
  awaitable<void> attempt(store::UpstreamJob job);

  asio::any_io_executor m_executor;
  store::Store& m_store;
  lapor::HttpTransport& m_http;
  const lapor::Adapter& m_adapter;
  ForwarderOptions m_options;
  ReplyTemplatesSource m_replies;
  ReplyHandover m_on_reply;
  metrics::UpstreamMetrics m_metrics;
  util::Wakeup m_wakeup;
  std::mt19937_64 m_rng;
  bool m_stopping = false;
  unsigned m_in_flight = 0; // requests to the API not yet answered
  unsigned m_recording = 0; // answered, the outcome not yet stored
  unsigned m_reserved = 0;  // slots held for jobs being filed (reserve)
  // Under a backlog, up to `concurrency` jobs claimed ahead of a free slot:
  // the slot an answer frees sends the next request at once instead of
  // waiting for a claim's round trip through the writer. Inflight in the
  // database (start-up recovery puts them back, as any claimed job).
  std::deque<store::UpstreamJob> m_ahead;
  // Jobs may wait in the database (the last claim filled its slots, a job
  // failed for now, a reservation was refused): run() looks again when a
  // slot frees, and no job is handed over ahead of them.
  util::HandoverGate m_gate;
  // the job queue cannot be read; over once reads go on succeeding
  util::FaultEpisode m_read_fault{util::k_store_fault_settle_ms};
  ForwarderSnapshot m_counters;
  // Circuit breaker: open after circuit_threshold temporary failures in a
  // row; after a backoff one probe goes out (half-open); its success closes it.
  unsigned m_consecutive_failures = 0;
  unsigned m_circuit_opens = 0;
  bool m_circuit_open = false;
  bool m_release_backlog = false;
  std::chrono::steady_clock::time_point m_probe_at{};
};

} // namespace laporsms::relay

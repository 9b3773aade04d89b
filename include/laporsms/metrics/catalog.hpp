// Every metric laporsmsd exports (interfaces.md §5), registered in one
// place, and the small sinks each part counts through: a link's (the SMPP
// session and its outbox), the intake's and the upstream stages'. A part
// gets its sink by value; a default-constructed sink counts nothing, so a
// part works the same without metrics (unit tests build them so).
// Includes nothing of ours but the registry.
#pragma once

#include <laporsms/metrics/registry.hpp>

#include <string>
#include <string_view>

namespace laporsms::metrics {

class Catalog {
public:
  explicit Catalog(std::string_view version);
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  Registry registry;

  // SMPP, per link.
  CounterFamily& deliver_sm_received;     // {link}
  CounterFamily& deliver_sm_acknowledged; // {link}
  CounterFamily& deliver_sm_refused;      // {link, status}
  HistogramFamily& deliver_sm_ack;        // {link}
  CounterFamily& submit_sm_sent;          // {link}
  CounterFamily& submit_sm_accepted;      // {link}
  CounterFamily& submit_sm_refused;       // {link, status}
  CounterFamily& submit_sm_unanswered;    // {link}
  CounterFamily& binds;                   // {link, outcome}
  CounterFamily& reconnects;              // {link}
  GaugeFamily& link_state;                // {link, state}
  GaugeFamily& window_in_use;             // {link}
  // Intake and outbox, per link.
  CounterFamily& mo;       // {link, kind}
  CounterFamily& receipts; // {link, state}
  CounterFamily& replies;  // {link, outcome}
  // Upstream (the LAPOR! API).
  CounterFamily& upstream_requests;            // {kind, outcome}
  HistogramFamily& upstream_duration;          // {kind}
  GaugeFamily& upstream_state;                 // {state}
  GaugeFamily& upstream_in_flight;             // {}
  CounterFamily& upstream_possible_duplicates; // {}
  // The store.
  CounterFamily& store_commits;          // {}
  CounterFamily& store_fsyncs;           // {kind}
  CounterFamily& store_failed_commits;   // {}
  GaugeFamily& reports;                  // {state}
  GaugeFamily& replies_waiting;          // {state}
  GaugeFamily& oldest_unforwarded_age;   // {}
  GaugeFamily& database_sample_age;      // {}
  GaugeFamily& database_sample_duration; // {}
  // The process.
  GaugeFamily& build_info; // {version}
  GaugeFamily& start_time; // {}
};

// One SMPP link: its session counts PDUs, its outbox the fate of replies.
class LinkMetrics {
public:
  LinkMetrics() = default;
  LinkMetrics(Catalog& catalog, std::string link);

  void deliver_sm_received() const;
  // A response to a deliver_sm or data_sm went out with `status_label`;
  // `seconds` since it was read, observed when acknowledged (`ok`).
  void deliver_sm_answered(bool ok, const std::string& status_label, double seconds) const;
  void submit_sm_sent() const;
  void submit_sm_answered(bool ok, const std::string& status_label) const;
  // No submit_sm_resp within response_timeout, or the link fell first.
  void submit_sm_unanswered() const;
  // outcome: "bound", "refused" or "no_answer".
  void bind(std::string_view outcome) const;
  void reconnected() const;
  // outcome: "submitted", "in_doubt", "refused", "retry" or "expired".
  void reply(std::string_view outcome, std::uint64_t n = 1) const;

private:
  Catalog* m_catalog = nullptr;
  std::string m_link;
  Counter* m_received = nullptr;
  Counter* m_acknowledged = nullptr;
  Histogram* m_ack = nullptr;
  Counter* m_sent = nullptr;
  Counter* m_accepted = nullptr;
  Counter* m_unanswered = nullptr;
  Counter* m_reconnects = nullptr;
};

// The intake: what each stored MO was, and each delivery receipt's state.
class IntakeMetrics {
public:
  IntakeMetrics() = default;
  explicit IntakeMetrics(Catalog& catalog) : m_catalog(&catalog) {}
  // kind: "report", "empty_report", "status", "help", "unknown", "part",
  // "redelivery".
  void mo(const std::string& link, std::string_view kind) const;
  // state: the receipt's own (DELIVRD, UNDELIV, ...), or "unreadable".
  void receipt(const std::string& link, std::string_view state) const;

private:
  Catalog* m_catalog = nullptr;
};

// Requests to the LAPOR! API, kind "report" (the forwarder) or "status"
// (the status poller), by the adapter's verdict.
class UpstreamMetrics {
public:
  UpstreamMetrics() = default;
  explicit UpstreamMetrics(Catalog& catalog) : m_catalog(&catalog) {}
  void request(std::string_view kind, std::string_view outcome, double seconds) const;
  void possible_duplicate() const;

private:
  Catalog* m_catalog = nullptr;
};

} // namespace laporsms::metrics

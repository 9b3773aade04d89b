#include <laporsms/metrics/catalog.hpp>
#include <laporsms/util/clock.hpp>

namespace laporsms::metrics {

Catalog::Catalog(std::string_view version)
    : deliver_sm_received(registry.counter(
          "laporsms_deliver_sm_received_total",
          "deliver_sm and data_sm PDUs received from the SMSC (MO and receipts)", {"link"})),
      deliver_sm_acknowledged(registry.counter(
          "laporsms_deliver_sm_acknowledged_total",
          "deliver_sm and data_sm answered ESME_ROK (the MO or receipt is stored)", {"link"})),
      deliver_sm_refused(registry.counter(
          "laporsms_deliver_sm_refused_total",
          "deliver_sm and data_sm answered with an error status (deliver_sm_resp, data_sm_resp "
          "or generic_nack); the SMSC delivers temporary ones again",
          {"link", "status"})),
      deliver_sm_ack(registry.histogram(
          "laporsms_deliver_sm_ack_duration_seconds",
          "From reading a deliver_sm to queueing its ESME_ROK response (the commit included)",
          {"link"}, duration_buckets())),
      submit_sm_sent(registry.counter("laporsms_submit_sm_sent_total",
                                      "submit_sm PDUs written to the SMSC", {"link"})),
      submit_sm_accepted(registry.counter("laporsms_submit_sm_accepted_total",
                                          "submit_sm answered ESME_ROK", {"link"})),
      submit_sm_refused(registry.counter(
          "laporsms_submit_sm_refused_total",
          "submit_sm answered with an error status (submit_sm_resp or generic_nack)",
          {"link", "status"})),
      submit_sm_unanswered(registry.counter(
          "laporsms_submit_sm_unanswered_total",
          "submit_sm without a response within response_timeout or before the link fell",
          {"link"})),
      binds(registry.counter("laporsms_binds_total",
                             "bind attempts by outcome (bound, refused, no_answer)",
                             {"link", "outcome"})),
      reconnects(registry.counter("laporsms_reconnects_total",
                                  "bound connections lost and reconnected", {"link"})),
      link_state(registry.gauge("laporsms_link_state",
                                "1 for the link's current state (down, binding, bound)",
                                {"link", "state"})),
      window_in_use(registry.gauge("laporsms_link_window_in_use",
                                   "submit_sm awaiting their response on the link", {"link"})),
      mo(registry.counter("laporsms_mo_total",
                          "MO stored or recognised, by kind (report, empty_report, status, help, "
                          "unknown, part, redelivery)",
                          {"link", "kind"})),
      receipts(registry.counter(
          "laporsms_receipts_total",
          "delivery receipts received, by the state they carry (DELIVRD, UNDELIV, ...)",
          {"link", "state"})),
      replies(registry.counter("laporsms_replies_total",
                               "replies the outbox finished with, by outcome (submitted, "
                               "in_doubt, refused, retry, expired)",
                               {"link", "outcome"})),
      upstream_requests(registry.counter(
          "laporsms_upstream_requests_total",
          "requests to the LAPOR! API by kind (report, status) and outcome (delivered, "
          "temporary, auth_error, rejected)",
          {"kind", "outcome"})),
      upstream_duration(registry.histogram("laporsms_upstream_request_duration_seconds",
                                           "duration of requests to the LAPOR! API", {"kind"},
                                           duration_buckets())),
      upstream_state(registry.gauge(
          "laporsms_upstream_state",
          "1 for the forwarder's current state (ok, retrying, auth_error, circuit_open)",
          {"state"})),
      upstream_in_flight(registry.gauge("laporsms_upstream_in_flight",
                                        "report requests to the API not yet answered")),
      upstream_possible_duplicates(
          registry.counter("laporsms_upstream_possible_duplicates_total",
                           "retries after a request that left without an answer, to an API without "
                           "idempotency key")),
      store_commits(registry.counter("laporsms_store_commits_total",
                                     "transactions the store's writer committed")),
      store_fsyncs(registry.counter(
          "laporsms_store_fsyncs_total",
          "fsyncs of the database: at commit, or a checkpoint syncing written commits (idle)",
          {"kind"})),
      store_failed_commits(registry.counter("laporsms_store_failed_commits_total",
                                            "transactions that failed to commit")),
      reports(registry.gauge("laporsms_reports", "reports in the database by state", {"state"})),
      replies_waiting(registry.gauge(
          "laporsms_replies_waiting",
          "replies in the database still waiting: queued to be sent, or unknown (in doubt)",
          {"state"})),
      oldest_unforwarded_age(registry.gauge(
          "laporsms_oldest_unforwarded_age_seconds",
          "age of the oldest report not yet forwarded (received or forwarding); 0 when none")),
      database_sample_age(registry.gauge(
          "laporsms_database_sample_age_seconds",
          "age of the figures read from the database (reports, replies, oldest unforwarded)")),
      database_sample_duration(
          registry.gauge("laporsms_database_sample_duration_seconds",
                         "how long the last read of those figures took (a read-only connection)")),
      build_info(registry.gauge("laporsms_build_info", "always 1, labelled with the version",
                                {"version"})),
      start_time(
          registry.gauge("laporsms_start_time_seconds", "when the daemon started, Unix time")) {
  build_info.with({version}).set(1);
  // Series without labels, and those whose label values are known now,
  // exist from the start at 0.
  for (auto* family : {&upstream_possible_duplicates, &store_commits, &store_failed_commits}) {
    family->with({});
  }
  for (auto* family : {&upstream_in_flight, &oldest_unforwarded_age, &database_sample_age,
                       &database_sample_duration}) {
    family->with({});
  }
  for (const auto kind : {"report", "status"}) {
    upstream_duration.with({kind});
    for (const auto outcome : {"delivered", "temporary", "auth_error", "rejected"}) {
      upstream_requests.with({kind, outcome});
    }
  }
  store_fsyncs.with({"commit"});
  store_fsyncs.with({"idle"});
  start_time.with({}).set(static_cast<double>(util::now_ms()) / 1000.0);
}

LinkMetrics::LinkMetrics(Catalog& catalog, std::string link)
    : m_catalog(&catalog), m_link(std::move(link)),
      m_received(&catalog.deliver_sm_received.with({m_link})),
      m_acknowledged(&catalog.deliver_sm_acknowledged.with({m_link})),
      m_ack(&catalog.deliver_sm_ack.with({m_link})), m_sent(&catalog.submit_sm_sent.with({m_link})),
      m_accepted(&catalog.submit_sm_accepted.with({m_link})),
      m_unanswered(&catalog.submit_sm_unanswered.with({m_link})),
      m_reconnects(&catalog.reconnects.with({m_link})) {
  // Every link's series exist from the start at 0, so rate() and alerts see
  // them before the first event.
  for (const auto outcome : {"bound", "refused", "no_answer"}) {
    catalog.binds.with({m_link, outcome});
  }
  for (const auto outcome : {"submitted", "in_doubt", "refused", "retry", "expired"}) {
    catalog.replies.with({m_link, outcome});
  }
}

void LinkMetrics::deliver_sm_received() const {
  if (m_received != nullptr) {
    m_received->inc();
  }
}

void LinkMetrics::deliver_sm_answered(bool ok, const std::string& status_label,
                                      double seconds) const {
  if (m_catalog == nullptr) {
    return;
  }
  if (ok) {
    m_acknowledged->inc();
    m_ack->observe(seconds);
  } else {
    m_catalog->deliver_sm_refused.with({m_link, status_label}).inc();
  }
}

void LinkMetrics::submit_sm_sent() const {
  if (m_sent != nullptr) {
    m_sent->inc();
  }
}

void LinkMetrics::submit_sm_answered(bool ok, const std::string& status_label) const {
  if (m_catalog == nullptr) {
    return;
  }
  if (ok) {
    m_accepted->inc();
  } else {
    m_catalog->submit_sm_refused.with({m_link, status_label}).inc();
  }
}

void LinkMetrics::submit_sm_unanswered() const {
  if (m_unanswered != nullptr) {
    m_unanswered->inc();
  }
}

void LinkMetrics::bind(std::string_view outcome) const {
  if (m_catalog != nullptr) {
    m_catalog->binds.with({m_link, outcome}).inc();
  }
}

void LinkMetrics::reconnected() const {
  if (m_reconnects != nullptr) {
    m_reconnects->inc();
  }
}

void LinkMetrics::reply(std::string_view outcome, std::uint64_t n) const {
  if (m_catalog != nullptr && n > 0) {
    m_catalog->replies.with({m_link, outcome}).inc(n);
  }
}

void IntakeMetrics::mo(const std::string& link, std::string_view kind) const {
  if (m_catalog != nullptr) {
    m_catalog->mo.with({link, kind}).inc();
  }
}

void IntakeMetrics::receipt(const std::string& link, std::string_view state) const {
  if (m_catalog != nullptr) {
    m_catalog->receipts.with({link, state}).inc();
  }
}

void UpstreamMetrics::request(std::string_view kind, std::string_view outcome,
                              double seconds) const {
  if (m_catalog == nullptr) {
    return;
  }
  m_catalog->upstream_requests.with({kind, outcome}).inc();
  m_catalog->upstream_duration.with({kind}).observe(seconds);
}

void UpstreamMetrics::possible_duplicate() const {
  if (m_catalog != nullptr) {
    m_catalog->upstream_possible_duplicates.with({}).inc();
  }
}

} // namespace laporsms::metrics

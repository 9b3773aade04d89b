#include <laporsms/sms/template.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/status.hpp>

#include <map>

namespace laporsms::store {

std::vector<StatusQuery> claim_status_queries(Connection& db, std::int64_t polled_before,
                                              std::int64_t now, std::size_t limit) {
  std::vector<StatusQuery> queries;
  auto& select = db.prepare(
      "SELECT id, ref, tracking_id, msisdn, link, coalesce(status, '') FROM reports "
      "INDEXED BY reports_poll WHERE state = 'forwarded' AND tracking_id IS NOT NULL "
      "AND coalesce(status_polled_at, 0) < ? ORDER BY coalesce(status_polled_at, 0), id LIMIT ?");
  select.bind(1, polled_before).bind(2, static_cast<std::int64_t>(limit));
  while (select.step()) {
    queries.push_back({select.column_int(0), select.column_text(1), select.column_text(2),
                       select.column_text(3), select.column_text(4), select.column_text(5)});
  }
  select.reset();
  auto& mark = db.prepare("UPDATE reports SET status_polled_at = ? WHERE id = ?");
  for (const auto& q : queries) {
    mark.bind(1, now).bind(2, q.report_id);
    mark.run();
    mark.reset();
  }
  return queries;
}

bool record_status(Connection& db, const StatusQuery& query, const std::string& status,
                   const std::string& note, const ReplyTemplates& replies, std::int64_t now) {
  if (status.empty() || status == query.status) {
    return false;
  }
  const bool closes = is_closing_status(status);
  auto& update = db.prepare("UPDATE reports SET status = ?, status_note = ?, "
                            "status_updated_at = ?, updated_at = ?, "
                            "state = CASE WHEN ? THEN 'closed' ELSE state END WHERE id = ?");
  update.bind(1, status).bind(3, now).bind(4, now).bind(5, closes).bind(6, query.report_id);
  if (note.empty()) {
    update.bind_null(2);
  } else {
    update.bind(2, note);
  }
  update.run();
  auto& history =
      db.prepare("INSERT INTO status_history (report_id, status, note, at) VALUES (?,?,?,?)");
  history.bind(1, query.report_id).bind(2, status).bind(4, now);
  if (note.empty()) {
    history.bind_null(3);
  } else {
    history.bind(3, note);
  }
  history.run();
  using Values = std::map<std::string, std::string, std::less<>>;
  std::string text =
      sms::render_template(replies.status_changed, Values{{"tracking_id", query.tracking_id},
                                                          {"status", status},
                                                          {"note", note},
                                                          {"ref", query.ref}});
  // An empty {note} leaves a dangling ". " at the end of the default text.
  while (!text.empty() && (text.back() == ' ')) {
    text.pop_back();
  }
  queue_report_reply(db, query.report_id, "status_changed", query.link, query.msisdn, text, now);
  return true;
}

} // namespace laporsms::store

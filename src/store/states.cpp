#include <laporsms/store/states.hpp>

namespace laporsms::store {
namespace {

template <typename State, std::size_t N>
std::optional<State> named(const std::array<State, N>& states, std::string_view word) {
  for (const auto state : states) {
    if (name(state) == word) {
      return state;
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<ReportState> report_state_named(std::string_view word) {
  return named(k_report_states, word);
}

std::optional<JobState> job_state_named(std::string_view word) {
  return named(k_job_states, word);
}

std::optional<ReplyState> reply_state_named(std::string_view word) {
  return named(k_reply_states, word);
}

bool is_closing_status(std::string_view status) {
  return status == "Selesai" || status == "Diarsipkan";
}

std::string_view citizen_words(ReportState state) {
  switch (state) {
  case ReportState::received:
    return "Diterima";
  case ReportState::forwarding:
    return "Sedang diteruskan ke LAPOR!";
  case ReportState::forwarded:
    return "Sudah diteruskan ke LAPOR!";
  case ReportState::closed:
    return "Selesai";
  case ReportState::failed:
    return "Belum dapat diteruskan";
  case ReportState::held:
    return "Diperiksa petugas";
  }
  return "Diterima";
}

} // namespace laporsms::store

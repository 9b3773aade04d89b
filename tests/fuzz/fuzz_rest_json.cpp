// libFuzzer target for the rest-json adapter's reading of the API's answers:
// classify_submit (POST) and classify_status (GET status). Whatever status,
// Content-Type and body come back, neither crashes or throws, a delivered
// report has a usable tracking id, a status read that succeeds has a status,
// and no text handed on is unbounded, dirty or holds the token.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude
//     tests/fuzz/fuzz_rest_json.cpp src/lapor/rest_json.cpp src/lapor/adapter.cpp
//     src/lapor/http_client.cpp src/util/tls.cpp src/sms/charset.cpp
//     -lfmt -lssl -lcrypto -o fuzz_rest_json
//   ./fuzz_rest_json tests/fuzz/corpus/rest_json
//
// Input: see adapter_fuzz.hpp.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "adapter_fuzz.hpp"

using namespace adapter_fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  static const std::unique_ptr<Adapter> adapter =
      make_rest_json_adapter({"https://api.lapor.go.id/v1/reports", std::string(k_token),
                              "https://api.lapor.go.id/v1/status"});
  const auto response = response_from(data, size);

  const SubmitResult submit = adapter->classify_submit(response);
  check_submit(response, submit);
  check(submit.transaction_id.empty(), "rest-json has no transaction id");
  if (response && response->status == 409 && submit.outcome == Outcome::delivered) {
    check(!submit.tracking_id.empty(), "a 409 is a success only with the earlier tracking id");
  }

  const StatusResult status = adapter->classify_status(response);
  check_status_rule(response, status.outcome);
  if (response && response->status == 409) {
    check(status.outcome == Outcome::rejected, "409 to a status read is rejected");
  }
  check(status.error.empty() == (status.outcome == Outcome::delivered),
        "an error exactly when the status read fails");
  check_text(status.error, 200, "the error");
  check_text(status.status, 100, "the status");
  check_text(status.note, 300, "the note");
  check_text(status.updated_at, 64, "updated_at");
  if (status.outcome == Outcome::delivered) {
    check(!status.status.empty(), "a status read that succeeds has a status");
    check(status.tracking_id.empty() || tracking_id_shape(status.tracking_id),
          "an echoed tracking id is usable");
  } else {
    check(status.status.empty() && status.note.empty() && status.updated_at.empty() &&
              status.tracking_id.empty(),
          "nothing read from a failed status read");
  }
  return 0;
}

// libFuzzer target for the lapor-xml adapter's reading of the API's answer
// (classify_submit): whatever status, Content-Type and body come back, it
// never crashes or throws, a delivered report has a usable tracking id, and
// no text it hands on is unbounded, dirty or holds the token.
//
//   clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude
//     tests/fuzz/fuzz_lapor_xml.cpp src/lapor/lapor_xml.cpp src/lapor/adapter.cpp
//     src/lapor/http_client.cpp src/util/tls.cpp src/sms/charset.cpp
//     -lpugixml -lfmt -lssl -lcrypto -o fuzz_lapor_xml
//   ./fuzz_lapor_xml tests/fuzz/corpus/lapor_xml
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
  static const std::unique_ptr<Adapter> adapter = make_lapor_xml_adapter(
      {"https://www.lapor.go.id/api/stream/addstream", std::string(k_token), ""});
  const auto response = response_from(data, size);
  const SubmitResult result = adapter->classify_submit(response);
  check_submit(response, result);
  if (response && response->status >= 200 && response->status < 300 &&
      detail::media_type(response->content_type).find("xml") == std::string::npos) {
    check(result.outcome == Outcome::temporary, "a 2xx page that is not XML is temporary");
  }
  const SubmitResult again = adapter->classify_submit(response);
  check(again.outcome == result.outcome && again.tracking_id == result.tracking_id &&
            again.transaction_id == result.transaction_id && again.error == result.error,
        "the same answer reads the same");
  return 0;
}

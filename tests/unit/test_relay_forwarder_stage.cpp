// The forwarder as a stage: a real Store on a temporary database, the real
// lapor-xml adapter, and a scripted API in place of the HTTP client (the
// HttpTransport seam). No socket, no SMSC: what the stage decides and
// records is seen in the database and in the requests the API got.
#include <laporsms/lapor/adapter.hpp>
#include <laporsms/lapor/http_client.hpp>
#include <laporsms/relay/forwarder.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/clock.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "store_test_util.hpp"

using namespace laporsms;
using namespace std::chrono_literals;
using lapor::HttpError;
using lapor::HttpErrorKind;
using lapor::HttpRequest;
using lapor::HttpResponse;
using store_test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

// The LAPOR! API, scripted: each request takes the next answer (an HTTP
// status, or 0 for a refused connection); once the script is used up every
// request is filed with the next tracking id.
class ScriptedApi final : public lapor::HttpTransport {
public:
  struct Seen {
    std::string body;
    Clock::time_point at;
    unsigned answered = 0;
  };

  std::deque<unsigned> script;
  std::vector<Seen> requests;
  int next_tracking_id = 1916449;
  // While set, requests are taken (seen) but not answered.
  bool hold = false;

  boost::asio::awaitable<tl::expected<HttpResponse, HttpError>> send(HttpRequest request) override {
    unsigned status = 200;
    if (!script.empty()) {
      status = script.front();
      script.pop_front();
    }
    requests.push_back({std::move(request.body), Clock::now(), status});
    while (hold) {
      boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor);
      pause.expires_after(1ms);
      co_await pause.async_wait(boost::asio::use_awaitable);
    }
    if (status == 0) {
      co_return tl::unexpected(HttpError{HttpErrorKind::connect, "POST api:443: connect: refused"});
    }
    if (status == 200) {
      const int id = next_tracking_id++;
      co_return HttpResponse{200, "text/xml",
                             fmt::format("<lapor><trackingid>{}</trackingid>"
                                         "<transaksiid>T{}</transaksiid></lapor>",
                                         id, id)};
    }
    co_return HttpResponse{status, "text/plain", "not now"};
  }

  std::size_t answered(unsigned status) const {
    std::size_t n = 0;
    for (const auto& r : requests) {
      n += r.answered == status ? 1 : 0;
    }
    return n;
  }
};

// Everything one forwarder needs, the stage running on `io` until stop().
class Stage {
public:
  explicit Stage(relay::ForwarderOptions options)
      : store(store_test::migrated_store_options(dir)),
        adapter(lapor::make_lapor_xml_adapter({"https://lapor.example.id/api", "secret", ""})),
        templates(std::make_shared<const store::ReplyTemplates>(store_test::test_templates())),
        forwarder(
            io.get_executor(), store, api, *adapter, options, [this] { return templates; },
            handover()) {}

  ~Stage() {
    bool stopped = false;
    auto stop = [this, &stopped]() -> boost::asio::awaitable<void> {
      co_await forwarder.stop(2s);
      stopped = true;
    };
    boost::asio::co_spawn(io, stop, boost::asio::detached);
    run_until([&] { return stopped && run_ended; }, 5s);
  }
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // Files a report now (the forwarder's clock is the real one).
  std::int64_t file(std::string_view msisdn, std::string_view text) {
    return store.execute_blocking([&](store::Connection& db) {
      return store_test::file_report(db, msisdn, text, util::now_ms(), "telkomsel");
    });
  }

  void start() {
    auto run = [this]() -> boost::asio::awaitable<void> {
      co_await forwarder.run();
      run_ended = true;
    };
    boost::asio::co_spawn(io, run, boost::asio::detached);
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      io.run_for(5ms);
      io.restart();
    }
    return done();
  }

  std::string report_column(std::int64_t id, std::string_view column) {
    return store.execute_blocking([&](store::Connection& db) {
      return store_test::query_text(db,
                                    fmt::format("SELECT {} FROM reports WHERE id = {}", column, id))
          .value_or("NULL");
    });
  }

  std::int64_t count(std::string_view table, std::string_view where) {
    return store.execute_blocking(
        [&](store::Connection& db) { return store_test::count_rows(db, table, where); });
  }

  TempDir dir;
  boost::asio::io_context io;
  store::Store store;
  ScriptedApi api;
  std::unique_ptr<lapor::Adapter> adapter;
  std::shared_ptr<const store::ReplyTemplates> templates;
  std::vector<std::string> replies_queued_on; // links the forwarder woke
  relay::Forwarder forwarder;
  bool run_ended = false;

private:
  relay::Forwarder::ReplyHandover handover() {
    relay::Forwarder::ReplyHandover h;
    // Replies wait in the queue.
    h.reserve = [](const std::string&) { return store::ReplyRoom::none; };
    h.queued = [this](const std::string& link, std::optional<store::OutboundItem>,
                      store::ReplyRoom) { replies_queued_on.push_back(link); };
    return h;
  }
};

relay::ForwarderOptions fast_options() {
  relay::ForwarderOptions o;
  o.concurrency = 1;
  o.retry_min = 40ms;
  o.retry_max = 80ms;
  o.circuit_threshold = 3;
  return o;
}

} // namespace

TEST_SUITE("relay::Forwarder (stage)") {
  TEST_CASE("each report is posted once; its tracking id and the forwarded reply are stored") {
    auto options = fast_options();
    options.concurrency = 2;
    Stage stage(options);
    const auto a = stage.file("628111000001", "jalan berlubang di depan pasar");
    const auto b = stage.file("628111000002", "lampu jalan mati sejak seminggu");
    const auto c = stage.file("628111000003", "sampah menumpuk di sungai");
    stage.start();
    REQUIRE(stage.run_until([&] { return stage.forwarder.snapshot().delivered == 3; }, 5s));

    CHECK(stage.api.requests.size() == 3);
    for (const auto id : {a, b, c}) {
      CHECK(stage.report_column(id, "state") == "forwarded");
      const auto tracking = stage.report_column(id, "tracking_id");
      CHECK(tracking.size() == 7);
      // The forwarded reply names the tracking id, queued for the report's link.
      CHECK(stage.count("outbound", fmt::format("report_id = {} AND kind = 'forwarded' AND "
                                                "link = 'telkomsel' AND text LIKE '%#{}%'",
                                                id, tracking)) == 1);
    }
    CHECK(stage.api.requests[0].body.find("jalan berlubang di depan pasar") != std::string::npos);
    CHECK(stage.replies_queued_on == std::vector<std::string>(3, "telkomsel"));
    CHECK(stage.count("upstream_jobs", "state = 'done'") == 3);
  }

  TEST_CASE("the circuit opens after circuit_threshold failures in a row; one probe per backoff; "
            "the backlog then goes out oldest first") {
    Stage stage(fast_options());
    // Three failures open the circuit; two probes fail; the third succeeds.
    stage.api.script = {503, 503, 0, 503, 503};
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 4; ++i) {
      ids.push_back(stage.file(fmt::format("62811100001{}", i),
                               fmt::format("laporan nomor {} tentang jalan rusak", i)));
    }
    stage.start();
    bool seen_open = false;
    REQUIRE(stage.run_until(
        [&] {
          seen_open =
              seen_open || stage.forwarder.snapshot().state == relay::UpstreamState::circuit_open;
          return stage.forwarder.snapshot().delivered == 4;
        },
        10s));
    CHECK(seen_open);
    const auto& seen = stage.api.requests;
    REQUIRE(seen.size() == 9); // 5 failures, then the probe and the 3 others
    // Closed circuit: the first three follow each other without a backoff.
    CHECK(seen[1].at - seen[0].at < 35ms);
    CHECK(seen[2].at - seen[1].at < 35ms);
    // Open: each probe waits at least retry_min after the one before.
    for (std::size_t i = 3; i <= 5; ++i) {
      CHECK(seen[i].at - seen[i - 1].at >= 38ms);
    }
    // Once the probe is filed, the backlog goes in order of arrival.
    std::vector<std::string> after_probe;
    for (std::size_t i = 6; i < seen.size(); ++i) {
      after_probe.push_back(seen[i].body);
    }
    for (std::size_t k = 1; k < after_probe.size(); ++k) {
      const auto earlier = after_probe[k - 1].find("laporan nomor");
      const auto later = after_probe[k].find("laporan nomor");
      REQUIRE(earlier != std::string::npos);
      REQUIRE(later != std::string::npos);
      CHECK(after_probe[k - 1].substr(earlier, 15) < after_probe[k].substr(later, 15));
    }
    for (const auto id : ids) {
      CHECK(stage.report_column(id, "state") == "forwarded");
    }
    CHECK(stage.forwarder.snapshot().state == relay::UpstreamState::ok);
    CHECK(stage.forwarder.snapshot().temporary == 5);
  }

  TEST_CASE("under a backlog, jobs are claimed ahead of a free slot and sent oldest first") {
    auto options = fast_options();
    options.concurrency = 2;
    Stage stage(options);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 7; ++i) {
      ids.push_back(stage.file(fmt::format("62811100003{}", i),
                               fmt::format("laporan nomor {} tentang got mampet", i)));
    }
    stage.api.hold = true;
    stage.start();
    // Two requests out, and two more claimed to follow them at once: inflight
    // in the database, their reports forwarding, no request sent for them.
    REQUIRE(stage.run_until([&] { return stage.count("upstream_jobs", "state = 'inflight'") == 4; },
                            5s));
    stage.run_until([] { return false; }, 30ms); // nothing more is claimed or sent meanwhile
    CHECK(stage.api.requests.size() == 2);
    CHECK(stage.count("upstream_jobs", "state = 'inflight'") == 4);
    CHECK(stage.count("reports", "state = 'forwarding'") == 4);
    CHECK(stage.forwarder.snapshot().in_flight == 2);

    stage.api.hold = false;
    REQUIRE(stage.run_until([&] { return stage.forwarder.snapshot().delivered == 7; }, 5s));
    REQUIRE(stage.api.requests.size() == 7); // each once
    for (std::size_t k = 1; k < stage.api.requests.size(); ++k) {
      const auto& earlier = stage.api.requests[k - 1].body;
      const auto& later = stage.api.requests[k].body;
      CHECK(earlier.substr(earlier.find("laporan nomor"), 15) <
            later.substr(later.find("laporan nomor"), 15));
    }
    for (const auto id : ids) {
      CHECK(stage.report_column(id, "state") == "forwarded");
    }
    // Each claim counted one attempt, and each attempt was made.
    CHECK(stage.count("upstream_jobs", "attempts = 1 AND state = 'done'") == 7);
  }

  TEST_CASE("the circuit opening gives the jobs claimed ahead back, their attempt not counted") {
    auto options = fast_options();
    options.concurrency = 2;
    options.circuit_threshold = 1;
    options.retry_min = 400ms; // the probe waits: the test sees the queue meanwhile
    options.retry_max = 400ms;
    Stage stage(options);
    for (int i = 0; i < 6; ++i) {
      stage.file(fmt::format("62811100004{}", i),
                 fmt::format("laporan nomor {} tentang banjir", i));
    }
    stage.api.script = {503, 503};
    stage.api.hold = true;
    stage.start();
    REQUIRE(stage.run_until([&] { return stage.count("upstream_jobs", "state = 'inflight'") == 4; },
                            5s));
    CHECK(stage.api.requests.size() == 2);
    // Both answer 503: the circuit opens, and the two claimed ahead go back
    // to the queue unsent, due at once, as if never claimed.
    stage.api.hold = false;
    REQUIRE(stage.run_until(
        [&] {
          return stage.forwarder.snapshot().state == relay::UpstreamState::circuit_open &&
                 stage.count("upstream_jobs", "state = 'inflight'") == 0;
        },
        5s));
    CHECK(stage.api.requests.size() == 2);
    CHECK(stage.count("upstream_jobs", "state = 'pending' AND attempts = 0") == 4);
    CHECK(stage.count("upstream_jobs", "state = 'pending' AND attempts = 1") == 2);
    CHECK(stage.count("reports", "state = 'received'") == 6);

    // The probe succeeds; everything goes, each report filed once.
    REQUIRE(stage.run_until([&] { return stage.forwarder.snapshot().delivered == 6; }, 5s));
    CHECK(stage.api.requests.size() == 8);
    CHECK(stage.count("upstream_jobs", "state = 'done'") == 6);
  }

  TEST_CASE("a refused token leaves the report waiting, not failed, and says auth_error") {
    Stage stage(fast_options());
    stage.api.script = {401, 401, 401, 401, 401, 401, 401, 401};
    const auto id = stage.file("628111000020", "pungutan liar di kantor kelurahan");
    stage.start();
    REQUIRE(stage.run_until([&] { return stage.forwarder.snapshot().auth_errors >= 1; }, 5s));
    CHECK(stage.forwarder.snapshot().state == relay::UpstreamState::auth_error);
    CHECK(stage.report_column(id, "state") != "failed");
    CHECK(stage.report_column(id, "tracking_id") == "NULL");
    CHECK(stage.count("upstream_jobs", "state = 'pending'") == 1);
    CHECK(stage.count("outbound", "kind = 'failed'") == 0); // the citizen is not told it failed
  }
}

// The outbox sender as a stage: a real Store on a temporary database, a real
// smpp::Session bound to the scripted SMSC of fake_smsc.hpp, everything on
// one test io_context. It drives the hand-over in memory (reserve, the
// store's queuing commit, take) the way the intake and the forwarder do.
#include <laporsms/relay/outbox.hpp>
#include <laporsms/smpp/session.hpp>
#include <laporsms/store/intake.hpp>
#include <laporsms/store/store.hpp>
#include <laporsms/util/clock.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "fake_smsc.hpp"
#include "store_test_util.hpp"

using namespace laporsms;
using namespace std::chrono_literals;
using smpp_test::FakeSmsc;
using store_test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* k_link = "telkomsel";
constexpr const char* k_citizen = "628123456789";

smpp::SessionConfig session_config(std::uint16_t port) {
  smpp::SessionConfig config;
  config.name = k_link;
  config.host = "127.0.0.1";
  config.port = port;
  config.system_id = "metro1708";
  config.password = "s3cr3t!";
  config.response_timeout = 1s;
  config.window = 10;
  config.submit_rate = std::numeric_limits<unsigned>::max(); // tickets back to back
  config.reconnect_min = 50ms;
  config.reconnect_max = 200ms;
  return config;
}

awaitable<std::uint32_t> no_inbound(smpp::ShortMessageFields) {
  co_return smpp::status::ok;
}

class Stage {
public:
  explicit Stage(std::chrono::milliseconds ride_within)
      : fake(io), store(options(dir, ride_within)),
        session(io.get_executor(), session_config(fake.port()), no_inbound),
        outbox(io.get_executor(), store, session, relay::OutboxOptions{}) {
    asio::co_spawn(
        io,
        [this]() -> awaitable<void> {
          co_await session.run();
          run_ended = true;
        },
        asio::detached);
    // As the daemon wires it: the outbox looks in the queue once bound, and
    // only then hands over in memory (nothing older may wait there).
    session.set_on_bound([this] { outbox.wake(); });
    asio::co_spawn(
        io,
        [this]() -> awaitable<void> {
          co_await outbox.run();
          outbox_ended = true;
        },
        asio::detached);
  }
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  ~Stage() {
    outbox.stop();
    asio::co_spawn(
        io, [this]() -> awaitable<void> { co_await session.stop(100ms); }, asio::detached);
    run_until([this] { return run_ended && outbox_ended; }, 7s);
    store.stop(); // before the outbox its last tasks refer to
  }

  template <typename Done> bool run_until(Done done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) {
        return false;
      }
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }

  bool bound() const { return session.snapshot().state == smpp::LinkState::bound; }

  // What the intake's commit does for a reply with the room `room` reserved.
  store::OutboundItem queue(std::string text, store::ReplyRoom room) {
    const auto now = util::now_ms();
    const auto id = store.execute_blocking([&](store::Connection& db) {
      return store::queue_reply(db, std::nullopt, "help", k_link, k_citizen, text, now, room);
    });
    return store::OutboundItem{
        id, k_link, k_citizen, std::move(text), now, room == store::ReplyRoom::started};
  }

  // Read on a connection of its own: a store task would be a commit too.
  std::string state_of(std::int64_t id) {
    store::Connection reader(store.path(), store::OpenMode::read_only);
    return store_test::query_text(reader, "SELECT state || ',' || coalesce(submit_started_at, '-') "
                                          "FROM outbound WHERE id = " +
                                              std::to_string(id))
        .value_or("");
  }

  // Makes the session drop its connection (a frame it cannot take) and
  // waits until it bound again on a new one.
  void rebind() {
    fake.send_raw(
        0, smpp_test::Bytes{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0, 0x01});
    REQUIRE(run_until(
        [this] { return fake.count<smpp::BindRequest>() == 2 && !fake.is_open(0) && ready(); },
        3s));
  }

  TempDir dir;
  asio::io_context io; // outlives the store: its writer posts here to the end
  FakeSmsc fake;
  store::Store store;
  smpp::Session session;
  relay::OutboxSender outbox;
  bool run_ended = false;
  bool outbox_ended = false;

  // Bound, and the outbox's first look in the (empty) queue done.
  bool ready() {
    if (!bound()) {
      return false;
    }
    run_until([] { return false; }, 50ms);
    return bound();
  }

private:
  static store::StoreOptions options(const TempDir& dir, std::chrono::milliseconds ride_within) {
    auto options = store_test::migrated_store_options(dir);
    options.synchronous = store::Synchronous::full; // counts the fsync'd commits
    options.ride_within = ride_within;
    return options;
  }
};

} // namespace

TEST_SUITE("relay::OutboxSender (stage)") {
  TEST_CASE("a reply reserved with a ticket is marked in its queuing commit and leaves without "
            "an fsync of its own") {
    Stage s(10ms);
    REQUIRE(s.run_until([&] { return s.ready(); }, 3s));
    REQUIRE(s.outbox.reserve() == store::ReplyRoom::started);
    const auto item = s.queue("Terima kasih, laporan Anda kami terima", store::ReplyRoom::started);
    CHECK(s.state_of(item.id).starts_with("queued,")); // started at once
    CHECK_FALSE(s.state_of(item.id).ends_with(",-"));
    const auto before = s.store.stats();
    s.outbox.take(item);
    REQUIRE(s.run_until([&] { return s.state_of(item.id).starts_with("submitted"); }, 3s));
    const auto after = s.store.stats();
    const auto submits = s.fake.received<smpp::SubmitSm>();
    REQUIRE(submits.size() == 1);
    CHECK(submits[0].destination.addr == k_citizen);
    // Only the SMSC's answer was committed, unsynced: no "started" commit.
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 0);
    CHECK(after.transactions - before.transactions == 1);
    CHECK(s.outbox.in_progress() == 0);
  }

  TEST_CASE("a reply reserved with room only is marked by a commit of its own before it leaves") {
    Stage s(10ms);
    REQUIRE(s.run_until([&] { return s.ready(); }, 3s));
    const auto item = s.queue("Format: LAPORYAI spasi isi laporan", store::ReplyRoom::claimed);
    CHECK(s.state_of(item.id) == "queued,-");
    // Counted as the intake would; the ticket it may hold stays unused (a
    // reply queued with room only never takes one).
    s.outbox.reserve();
    const auto before = s.store.stats();
    s.outbox.take(item);
    REQUIRE(s.run_until([&] { return s.state_of(item.id).starts_with("submitted"); }, 3s));
    const auto after = s.store.stats();
    CHECK(s.fake.count<smpp::SubmitSm>() == 1);
    CHECK(after.fsynced_transactions - before.fsynced_transactions == 1); // the mark
  }

  TEST_CASE("a started reply whose link fell before it left is back in the queue, fsync'd at "
            "once") {
    // Riding would take longer than the test: only an fsync'd commit of
    // its own brings it back in time.
    Stage s(10s);
    REQUIRE(s.run_until([&] { return s.ready(); }, 3s));
    REQUIRE(s.outbox.reserve() == store::ReplyRoom::started);
    const auto item = s.queue("Terima kasih", store::ReplyRoom::started);
    s.rebind(); // the ticket's connection is gone
    const auto before = s.store.stats();
    s.outbox.take(item);
    // Back in the queue on the disk at once, so the outbox's claim finds it
    // and sends it on the new connection (marked started by its own commit).
    REQUIRE(s.run_until([&] { return s.fake.count<smpp::SubmitSm>() == 1; }, 3s));
    CHECK(s.fake.received<smpp::SubmitSm>()[0].destination.addr == k_citizen);
    CHECK(s.store.stats().fsynced_transactions - before.fsynced_transactions == 2);
  }

  TEST_CASE("a started reply leaves on a ticket of the connection bound now, not a stale one") {
    Stage s(10ms);
    REQUIRE(s.run_until([&] { return s.ready(); }, 3s));
    REQUIRE(s.outbox.reserve() == store::ReplyRoom::started); // on the first connection
    s.rebind();
    REQUIRE(s.outbox.reserve() == store::ReplyRoom::started); // on the second
    const auto item = s.queue("Terima kasih", store::ReplyRoom::started);
    const auto before = s.store.stats();
    s.outbox.take(item);
    s.outbox.release(store::ReplyRoom::started); // the other reservation brought no reply
    REQUIRE(s.run_until([&] { return s.state_of(item.id).starts_with("submitted"); }, 3s));
    CHECK(s.fake.count<smpp::SubmitSm>() == 1);
    // On the live ticket at once: not sent on the stale one, put back and
    // sent again (which takes two fsync'd commits).
    CHECK(s.store.stats().fsynced_transactions - before.fsynced_transactions == 0);
    // The row says "submitted" once the writer committed it; the outbox
    // lets go of the reply when that commit's answer reaches the io thread
    // (a moment later, seen under TSan).
    CHECK(s.run_until([&] { return s.outbox.in_progress() == 0; }, 3s));
    CHECK(s.session.snapshot().window_in_use == 0);
  }
}

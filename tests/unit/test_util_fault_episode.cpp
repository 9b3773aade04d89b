#include <laporsms/util/fault_episode.hpp>

#include <doctest/doctest.h>

using laporsms::util::FaultEpisode;

TEST_SUITE("util::fault_episode") {
  TEST_CASE("without a settle time, the first failure starts an episode, the first success ends "
            "it") {
    FaultEpisode episode(0);
    CHECK_FALSE(episode.cleared(1));
    CHECK(episode.failed(2));
    CHECK_FALSE(episode.failed(3));
    CHECK(episode.failing());
    CHECK(episode.cleared(3));
    CHECK_FALSE(episode.failing());
    CHECK_FALSE(episode.cleared(4));
    CHECK(episode.failed(5)); // a new episode
  }

  TEST_CASE("with a settle time, successes between failures do not end the episode") {
    FaultEpisode episode(5000);
    CHECK(episode.failed(1000));
    CHECK_FALSE(episode.settles_at());
    CHECK_FALSE(episode.cleared(1001)); // a small write that still fit
    CHECK(episode.settles_at() == 6000);
    CHECK_FALSE(episode.failed(1002)); // the next one refused: the same episode
    CHECK_FALSE(episode.settles_at());
    CHECK_FALSE(episode.cleared(5999));
    CHECK(episode.failing());
    CHECK(episode.cleared(6002)); // writes went on succeeding
    CHECK_FALSE(episode.failing());
    CHECK_FALSE(episode.cleared(7000));
    CHECK(episode.failed(8000));
  }

  TEST_CASE("an episode settles without another success once its time has come") {
    FaultEpisode episode(2000);
    CHECK(episode.failed(0));
    CHECK_FALSE(episode.settle(5000)); // nothing has succeeded yet
    CHECK_FALSE(episode.cleared(100));
    CHECK_FALSE(episode.settle(1999));
    CHECK(episode.settle(2000));
    CHECK_FALSE(episode.failing());
    CHECK_FALSE(episode.settle(9000)); // told once
  }
}

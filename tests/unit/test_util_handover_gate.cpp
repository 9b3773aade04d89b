#include <laporsms/util/handover_gate.hpp>

#include <doctest/doctest.h>

using laporsms::util::HandoverGate;

TEST_SUITE("util::HandoverGate") {

  TEST_CASE("nothing is handed over until a claim has seen the queue") {
    HandoverGate gate;
    CHECK(gate.backlog());
    CHECK_FALSE(gate.admit(true));
    gate.claim_started();
    gate.claim_ended(false);
    CHECK_FALSE(gate.backlog());
    CHECK(gate.admit(true));
  }

  TEST_CASE("no room: refused, and the queue must be claimed again") {
    HandoverGate gate;
    gate.claim_started();
    gate.claim_ended(false);
    CHECK_FALSE(gate.admit(false));
    CHECK(gate.backlog());
    CHECK_FALSE(gate.admit(true)); // older work waits in the queue now
  }

  TEST_CASE("never while a claim is out, and a refusal then outlives the claim") {
    HandoverGate gate;
    gate.claim_started();
    CHECK_FALSE(gate.admit(true));
    gate.claim_ended(false);
    CHECK(gate.backlog());
    CHECK_FALSE(gate.admit(true));
  }

  TEST_CASE("a claim that filled its limit, or failed, leaves a backlog") {
    HandoverGate gate;
    gate.claim_started();
    gate.claim_ended(true);
    CHECK(gate.backlog());
    gate.claim_started();
    gate.claim_failed();
    CHECK(gate.backlog());
    CHECK_FALSE(gate.admit(true));
  }

  TEST_CASE("marked: something may wait, whatever the last claim saw") {
    HandoverGate gate;
    gate.claim_started();
    gate.claim_ended(false);
    gate.mark_backlog();
    CHECK_FALSE(gate.admit(true));
  }
}

// Whether work may go straight to a stage in memory, past its queue in the
// database (the outbox, the forwarder): never while something older may
// wait in the queue, nor while a claim from it is out (what the claim takes
// is not counted yet, and what it leaves behind is older). The stage's own
// loop claims from the queue whenever backlog() says something may wait.
#pragma once

namespace laporsms::util {

class HandoverGate {
public:
  // Before work is stored: whether it may be handed over, given whether the
  // stage has room for it now. Refused, the work waits in the queue, and the
  // next claim must look.
  bool admit(bool room) {
    if (!room || m_backlog || m_claiming) {
      m_backlog = true;
      return false;
    }
    return true;
  }

  // Something may wait in the queue: woken for it, put back, a failed read.
  void mark_backlog() { m_backlog = true; }
  bool backlog() const { return m_backlog; }

  // Around a claim. Cleared as it starts, so that a refusal while it is out
  // still counts; `filled`: it took all it asked for, so more may wait.
  void claim_started() {
    m_backlog = false;
    m_claiming = true;
  }
  void claim_ended(bool filled) {
    m_claiming = false;
    m_backlog = m_backlog || filled;
  }
  void claim_failed() {
    m_claiming = false;
    m_backlog = true;
  }

private:
  bool m_backlog = true; // at start, the queue is unknown until a claim
  bool m_claiming = false;
};

} // namespace laporsms::util

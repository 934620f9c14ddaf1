/**
 * The shared transaction base (sip/transaction/Transaction.ts) on a fake clock: the one validated transition
 * function driven by a transition table, the retransmission and terminate-on-timeout timers, and TU isolation.
 * A small machine is declared here the way the four RFC 3261 machines declare theirs.
 */

import t from "tap";
import {
  Transaction,
  TransactionState,
  TransactionStateError,
  type TransactionOptions,
  type TransactionUserBase,
  type TransitionTable,
} from "../../../sip/index.js";
import { bye, harness } from "./txhelpers.js";

const { Completed, Proceeding, Terminated, Trying } = TransactionState;

/** A machine with Trying → Proceeding → Completed, a doubling retransmit timer "R" and a give-up timer "X". */
class Probe extends Transaction<"R" | "X" | "Z"> {
  readonly entered: string[] = [];

  constructor(options: TransactionOptions, user: TransactionUserBase) {
    super(
      "probe",
      { [Proceeding]: [Trying], [Completed]: [Proceeding] } satisfies TransitionTable,
      "id",
      bye(),
      Trying,
      options,
      user,
    );
    this.retransmit(
      "R",
      100,
      () => this.request,
      (i) => Math.min(2 * i, 400),
      [Trying],
    );
    this.terminateAfter("X", 1000, [Trying, Proceeding], () => this.entered.push("gave up"));
  }

  go(state: TransactionState): void {
    this.stateTransition(state);
  }

  throwInUser(): void {
    this.callUser("probe", () => {
      throw new Error("TU bug");
    });
  }

  protected enter(state: TransactionState, from: TransactionState): void {
    this.entered.push(`${from}->${state}`);
    if (state === Completed) {
      this.terminateAfter("Z", 50, [Completed]);
    }
  }
}

t.test(
  "retransmit doubles up to the cap while in the listed states; terminateAfter informs after Terminated",
  async (t) => {
    const h = harness();
    const states: TransactionState[] = [];
    const probe = new Probe(h.options, { onStateChange: (s) => states.push(s) });
    h.clock.tick(1000);
    // Sends at 100, 300 (+200), 700 (+400), then every 400 (capped): 1100 is after X at 1000.
    t.equal(h.transport.sent.length, 3, "three retransmissions before the give-up timer");
    t.equal(probe.state, Terminated);
    t.same(probe.entered, ["Trying->Terminated", "gave up"]);
    t.same(states, [Terminated]);
    t.equal(h.clock.pendingCount, 0, "every timer stopped");
  },
);

t.test("leaving the retransmitting state stops retransmission at the next firing", async (t) => {
  const h = harness();
  const probe = new Probe(h.options, {});
  h.clock.tick(150);
  t.equal(h.transport.sent.length, 1);
  probe.go(Proceeding);
  h.clock.tick(500);
  t.equal(h.transport.sent.length, 1, "no retransmission in Proceeding");
  probe.go(Completed);
  t.equal(probe.state, Completed);
  h.clock.tick(50);
  t.equal(probe.state, Terminated, "Z terminated the machine");
  t.same(probe.entered, ["Trying->Proceeding", "Proceeding->Completed", "Completed->Terminated"]);
  t.equal(h.clock.pendingCount, 0);
});

t.test("transitions missing from the table throw TransactionStateError and leave the state alone", async (t) => {
  const h = harness();
  const probe = new Probe(h.options, {});
  t.throws(() => probe.go(Completed), TransactionStateError, "Trying → Completed is not in the table");
  t.equal(probe.state, Trying);
  probe.dispose();
  t.equal(probe.state, Terminated);
  t.throws(() => probe.go(Terminated), TransactionStateError, "Terminated → Terminated");
  probe.dispose();
  t.equal(probe.state, Terminated, "dispose is idempotent");
  t.equal(h.clock.pendingCount, 0);
});

t.test("a throwing TU is logged, never propagated", async (t) => {
  const h = harness();
  const probe = new Probe(h.options, {
    onStateChange: () => {
      throw new Error("boom");
    },
  });
  t.doesNotThrow(() => probe.throwInUser());
  t.doesNotThrow(() => probe.go(Proceeding));
  t.equal(probe.state, Proceeding);
  probe.dispose();
});

/**
 * Bounded state: after many calls of every ending (BYE either side, CANCEL, rejection, 2xx retransmission) every
 * table of both user agents is empty, no timer is pending, and every media handler was closed exactly once.
 */

import t from "tap";
import { SessionState } from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const ZERO = { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 };

t.test("200 calls of mixed endings leave nothing behind", async (t) => {
  const p = pair();
  let n = 0;
  p.b.on("incomingCall", (session) => {
    const kind = n++ % 4;
    if (kind === 3) {
      session.reject(486);
      return;
    }
    void session.progress({ earlyMedia: kind === 1, reliable: kind === 1 });
    p.clock.setTimeout(() => {
      if (session.state !== SessionState.Terminated) {
        void session.answer();
      }
    }, 100);
    if (kind === 2) {
      p.clock.setTimeout(() => session.hangup(), 500);
    }
  });
  const media: TestMedia[] = [];
  let ended = 0;
  p.a.on("terminated", () => ended++);
  for (let i = 0; i < 200; i++) {
    const m = new TestMedia();
    media.push(m);
    const out = p.a.call("sip:+4930123456@192.0.2.2:5060", { from: "sip:caller@192.0.2.1", media: m });
    if (i % 4 === 0) {
      p.clock.setTimeout(() => out.hangup(), 1000);
    }
    if (i % 8 === 1) {
      // Cancel some while ringing (before the 100 ms answer).
      p.clock.setTimeout(() => out.hangup(), 50);
    }
    if (i % 4 === 1 && i % 8 !== 1) {
      p.clock.setTimeout(() => out.hangup(), 2000);
    }
    await p.clock.run(10);
  }
  await p.clock.run(70000);
  t.equal(ended, 200, "every call ended");
  t.same(p.a.stats, ZERO);
  t.same(p.b.stats, ZERO);
  t.equal(p.clock.pendingCount, 0, "no timer pending");
  t.ok(
    media.every((m) => m.closed === 1),
    "every caller media handler closed once",
  );
  t.ok(
    p.mediaB.every((m) => m.closed === 1),
    "every callee media handler closed once",
  );
  t.equal(p.mediaB.length, 200);
});

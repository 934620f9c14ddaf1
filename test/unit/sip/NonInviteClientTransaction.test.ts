/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2) on a fake clock: Timers E, F and K.
 */

import t from "tap";
import { NonInviteClientTransaction, TransactionState, type ClientTransactionUser } from "../../../sip/index.js";
import { bye, flush, harness, invite, reply } from "./txhelpers.js";

function user(events: string[]): ClientTransactionUser {
  return {
    receiveResponse: (r) => events.push(`response ${r.status}`),
    onRequestTimeout: () => events.push("timeout"),
    onTransportError: () => events.push("transport error"),
  };
}

function sendTimes(h: ReturnType<typeof harness>, until: number): number[] {
  const at: number[] = [];
  while (h.clock.now() < until) {
    const before = h.transport.sent.length;
    h.clock.tick(100);
    if (h.transport.sent.length > before) {
      at.push(h.clock.now());
    }
  }
  return at;
}

t.test("Timer E: retransmit at T1, then MIN(2*T1, T2) … capped at T2; Timer F times out at 64*T1", async (t) => {
  const h = harness();
  const tx = new NonInviteClientTransaction(bye(), h.options, user(h.events));
  t.equal(tx.state, TransactionState.Trying);
  t.same(sendTimes(h, 32000), [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.equal(tx.state, TransactionState.Terminated, "Timer F fired at 32 s");
  t.same(h.events, ["timeout"]);
  t.equal(h.clock.pendingCount, 0);
});

t.test("in 'proceeding' Timer E MUST be reset with a value of T2", async (t) => {
  const h = harness();
  const req = bye();
  const tx = new NonInviteClientTransaction(req, h.options, user(h.events));
  h.clock.tick(500);
  tx.receiveResponse(reply(req, 100));
  t.equal(tx.state, TransactionState.Proceeding);
  t.same(sendTimes(h, 13000), [1500, 5500, 9500], "the pending E fires, then every T2");
  h.clock.tick(19000);
  t.equal(tx.state, TransactionState.Terminated, "Timer F also guards 'proceeding'");
  t.same(h.events, ["response 100", "timeout"]);
});

t.test("a final response moves to 'completed'; Timer K absorbs retransmissions for T4", async (t) => {
  const h = harness();
  const req = bye();
  const tx = new NonInviteClientTransaction(req, h.options, user(h.events));
  const ok = reply(req, 200);
  tx.receiveResponse(ok);
  t.equal(tx.state, TransactionState.Completed);
  tx.receiveResponse(ok);
  t.same(h.events, ["response 200"], "retransmitted final responses are not passed up");
  h.clock.tick(4999);
  t.equal(tx.state, TransactionState.Completed);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated, "Timer K = T4 on UDP");
  t.same(h.transport.summary, ["BYE"], "no retransmission after the final response");
});

t.test("reliable transport: no Timer E, Timer K is zero", async (t) => {
  const h = harness(true);
  const req = bye();
  const tx = new NonInviteClientTransaction(req, h.options, user(h.events));
  h.clock.tick(10000);
  t.same(h.transport.summary, ["BYE"]);
  tx.receiveResponse(reply(req, 481));
  h.clock.tick(0);
  t.equal(tx.state, TransactionState.Terminated);
});

t.test("transport errors terminate; INVITE and ACK are refused", async (t) => {
  const h = harness();
  h.transport.failNext = true;
  const tx = new NonInviteClientTransaction(bye(), h.options, user(h.events));
  await flush();
  t.equal(tx.state, TransactionState.Terminated);
  t.same(h.events, ["transport error"]);
  t.throws(() => new NonInviteClientTransaction(invite(), h.options), TypeError);
  tx.dispose();
  t.equal(h.clock.pendingCount, 0);
});

/**
 * INVITE client transaction (RFC 3261 §17.1.1, RFC 6026 §8.4) on a fake clock: Timers A, B, D and M.
 */

import t from "tap";
import {
  InviteClientTransaction,
  SipRequest,
  TransactionState,
  type ClientTransactionUser,
} from "../../../sip/index.js";
import { flush, harness, invite, reply } from "./txhelpers.js";

function user(events: string[]): ClientTransactionUser {
  return {
    receiveResponse: (r) => events.push(`response ${r.status}`),
    onRequestTimeout: () => events.push("timeout"),
    onTransportError: (e) => events.push(`transport error ${e.message}`),
    onStateChange: (s) => events.push(`state ${s}`),
  };
}

t.test("the client transaction MUST pass the request to the transport layer and enter 'calling'", async (t) => {
  const h = harness();
  const tx = new InviteClientTransaction(invite(), h.options, user(h.events));
  t.equal(tx.state, TransactionState.Calling);
  t.same(h.transport.summary, ["INVITE"]);
  t.equal(h.transport.sent[0]?.destination.host, "203.0.113.10");
  t.equal(tx.id, "z9hG4bK-524287-1---a1b2c3d4|INVITE");
});

t.test("Timer A: the request is retransmitted with intervals that double after each transmission", async (t) => {
  const h = harness();
  new InviteClientTransaction(invite(), h.options, user(h.events));
  const at: number[] = [];
  for (let ms = 0; ms < 32000; ms += 100) {
    const before = h.transport.sent.length;
    h.clock.tick(100);
    if (h.transport.sent.length > before) {
      at.push(h.clock.now());
    }
  }
  t.same(at, [500, 1500, 3500, 7500, 15500, 31500], "T1, 2T1, 4T1 … after the first send");
});

t.test("Timer A is not started on a reliable transport", async (t) => {
  const h = harness(true);
  new InviteClientTransaction(invite(), h.options, user(h.events));
  h.clock.tick(10000);
  t.same(h.transport.summary, ["INVITE"]);
});

t.test("Timer B: still 'calling' after 64*T1 → the TU is told about the timeout, no ACK", async (t) => {
  const h = harness();
  const tx = new InviteClientTransaction(invite(), h.options, user(h.events));
  h.clock.tick(31999);
  t.equal(tx.state, TransactionState.Calling);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated);
  t.same(h.events, ["state Terminated", "timeout"]);
  t.notOk(h.transport.summary.includes("ACK"), "MUST NOT generate an ACK");
  t.equal(h.clock.pendingCount, 0, "no timer left behind");
});

t.test("a provisional response moves to 'proceeding' and stops retransmissions and Timer B", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteClientTransaction(req, h.options, user(h.events));
  tx.receiveResponse(reply(req, 100));
  tx.receiveResponse(reply(req, 183));
  t.equal(tx.state, TransactionState.Proceeding);
  h.clock.tick(64000);
  t.same(h.transport.summary, ["INVITE"], "SHOULD NOT retransmit the request any longer");
  t.same(h.events, ["state Proceeding", "response 100", "response 183"]);
});

t.test("a 2xx MUST move to 'accepted' (RFC 6026), later 2xx go to the TU, Timer M terminates", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteClientTransaction(req, h.options, user(h.events));
  const ok = reply(req, 200);
  tx.receiveResponse(ok);
  t.equal(tx.state, TransactionState.Accepted);
  tx.receiveResponse(ok);
  tx.receiveResponse(reply(req, 180));
  t.same(h.transport.summary, ["INVITE"], "MUST NOT generate an ACK to the 2xx");
  h.clock.tick(31999);
  t.equal(tx.state, TransactionState.Accepted);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated, "Timer M = 64*T1");
  t.same(h.events, ["state Accepted", "response 200", "response 200", "state Terminated"]);
});

t.test("300-699: 'completed', the ACK stays inside the transaction, Timer D terminates", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteClientTransaction(req, h.options, user(h.events));
  tx.receiveResponse(reply(req, 180));
  const busy = reply(req, 486);
  tx.receiveResponse(busy);
  t.equal(tx.state, TransactionState.Completed);
  t.same(h.transport.summary, ["INVITE", "ACK"], "MUST generate an ACK request, even if the transport is reliable");
  const ack = h.transport.sent[1]?.message as SipRequest;
  t.equal(ack.getHeader("CSeq"), "102 ACK");
  t.equal(ack.to.tag, "peer-tag", "To of the ACK equals the To of the response");
  t.equal(ack.getHeaders("Via").length, 1);
  t.equal(ack.topVia.branch, req.topVia.branch, "same branch: hop-by-hop inside the transaction");
  t.equal(tx.ack, ack);
  tx.receiveResponse(busy);
  t.same(h.transport.summary, ["INVITE", "ACK", "ACK"], "a retransmitted final response re-sends the ACK");
  t.same(
    h.events,
    ["state Proceeding", "response 180", "state Completed", "response 486"],
    "not passed to the TU twice",
  );
  h.clock.tick(31999);
  t.equal(tx.state, TransactionState.Completed);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated, "Timer D ≥ 32 s on UDP");
});

t.test("Timer D is zero on a reliable transport", async (t) => {
  const h = harness(true);
  const req = invite();
  const tx = new InviteClientTransaction(req, h.options, user(h.events));
  tx.receiveResponse(reply(req, 503));
  h.clock.tick(0);
  t.equal(tx.state, TransactionState.Terminated);
});

t.test("a transport error moves to 'terminated' and informs the TU", async (t) => {
  const h = harness();
  h.transport.failNext = true;
  const tx = new InviteClientTransaction(invite(), h.options, user(h.events));
  await flush();
  t.equal(tx.state, TransactionState.Terminated);
  t.same(h.events, ["state Terminated", "transport error ECONNREFUSED"]);
  t.equal(h.clock.pendingCount, 0);
});

t.test("dispose stops every timer; responses after termination are ignored", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteClientTransaction(req, h.options, {});
  tx.dispose();
  tx.dispose();
  tx.receiveResponse(reply(req, 200));
  t.equal(tx.state, TransactionState.Terminated);
  t.equal(h.clock.pendingCount, 0);
});

t.test("a throwing TU does not break the machine", async (t) => {
  const h = harness();
  const req = invite();
  const boom = (): never => {
    throw new Error("tu bug");
  };
  const tx = new InviteClientTransaction(req, h.options, { receiveResponse: boom, onStateChange: boom });
  tx.receiveResponse(reply(req, 486));
  t.equal(tx.state, TransactionState.Completed);
});

t.test("Timer C (opt-in, §16.6): > 3 min without a final response, reset by each provisional", async (t) => {
  const h = harness();
  const req = invite();
  const fired: boolean[] = [];
  const tx = new InviteClientTransaction(
    req,
    { ...h.options, timerC: true },
    { onTimerC: (provisional) => fired.push(provisional) },
  );
  t.equal(tx.timers.TIMER_C, 181000, "MUST be larger than 3 minutes");
  h.clock.tick(20000);
  tx.receiveResponse(reply(req, 180));
  h.clock.tick(180999);
  t.same(fired, [], "reset by the 180");
  h.clock.tick(1);
  t.same(fired, [true], "after a provisional the TU must CANCEL");
  t.equal(tx.state, TransactionState.Proceeding, "the TU decides; the state does not change");

  const h2 = harness(true);
  const quiet: boolean[] = [];
  new InviteClientTransaction(invite(), { ...h2.options, timerC: true }, { onTimerC: (p) => quiet.push(p) });
  h2.clock.tick(181000);
  t.same(quiet, [], "Timer B (32 s) ended the silent transaction first");

  const h3 = harness();
  const req3 = invite();
  const done = new InviteClientTransaction(
    req3,
    { ...h3.options, timerC: true },
    { onTimerC: () => fired.push(false) },
  );
  done.receiveResponse(reply(req3, 486));
  h3.clock.tick(200000);
  t.same(fired, [true], "a final response stops Timer C");
  t.equal(h3.clock.pendingCount, 0);
});

/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2) on a fake clock: Timer J.
 */

import t from "tap";
import {
  createResponse,
  NonInviteServerTransaction,
  TransactionState,
  TransactionStateError,
} from "../../../sip/index.js";
import { bye, flush, harness, invite } from "./txhelpers.js";

t.test("request retransmissions: discarded in 'trying', answered with the last response afterwards", async (t) => {
  const h = harness();
  const req = bye();
  const tx = new NonInviteServerTransaction(req, h.options);
  t.equal(tx.state, TransactionState.Trying);
  tx.receiveRequest(bye());
  t.same(h.transport.summary, [], "discarded in 'trying'");
  tx.respond(createResponse(req, 100));
  t.equal(tx.state, TransactionState.Proceeding);
  tx.receiveRequest(bye());
  tx.respond(createResponse(req, 200));
  t.equal(tx.state, TransactionState.Completed);
  tx.receiveRequest(bye());
  t.same(h.transport.summary, ["100", "100", "200", "200"]);
  t.equal(tx.lastResponse?.status, 200);
});

t.test("Timer J: 64*T1 on UDP, then 'terminated'", async (t) => {
  const h = harness();
  const req = bye();
  const tx = new NonInviteServerTransaction(req, h.options);
  tx.respond(createResponse(req, 200));
  h.clock.tick(31999);
  t.equal(tx.state, TransactionState.Completed);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated);
  t.equal(h.clock.pendingCount, 0);
});

t.test("Timer J is zero on a reliable transport", async (t) => {
  const h = harness(true);
  const req = bye();
  const tx = new NonInviteServerTransaction(req, h.options);
  tx.respond(createResponse(req, 200));
  h.clock.tick(0);
  t.equal(tx.state, TransactionState.Terminated);
});

t.test("any other final response in 'completed' is refused with TransactionStateError", async (t) => {
  const h = harness();
  const req = bye();
  const tx = new NonInviteServerTransaction(req, h.options);
  tx.respond(createResponse(req, 200));
  t.throws(() => tx.respond(createResponse(req, 500)), TransactionStateError);
  t.throws(() => new NonInviteServerTransaction(invite(), h.options), TypeError);
});

t.test("a transport error terminates and informs the TU", async (t) => {
  const h = harness();
  const req = bye();
  const events: string[] = [];
  const tx = new NonInviteServerTransaction(req, h.options, { onTransportError: (e) => events.push(e.message) });
  h.transport.failNext = true;
  tx.respond(createResponse(req, 200));
  await flush();
  t.equal(tx.state, TransactionState.Terminated);
  t.same(events, ["ECONNREFUSED"]);
  tx.dispose();
});

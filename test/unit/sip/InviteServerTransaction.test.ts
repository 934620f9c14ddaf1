/**
 * INVITE server transaction (RFC 3261 §17.2.1, RFC 6026 §8.5–§8.7) on a fake clock: Timers G, H, I and L.
 */

import t from "tap";
import {
  createResponse,
  createNon2xxAck,
  InviteServerTransaction,
  TransactionState,
  TransactionStateError,
  type ServerTransactionUser,
} from "../../../sip/index.js";
import { bye, flush, harness, invite } from "./txhelpers.js";

function user(events: string[]): ServerTransactionUser {
  return {
    onAck: (a) => events.push(`ack ${a.cseq.seq}`),
    onTimeout: () => events.push("timeout"),
    onTransportError: () => events.push("transport error"),
    onStateChange: (s) => events.push(`state ${s}`),
  };
}

t.test("enters 'proceeding' and sends 100 Trying if the TU has not answered within 200 ms", async (t) => {
  const h = harness();
  const tx = new InviteServerTransaction(invite(), h.options, user(h.events));
  t.equal(tx.state, TransactionState.Proceeding);
  h.clock.tick(199);
  t.same(h.transport.summary, []);
  h.clock.tick(1);
  t.same(h.transport.summary, ["100"]);
  t.equal(tx.lastResponse?.to.tag, undefined, "100 carries no To tag");
});

t.test("no automatic 100 when the TU answers first; retransmitted INVITEs get the last provisional", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  tx.respond(createResponse(req, 180, { toTag: "k" }));
  h.clock.tick(1000);
  tx.receiveRequest(invite());
  t.same(h.transport.summary, ["180", "180"]);
});

t.test("300-699: 'completed', Timer G retransmits doubling up to T2, Timer H gives up at 64*T1", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  tx.respond(createResponse(req, 486, { toTag: "k" }));
  t.equal(tx.state, TransactionState.Completed);
  const at: number[] = [];
  while (h.clock.now() < 32000) {
    const before = h.transport.sent.length;
    h.clock.tick(100);
    if (h.transport.sent.length > before) {
      at.push(h.clock.now());
    }
  }
  t.same(at, [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.equal(tx.state, TransactionState.Terminated, "Timer H fired");
  t.same(h.events, ["state Completed", "state Terminated", "timeout"], "MUST indicate a transaction failure");
  t.equal(h.clock.pendingCount, 0);
});

t.test("the ACK for a non-2xx moves to 'confirmed'; Timer I then terminates", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  const busy = createResponse(req, 486, { toTag: "k" });
  tx.respond(busy);
  tx.receiveRequest(invite());
  t.same(h.transport.summary, ["486", "486"], "a retransmitted INVITE gets the final response again");
  tx.receiveRequest(createNon2xxAck(req, busy));
  t.equal(tx.state, TransactionState.Confirmed);
  h.clock.tick(4000);
  t.same(h.transport.summary, ["486", "486"], "Timer G stopped");
  tx.receiveRequest(createNon2xxAck(req, busy));
  h.clock.tick(999);
  t.equal(tx.state, TransactionState.Confirmed);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated, "Timer I = T4");
  t.same(h.events, ["state Completed", "state Confirmed", "state Terminated"]);
});

t.test("reliable transport: no Timer G, Timer I is zero", async (t) => {
  const h = harness(true);
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  const busy = createResponse(req, 603, { toTag: "k" });
  tx.respond(busy);
  h.clock.tick(10000);
  t.same(h.transport.summary, ["603"]);
  tx.receiveRequest(createNon2xxAck(req, busy));
  h.clock.tick(0);
  t.equal(tx.state, TransactionState.Terminated);
});

t.test("2xx: 'accepted' (RFC 6026), further 2xx from the TU are sent, ACK goes to the TU, Timer L", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  const ok = createResponse(req, 200, { toTag: "k" });
  tx.respond(ok);
  t.equal(tx.state, TransactionState.Accepted);
  tx.respond(ok);
  tx.receiveRequest(invite());
  t.same(h.transport.summary, ["200", "200"], "INVITE retransmissions are absorbed in 'accepted'");
  const ack = createNon2xxAck(req, ok);
  tx.receiveRequest(ack);
  t.same(h.events, ["state Accepted", "ack 102"]);
  t.throws(() => tx.respond(createResponse(req, 486)), TransactionStateError, "no non-2xx after a 2xx");
  h.clock.tick(31999);
  t.equal(tx.state, TransactionState.Accepted);
  h.clock.tick(1);
  t.equal(tx.state, TransactionState.Terminated, "Timer L = 64*T1");
  t.throws(() => tx.respond(ok), TransactionStateError);
});

t.test("transport errors terminate; only INVITE is accepted", async (t) => {
  const h = harness();
  const req = invite();
  const tx = new InviteServerTransaction(req, h.options, user(h.events));
  h.transport.failNext = true;
  tx.respond(createResponse(req, 180, { toTag: "k" }));
  await flush();
  t.equal(tx.state, TransactionState.Terminated);
  t.same(h.events, ["state Terminated", "transport error"]);
  t.throws(() => new InviteServerTransaction(bye(), h.options), TypeError);
  t.equal(h.clock.pendingCount, 0);
});

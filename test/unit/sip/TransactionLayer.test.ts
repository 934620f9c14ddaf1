/**
 * The transaction layer (RFC 3261 §17.1.3, §17.2.3, §9.2) on a fake clock and a recording transport: routing to
 * server and client transactions, retransmission absorption, CANCEL matching, stray ACKs and responses, bounded maps.
 */

import t from "tap";
import {
  createCancel,
  createResponse,
  InviteServerTransaction,
  parseMessage,
  SipRequest,
  TransactionLayer,
  TransactionLayerError,
  TransactionState,
  type SipResponse,
  type TransactionLayerCore,
} from "../../../sip/index.js";
import { FakeClock } from "../../helpers/FakeClock.js";
import { FakeTransport } from "./helpers.js";
import { bye, DEST, invite, reply } from "./txhelpers.js";

const SOURCE = { host: "203.0.113.10", port: 5060, transport: "UDP" } as const;

function setup(maxTransactions?: number): {
  layer: TransactionLayer;
  clock: FakeClock;
  transport: FakeTransport;
  events: string[];
  core: TransactionLayerCore;
} {
  const clock = new FakeClock();
  const transport = new FakeTransport("UDP");
  const events: string[] = [];
  const core: TransactionLayerCore = {
    onRequest: (request, tx) => {
      events.push(`request ${request.method}`);
      if (request.method !== "INVITE") {
        tx.respond(createResponse(request, 200, { toTag: "uas" }));
      }
    },
    onAck: (ack) => events.push(`ack ${ack.topVia.branch ?? ""}`),
    onCancel: (cancel, tx) => {
      events.push(`cancel ${cancel.callId}`);
      tx.respond(createResponse(tx.request, 487, { toTag: "uas" }));
    },
    onStrayResponse: (response) => events.push(`stray ${response.status}`),
  };
  const layer = new TransactionLayer({ transports: [transport], core, clock, maxTransactions });
  return { layer, clock, transport, events, core };
}

/** Re-parses so each delivery is a distinct object, as from a socket. */
function copy<T extends SipRequest | SipResponse>(m: T): T {
  return parseMessage(m.toBuffer()) as T;
}

t.test(
  "a new INVITE creates one server transaction; retransmissions are absorbed and repeat the last response",
  async (t) => {
    const { layer, clock, transport, events } = setup();
    const inv = invite();
    layer.receive({ message: copy(inv), source: SOURCE });
    t.same(events, ["request INVITE"]);
    t.equal(layer.serverCount, 1);
    clock.tick(200);
    t.same(transport.summary, ["100"], "the transaction sent 100 Trying itself");
    layer.receive({ message: copy(inv), source: SOURCE });
    t.same(events, ["request INVITE"], "the retransmission did not reach the core");
    t.same(transport.summary, ["100", "100"], "the last provisional was repeated");
    t.equal(transport.sent[0]?.destination.port, 5060, "responses go to the Via (rport filled by the transport)");
  },
);

t.test(
  "CANCEL: 200 to the CANCEL, core answers 487, non-2xx ACK stays in the transaction; maps empty afterwards",
  async (t) => {
    const { layer, clock, transport, events } = setup();
    const inv = invite();
    layer.receive({ message: copy(inv), source: SOURCE });
    layer.receive({ message: createCancel(inv, "Q.850;cause=16"), source: SOURCE });
    t.same(events, ["request INVITE", `cancel ${inv.callId}`]);
    t.same(transport.summary, ["200", "487"]);
    t.equal((transport.sent[0]?.message as SipResponse).cseq.method, "CANCEL");
    // The ACK for the 487 has the INVITE's branch (§17.1.1.3): absorbed by the transaction, not given to the core.
    const ack = new SipRequest("ACK", inv.uri);
    ack.setHeader("Via", inv.topVia.toString());
    ack.setHeader("From", inv.getHeaders("From"));
    ack.setHeader("To", (transport.sent[1]?.message as SipResponse).getHeaders("To"));
    ack.setHeader("Call-ID", inv.callId);
    ack.setHeader("CSeq", `${inv.cseq.seq} ACK`);
    layer.receive({ message: ack, source: SOURCE });
    t.equal(events.length, 2, "the ACK did not reach the core");
    clock.tick(64 * 500);
    t.equal(layer.serverCount, 0, "INVITE and CANCEL transactions reclaimed");
    t.equal(clock.pendingCount, 0);
  },
);

t.test(
  "a CANCEL matching nothing gets 481; a CANCEL after the final response gets 200 but no core callback",
  async (t) => {
    const { layer, transport, events } = setup();
    const inv = invite();
    layer.receive({ message: createCancel(inv), source: SOURCE });
    t.same(transport.summary, ["481"]);
    layer.receive({ message: copy(inv), source: SOURCE });
    const tx = [...events];
    t.same(tx, ["request INVITE"]);
    // Answer the INVITE, then CANCEL it.
    const layer2 = setup();
    let server: InviteServerTransaction | undefined;
    layer2.core.onRequest = (_r, stx) => {
      server = stx as InviteServerTransaction;
    };
    layer2.layer.receive({ message: copy(inv), source: SOURCE });
    server?.respond(createResponse(inv, 200, { toTag: "uas" }));
    layer2.layer.receive({ message: createCancel(inv), source: SOURCE });
    t.same(layer2.transport.summary, ["200", "200"]);
    t.same(layer2.events, [], "the core heard nothing about a CANCEL that came too late");
  },
);

t.test("an ACK with a new branch (2xx ACK) goes to the core", async (t) => {
  const { layer, events } = setup();
  const ack = parseMessage(
    "ACK sip:k@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.10;branch=z9hG4bKack2xx\r\nFrom: <sip:a@b>;tag=1\r\n" +
      "To: <sip:k@c>;tag=2\r\nCall-ID: x\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  ) as SipRequest;
  layer.receive({ message: ack, source: SOURCE });
  t.same(events, ["ack z9hG4bKack2xx"]);
  t.equal(layer.serverCount, 0, "no transaction for an ACK");
});

t.test(
  "client transactions: responses routed by branch and method, strays to the core, reclaimed on Terminated",
  async (t) => {
    const { layer, clock, events } = setup();
    const got: number[] = [];
    const b = bye();
    const tx = layer.request(b, DEST, { receiveResponse: (r) => got.push(r.status) });
    t.equal(layer.clientCount, 1);
    layer.receive({ message: reply(b, 200), source: SOURCE });
    t.same(got, [200]);
    t.equal(tx.state, TransactionState.Completed);
    const otherBranch = reply(b, 200);
    otherBranch.topVia.branch = "z9hG4bKother";
    layer.receive({ message: copy(otherBranch), source: SOURCE });
    t.same(events, ["stray 200"]);
    clock.tick(5000);
    t.equal(layer.clientCount, 0, "Timer K reclaimed the transaction");
    t.throws(() => layer.request(bye(), { ...DEST, transport: "TCP" }, {}), TransactionLayerError, "no TCP transport");
  },
);

t.test("overload: past maxTransactions new requests get a stateless 503 with Retry-After", async (t) => {
  const { layer, transport, events } = setup(1);
  layer.receive({ message: invite(), source: SOURCE });
  const second = invite();
  second.topVia.branch = "z9hG4bKsecond";
  layer.receive({ message: copy(second), source: SOURCE });
  t.same(events, ["request INVITE"]);
  const r = transport.sent.at(-1)?.message as SipResponse;
  t.equal(r.status, 503);
  t.equal(r.getHeader("Retry-After"), "5");
  t.throws(() => layer.request(bye(), DEST, {}), TransactionLayerError);
  layer.dispose();
  t.equal(layer.serverCount, 0);
});

t.test("bad input never escapes receive()", async (t) => {
  const { layer, events, core } = setup();
  core.onRequest = () => {
    throw new Error("core bug");
  };
  t.doesNotThrow(() => layer.receive({ message: invite(), source: SOURCE }));
  t.same(events, []);
});

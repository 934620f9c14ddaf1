/**
 * transactionSender (sip/trunk/sender.ts) over the stack's real TransactionLayer, a recording fake transport and a
 * fake clock: OPTIONS probes and a digest REGISTER run as non-INVITE client transactions (Timer E retransmissions,
 * Timer F timeout, transport failure).
 */

import t from "tap";
import { DigestServer } from "../../../../sip/auth/index.js";
import {
  createResponse,
  parseMessage,
  SipRequest,
  TransactionLayer,
  type SipResponse,
  type TransactionLayerCore,
} from "../../../../sip/index.js";
import {
  OptionsKeepalive,
  parseTrunkDefinition,
  RegisterClient,
  RegistrationState,
  TrunkState,
  transactionSender,
  type ProbeResult,
} from "../../../../sip/trunk/index.js";
import { FakeClock } from "../../../helpers/FakeClock.js";
import { FakeTransport } from "../helpers.js";

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

const core: TransactionLayerCore = {
  onRequest: () => undefined,
  onAck: () => undefined,
  onCancel: () => undefined,
  onStrayResponse: () => undefined,
};

function setup(): { clock: FakeClock; transport: FakeTransport; layer: TransactionLayer } {
  const clock = new FakeClock();
  const transport = new FakeTransport("UDP");
  const layer = new TransactionLayer({ transports: [transport], core, clock });
  return { clock, transport, layer };
}

/** Delivers a response as the peer would send it, through the layer's receive path. */
function deliver(layer: TransactionLayer, response: SipResponse): void {
  layer.receive({
    message: parseMessage(response.toBuffer()) as SipResponse,
    source: { host: "203.0.113.10", port: 5060, transport: "UDP" },
  });
}

t.test(
  "OPTIONS keepalive through real non-INVITE transactions: answer, Timer E/F timeout, transport error",
  async (t) => {
    const { clock, transport, layer } = setup();
    const monitor = new OptionsKeepalive({
      trunk: parseTrunkDefinition(
        { name: "a", peers: ["203.0.113.10"], optionsIntervalS: 60, optionsDownAfter: 2 },
        "t",
      ),
      send: transactionSender(layer),
      clock,
      local: { host: "192.0.2.1", port: 5060 },
    });
    const probes: ProbeResult[] = [];
    monitor.on("probe", (p) => probes.push(p));
    monitor.start();
    clock.tick(0);
    t.equal(transport.sent.length, 1);
    const first = transport.sent[0]?.message as SipRequest;
    t.equal(first.method, "OPTIONS");
    t.same(transport.sent[0]?.destination, { host: "203.0.113.10", port: 5060, transport: "UDP" });
    clock.tick(500);
    t.equal(transport.sent.length, 2, "Timer E retransmitted the OPTIONS after T1");
    deliver(layer, createResponse(first, 200, { toTag: "p" }));
    await flush();
    t.same(
      probes.map((p) => [p.alive, p.status]),
      [[true, 200]],
    );
    t.equal(monitor.state, TrunkState.Up);

    // The next probe gets no answer: Timer F (64·T1 = 32 s) ends it as a timeout.
    clock.tick(60_000 - 500);
    const sentBefore = transport.sent.length;
    clock.tick(32_000);
    await flush();
    t.ok(transport.sent.length - sentBefore >= 8, `retransmitted ${transport.sent.length - sentBefore} times`);
    t.same(probes[1] && [probes[1].alive, probes[1].detail], [false, "timeout"]);

    // A transport failure on the next probe rejects the send: second failure, trunk down.
    transport.failNext = true;
    clock.tick(60_000 - 32_000);
    await flush();
    t.match(probes[2]?.detail ?? "", /^transport: /);
    t.equal(monitor.state, TrunkState.Down);
    monitor.stop();
    t.equal(layer.clientCount, 0, "every client transaction was reclaimed");
  },
);

t.test("REGISTER with digest through real transactions", async (t) => {
  const { clock, transport, layer } = setup();
  const digest = new DigestServer({
    realm: "carrier.example",
    secret: Buffer.alloc(16, 2),
    lookup: () => ({ password: "pw" }),
    now: () => clock.now(),
  });
  const client = new RegisterClient({
    trunk: parseTrunkDefinition(
      { name: "r", auth: "register", registrar: "sip:203.0.113.10", username: "u", password: "pw" },
      "t",
    ),
    send: transactionSender(layer),
    clock,
    local: { host: "192.0.2.1", port: 5060 },
  });
  client.start();
  await flush();
  for (let round = 0; round < 2; round++) {
    const req = transport.sent[transport.sent.length - 1]?.message as SipRequest;
    const verdict = digest.authenticate(req);
    const answer = verdict.ok ? createResponse(req, 200, { toTag: "r" }) : verdict.response;
    if (verdict.ok) {
      answer.setHeader("Contact", `${req.getHeader("Contact") ?? ""}`);
    }
    deliver(layer, answer);
    await flush();
  }
  t.equal(client.state, RegistrationState.Registered);
  t.same(
    transport.sent.map((s) => (s.message as SipRequest).cseq.seq),
    [1, 2],
  );
  const stopping = client.stop();
  await flush();
  const unregister = transport.sent[transport.sent.length - 1]?.message as SipRequest;
  t.equal(unregister.getHeader("Expires"), "0");
  t.ok(digest.authenticate(unregister).ok, "preemptive credentials on the unregister");
  deliver(layer, createResponse(unregister, 200, { toTag: "r" }));
  await stopping;
  t.equal(client.state, RegistrationState.Stopped);
  clock.tick(10_000); // Timer K
  t.equal(layer.clientCount, 0);
});

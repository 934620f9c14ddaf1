/**
 * OPTIONS keepalive (sip/trunk/OptionsKeepalive.ts) on a fake clock with a scripted non-INVITE sender.
 */

import t from "tap";
import { createResponse, type SipDestination, type SipRequest } from "../../../../sip/index.js";
import {
  OptionsKeepalive,
  parseTrunkDefinition,
  TrunkState,
  type ProbeResult,
  type SendOutcome,
  type TrunkStateChange,
} from "../../../../sip/trunk/index.js";
import { FakeClock } from "../../../helpers/FakeClock.js";

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Pending {
  readonly request: SipRequest;
  readonly destination: SipDestination;
  readonly resolve: (outcome: SendOutcome) => void;
  readonly reject: (error: Error) => void;
}

function harness(extra: Record<string, unknown> = {}): {
  clock: FakeClock;
  monitor: OptionsKeepalive;
  pending: Pending[];
  probes: ProbeResult[];
  changes: TrunkStateChange[];
  answer: (status: number) => Promise<void>;
  timeout: () => Promise<void>;
} {
  const trunk = parseTrunkDefinition(
    {
      name: "carrier-a",
      peers: ["203.0.113.10:5080", "203.0.113.0/24"],
      optionsIntervalS: 30,
      optionsUpAfter: 2,
      optionsDownAfter: 3,
      ...extra,
    },
    "t",
  );
  const clock = new FakeClock();
  const pending: Pending[] = [];
  const monitor = new OptionsKeepalive({
    trunk,
    clock,
    local: { host: "192.0.2.1", port: 5060 },
    userAgent: "Korus",
    send: (request, destination) =>
      new Promise<SendOutcome>((resolve, reject) => pending.push({ request, destination, resolve, reject })),
  });
  const probes: ProbeResult[] = [];
  const changes: TrunkStateChange[] = [];
  monitor.on("probe", (p) => probes.push(p));
  monitor.on("stateChanged", (c) => changes.push(c));
  const answer = async (status: number): Promise<void> => {
    const p = pending.shift();
    if (p === undefined) {
      throw new Error("no probe in flight");
    }
    p.resolve(createResponse(p.request, status, { toTag: "x" }));
    await flush();
  };
  const timeout = async (): Promise<void> => {
    const p = pending.shift();
    if (p === undefined) {
      throw new Error("no probe in flight");
    }
    p.resolve("timeout");
    await flush();
  };
  return { clock, monitor, pending, probes, changes, answer, timeout };
}

t.test("probes on the interval, hysteresis up after 2 answers and down after 3 failures", async (t) => {
  const h = harness();
  t.equal(h.monitor.state, TrunkState.Unknown);
  h.monitor.start();
  h.monitor.start(); // idempotent
  h.clock.tick(0);
  t.equal(h.pending.length, 1, "first probe at once");
  const first = h.pending[0]!;
  t.same(first.destination, { host: "203.0.113.10", port: 5080, transport: "UDP" });
  t.equal(first.request.method, "OPTIONS");
  t.equal(first.request.uri.toString(), "sip:203.0.113.10:5080");
  t.match(first.request.getHeader("Via") ?? "", /^SIP\/2\.0\/UDP 192\.0\.2\.1:5060;branch=z9hG4bK[^;]+;rport$/);
  t.equal(first.request.maxForwards, 70);
  t.equal(first.request.getHeader("User-Agent"), "Korus");
  t.ok(first.request.from.tag);

  h.clock.tick(400); // 400 ms round trip
  await h.answer(200);
  t.equal(h.probes[0]?.rttMs, 400);
  t.equal(h.monitor.state, TrunkState.Unknown, "one answer is not enough");
  h.clock.tick(29_599);
  t.equal(h.pending.length, 0, "interval counts from the start of the previous probe");
  h.clock.tick(1);
  t.equal(h.pending.length, 1);
  t.equal(h.pending[0]?.request.cseq.seq, 2, "CSeq increases");
  t.equal(h.pending[0]?.request.callId, first.request.callId, "same Call-ID");
  await h.answer(404); // any answer proves the peer alive
  t.equal(h.monitor.state, TrunkState.Up);
  t.equal(h.changes.length, 1);
  t.same(
    { from: h.changes[0]?.from, to: h.changes[0]?.to, status: h.changes[0]?.probe?.status },
    { from: "unknown", to: "up", status: 404 },
  );

  // Two failures: still up. A success resets the count.
  for (const fail of [() => h.timeout(), () => h.answer(503)]) {
    h.clock.tick(30_000);
    await fail();
  }
  t.equal(h.monitor.state, TrunkState.Up);
  t.same(
    h.probes.slice(-2).map((p) => [p.alive, p.detail]),
    [
      [false, "timeout"],
      [false, "503 Service Unavailable"],
    ],
  );
  h.clock.tick(30_000);
  await h.answer(200);
  for (let i = 0; i < 2; i++) {
    h.clock.tick(30_000);
    await h.timeout();
  }
  t.equal(h.monitor.state, TrunkState.Up, "the success reset the failure count");
  h.clock.tick(30_000);
  const p = h.pending.shift();
  p?.reject(new Error("ECONNREFUSED"));
  await flush();
  t.equal(h.monitor.state, TrunkState.Down, "third consecutive failure");
  t.match(h.changes[1]?.probe?.detail ?? "", /transport: ECONNREFUSED/);

  // Back up after two answers.
  h.clock.tick(30_000);
  await h.answer(200);
  t.equal(h.monitor.state, TrunkState.Down);
  h.clock.tick(30_000);
  await h.answer(200);
  t.equal(h.monitor.state, TrunkState.Up);
  t.same(
    h.changes.map((c) => c.to),
    ["up", "down", "up"],
  );
});

t.test("a slow probe never overlaps the next; stop() ignores the answer in flight and clears the timer", async (t) => {
  const h = harness({ optionsUpAfter: 1 });
  h.monitor.start();
  h.clock.tick(0);
  h.clock.tick(32_000); // Timer F-long probe
  t.equal(h.pending.length, 1, "no second probe while one is in flight");
  await h.timeout();
  h.clock.tick(0);
  t.equal(h.pending.length, 1, "took longer than the interval: next probe at once");
  h.monitor.stop();
  t.equal(h.monitor.state, TrunkState.Stopped);
  await h.answer(200);
  t.equal(h.monitor.state, TrunkState.Stopped);
  t.equal(h.probes.length, 1, "the late answer is not reported");
  t.equal(h.clock.pendingCount, 0, "no timer left");
  h.monitor.stop();
  h.monitor.start();
  h.clock.tick(100_000);
  t.equal(h.pending.length, 0, "a stopped monitor cannot restart");
  t.same(
    h.changes.map((c) => c.to),
    ["stopped"],
  );
});

t.test(
  "a throwing listener does not break the monitor; TLS and registrar targets; disabled trunks refuse",
  async (t) => {
    const h = harness({ optionsUpAfter: 1 });
    h.monitor.on("probe", () => {
      throw new Error("listener bug");
    });
    h.monitor.start();
    h.clock.tick(0);
    await h.answer(200);
    t.equal(h.monitor.state, TrunkState.Up);
    h.clock.tick(30_000);
    t.equal(h.pending.length, 1, "still probing");

    const reg = parseTrunkDefinition(
      {
        name: "hosted",
        auth: "register",
        transport: "tls",
        registrar: "sip:reg.example.net",
        username: "u",
        password: "p",
      },
      "t",
    );
    const sent: SipRequest[] = [];
    const clock = new FakeClock();
    const m = new OptionsKeepalive({
      trunk: reg,
      clock,
      local: { host: "2001:db8::1", port: 5061 },
      send: (request) => {
        sent.push(request);
        return Promise.resolve("timeout");
      },
    });
    t.same(m.destination, { host: "reg.example.net", port: 5061, transport: "TLS" });
    m.start();
    clock.tick(0);
    t.equal(sent[0]?.uri.toString(), "sip:reg.example.net:5061;transport=tls");
    t.match(sent[0]?.getHeader("Via") ?? "", /^SIP\/2\.0\/TLS \[2001:db8::1\]:5061;/);
    m.stop();
    await flush();

    const off = parseTrunkDefinition({ name: "quiet", peers: ["203.0.113.1"], optionsIntervalS: 0 }, "t");
    t.throws(
      () => new OptionsKeepalive({ trunk: off, send: () => Promise.resolve("timeout"), local: { host: "h", port: 1 } }),
      TypeError,
    );
  },
);

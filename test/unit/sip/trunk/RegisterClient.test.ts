/**
 * REGISTER client (sip/trunk/RegisterClient.ts) against an in-test registrar built on the real DigestServer, on a
 * fake clock: digest challenge, 423 Min-Expires, refresh timing with preemptive credentials, stale nonces, failures
 * with back-off and Retry-After, and unregister on stop.
 */

import t from "tap";
import { DigestServer } from "../../../../sip/auth/index.js";
import { createResponse, type SipRequest, type SipResponse } from "../../../../sip/index.js";
import {
  parseTrunkDefinition,
  RegisterClient,
  RegistrationState,
  type Registered,
  type RegistrationFailure,
  type SendOutcome,
} from "../../../../sip/trunk/index.js";
import { FakeClock } from "../../../helpers/FakeClock.js";

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

const TRUNK = {
  name: "hosted",
  auth: "register",
  transport: "udp",
  registrar: "sip:registrar.example.net",
  username: "4930123",
  password: "pw",
  registerExpires: 600,
};

/** A registrar: digest-protected, Min-Expires 1800, caps at 1800, keeps one binding per Contact. */
class Registrar {
  readonly received: SipRequest[] = [];
  readonly bindings = new Map<string, number>();
  readonly digest: DigestServer;
  minExpires = 1800;
  /** When set, answer the next requests with these statuses (after authentication). */
  script: (number | "timeout" | "throw" | [number, [string, string][]])[] = [];

  constructor(clock: FakeClock, password = "pw") {
    this.digest = new DigestServer({
      realm: "example.net",
      secret: Buffer.alloc(32, 3),
      lookup: (user) => (user === "4930123" ? { password } : undefined),
      now: () => clock.now(),
      nonceTtlMs: 3_000_000,
    });
  }

  handle = (request: SipRequest): Promise<SendOutcome> => {
    this.received.push(request);
    const step = this.script.shift();
    if (step === "timeout") {
      return Promise.resolve("timeout");
    }
    if (step === "throw") {
      return Promise.reject(new Error("ECONNREFUSED"));
    }
    if (step !== undefined) {
      const [status, headers] = Array.isArray(step) ? step : [step, []];
      const r = createResponse(request, status, { toTag: "reg" });
      for (const [n, v] of headers) {
        r.addHeader(n, v);
      }
      return Promise.resolve(r);
    }
    const verdict = this.digest.authenticate(request);
    if (!verdict.ok) {
      return Promise.resolve(verdict.response);
    }
    const contact = request.contacts[0];
    const asked = contact?.expires ?? request.expires ?? 3600;
    if (asked !== 0 && asked < this.minExpires) {
      const r = createResponse(request, 423, { toTag: "reg" });
      r.setHeader("Min-Expires", String(this.minExpires));
      return Promise.resolve(r);
    }
    const key = contact?.uri.toString() ?? "";
    if (asked === 0) {
      this.bindings.delete(key);
    } else {
      this.bindings.set(key, Math.min(asked, 1800));
    }
    const ok: SipResponse = createResponse(request, 200, { toTag: "reg" });
    // Registrars return every binding, with parameters they choose (RFC 3261 §10.3 step 8).
    ok.setHeader(
      "Contact",
      [...this.bindings].map(([uri, e]) => `<${uri};ob>;expires=${e}`),
    );
    return Promise.resolve(ok);
  };
}

function setup(options: { password?: string; trunk?: Record<string, unknown> } = {}): {
  clock: FakeClock;
  registrar: Registrar;
  client: RegisterClient;
  registered: Registered[];
  failed: RegistrationFailure[];
  states: string[];
} {
  const clock = new FakeClock();
  const registrar = new Registrar(clock, options.password);
  const client = new RegisterClient({
    trunk: parseTrunkDefinition({ ...TRUNK, ...options.trunk }, "t"),
    send: registrar.handle,
    local: { host: "192.0.2.1", port: 5062 },
    clock,
  });
  const registered: Registered[] = [];
  const failed: RegistrationFailure[] = [];
  const states: string[] = [];
  client.on("registered", (r) => registered.push(r));
  client.on("failed", (f) => failed.push(f));
  client.on("stateChanged", (c) => states.push(c.to));
  return { clock, registrar, client, registered, failed, states };
}

t.test("401 then 423 then 200; refresh at 90 % with preemptive credentials; unregister on stop", async (t) => {
  const { clock, registrar, client, registered, states } = setup();
  client.start();
  await flush();
  t.same(
    registrar.received.map((r) => [r.cseq.seq, r.getHeader("Expires"), r.hasHeader("Authorization")]),
    [
      [1, "600", false],
      [2, "600", true],
      [3, "1800", true],
    ],
    "challenge answered, then Min-Expires honoured",
  );
  const [first, second, third] = registrar.received;
  t.equal(new Set(registrar.received.map((r) => r.callId)).size, 1, "one Call-ID");
  t.equal(first?.from.tag, third?.from.tag, "one From tag");
  t.equal(first?.uri.toString(), "sip:registrar.example.net");
  t.equal(first?.from.uri.toString(), "sip:4930123@registrar.example.net");
  t.equal(first?.getHeader("Contact"), "<sip:4930123@192.0.2.1:5062>;expires=600");
  t.equal(second?.authHeaders("Authorization")[0]?.get("nc"), "00000001");
  t.equal(third?.authHeaders("Authorization")[0]?.get("nc"), "00000002", "nonce reused with the next nc");
  t.not(first?.topVia.branch, second?.topVia.branch, "each REGISTER is a new transaction");
  t.equal(client.state, RegistrationState.Registered);
  t.equal(registered.length, 1);
  t.equal(registered[0]?.expires, 1800);
  t.equal(registered[0]?.refreshInMs, 1_620_000, "min(90 %, max(50 %, 1800 − 60 s))");
  t.same(registered[0]?.contacts, ["<sip:4930123@192.0.2.1:5062;ob>;expires=1800"]);

  clock.tick(1_619_999);
  await flush();
  t.equal(registrar.received.length, 3, "not yet");
  clock.tick(1);
  await flush();
  t.equal(registrar.received.length, 4, "refresh sent");
  const refresh = registrar.received[3];
  t.equal(refresh?.cseq.seq, 4);
  t.equal(refresh?.getHeader("Expires"), "1800", "remembers Min-Expires");
  t.equal(refresh?.authHeaders("Authorization")[0]?.get("nc"), "00000003", "preemptive, no new challenge");
  t.equal(registered.length, 2);

  // Let the nonce expire at the registrar: the next refresh is answered stale=true and retried transparently.
  clock.tick(1_620_000);
  await flush();
  clock.tick(1_620_000);
  await flush();
  t.equal(registered.length, 4);
  const nonces = new Set(registrar.received.map((r) => r.authHeaders("Authorization")[0]?.nonce).filter(Boolean));
  t.equal(nonces.size, 2, "the expired nonce was replaced after a stale=true challenge");
  t.ok(registrar.received.length >= 6);
  t.equal(client.state, RegistrationState.Registered);
  t.equal(registrar.bindings.size, 1);

  const unregistered: (number | undefined)[] = [];
  client.on("unregistered", (u) => unregistered.push(u.status));
  await client.stop();
  const last = registrar.received[registrar.received.length - 1];
  t.equal(last?.getHeader("Expires"), "0");
  t.equal(last?.getHeader("Contact"), "<sip:4930123@192.0.2.1:5062>;expires=0");
  t.same(unregistered, [200]);
  t.equal(registrar.bindings.size, 0, "binding removed at the registrar");
  t.equal(client.state, RegistrationState.Stopped);
  t.equal(clock.pendingCount, 0, "no timer left");
  t.same(states.slice(-2), ["unregistering", "stopped"]);
  await client.stop(); // idempotent
});

t.test("expired nonce on refresh: 401 stale=true is answered with the new nonce", async (t) => {
  const { clock, registrar, client, registered } = setup({ trunk: { registerExpires: 1800 } });
  client.start();
  await flush();
  t.equal(registered.length, 1);
  const before = registrar.received.length;
  // Two refreshes, 27 minutes apart: the second falls past the registrar's 50-minute nonce lifetime.
  for (let i = 0; i < 2; i++) {
    clock.tick(1_620_000);
    await flush();
  }
  const tail = registrar.received.slice(before);
  const statuses = tail.map((r) => r.authHeaders("Authorization")[0]?.get("nc"));
  t.ok(statuses.includes("00000001") && tail.length >= 2, `fresh nonce after stale: ${statuses.join(",")}`);
  t.equal(client.state, RegistrationState.Registered);
  t.equal(registered.length, 3);
  await client.stop();
});

t.test(
  "failures: back-off doubles, Retry-After wins, wrong password fails, timeout and transport errors",
  async (t) => {
    const { clock, registrar, client, failed } = setup();
    registrar.script = [403, "timeout", [503, [["Retry-After", "120"]]], "throw"];
    client.start();
    await flush();
    t.equal(client.state, RegistrationState.Retrying);
    t.same(
      failed.map((f) => [f.status, f.retryInMs]),
      [[403, 30_000]],
    );
    clock.tick(30_000);
    await flush();
    clock.tick(60_000);
    await flush();
    t.same(
      failed.map((f) => [f.status, f.reason, f.retryInMs]),
      [
        [403, "403 Forbidden", 30_000],
        [undefined, "timeout", 60_000],
        [503, "503 Service Unavailable", 120_000],
      ],
    );
    clock.tick(119_999);
    await flush();
    t.equal(registrar.received.length, 3, "Retry-After respected");
    clock.tick(1);
    await flush();
    t.match(failed[3]?.reason ?? "", /transport: ECONNREFUSED/);
    t.equal(failed[3]?.retryInMs, 240_000);
    clock.tick(240_000);
    await flush();
    t.equal(client.state, RegistrationState.Registered, "recovers when the registrar does");
    await client.stop();

    // Wrong password: the registrar answers 403 (DigestServer default), the client fails and retries later.
    const bad = setup({ password: "other" });
    bad.client.start();
    await flush();
    t.equal(bad.failed[0]?.status, 403);
    t.equal(bad.client.state, RegistrationState.Retrying);
    await bad.client.stop();
    t.equal(bad.client.state, RegistrationState.Stopped);
    t.equal(bad.clock.pendingCount, 0);

    // A registrar that re-challenges with the same nonce: the client recognises rejected credentials.
    const same = setup();
    let challenge: SipResponse | undefined;
    same.registrar.handle = (request: SipRequest): Promise<SendOutcome> => {
      same.registrar.received.push(request);
      challenge ??= same.registrar.digest.challenge(request);
      const r = createResponse(request, 401, { toTag: "x" });
      r.setHeader("WWW-Authenticate", challenge.getHeaders("WWW-Authenticate"));
      return Promise.resolve(r);
    };
    const c2 = new RegisterClient({
      trunk: parseTrunkDefinition(TRUNK, "t"),
      send: (r) => same.registrar.handle(r),
      local: { host: "192.0.2.1", port: 5062 },
      clock: same.clock,
    });
    const f2: RegistrationFailure[] = [];
    c2.on("failed", (f) => f2.push(f));
    c2.start();
    await flush();
    t.equal(same.registrar.received.length, 2, "one answer to the challenge, no loop");
    t.match(f2[0]?.reason ?? "", /credentials rejected/);
    await c2.stop();

    // 423 without Min-Expires is a failure, not a loop.
    const no423 = setup();
    no423.registrar.script = [423];
    no423.client.start();
    await flush();
    t.match(no423.failed[0]?.reason ?? "", /Min-Expires/);
    await no423.client.stop();
  },
);

t.test("stop() while the first REGISTER is in flight removes the binding it created", async (t) => {
  const { registrar, client, clock } = setup({ trunk: { registerExpires: 1800 } });
  client.start();
  const stopped = client.stop();
  await stopped;
  t.equal(client.state, RegistrationState.Stopped);
  t.equal(registrar.bindings.size, 0);
  t.equal(registrar.received[registrar.received.length - 1]?.getHeader("Expires"), "0");
  t.equal(clock.pendingCount, 0);
  t.throws(
    () =>
      new RegisterClient({
        trunk: parseTrunkDefinition({ name: "ip", peers: ["192.0.2.9"] }, "t"),
        send: () => Promise.resolve("timeout"),
        local: { host: "h", port: 1 },
      }),
    TypeError,
  );
});

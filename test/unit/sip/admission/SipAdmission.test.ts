/**
 * SIP admission (sip/admission/SipAdmission.ts), moved out of src/sip/SipService.ts: the order overload → rate →
 * ACL → Via pinning → trusted trunk → in-dialog → digest, the stateless answers (to the packet's source only, never
 * dialling), the counters, and the trunk an admitted request carries to the user agent.
 */
import t from "tap";
import { SipAdmission, type AdmissionTarget } from "../../../../sip/admission/SipAdmission.js";
import { DigestClient } from "../../../../sip/auth/index.js";
import type { SipRequest, SipResponse } from "../../../../sip/message/SipMessage.js";
import type { InboundMessage, SipDestination } from "../../../../sip/transport/SipTransport.js";
import { parseTrunkDefinitions, TrunkTable } from "../../../../sip/trunk/index.js";
import { LoadMonitor } from "../../../../sip/trunk/LoadMonitor.js";
import { request, response } from "../helpers.js";

const TRUNKS = parseTrunkDefinitions([
  { name: "carrier", peers: ["203.0.113.10"], auth: "ip", optionsIntervalS: 0 },
  { name: "pbx", auth: "digest", username: "pbx1", password: "pw1", realm: "korus", optionsIntervalS: 0 },
]);

const CONFIG = {
  rateLimit: { ratePerSecond: 1, burst: 3, trunkRatePerSecond: 100, trunkBurst: 100 },
  overloadLagMs: 500,
  digest: { realm: "korus", secret: "0123456789abcdef0123", nonceTtlS: 300 },
};

const INVITE = (host: string, extra = ""): string =>
  `INVITE sip:echo@korus.example SIP/2.0\r\nVia: SIP/2.0/UDP ${host}:5060;branch=z9hG4bK-${Math.random()}${extra}\r\n` +
  `Max-Forwards: 70\r\nFrom: <sip:a@${host}>;tag=f1\r\nTo: <sip:echo@korus.example>\r\n` +
  `Call-ID: c-${Math.random()}\r\nCSeq: 1 INVITE\r\nContact: <sip:a@${host}>\r\nContent-Length: 0\r\n\r\n`;

interface Harness {
  admission: SipAdmission;
  load: LoadMonitor;
  received: InboundMessage[];
  sent: { response: SipResponse; to: SipDestination }[];
  warnings: string[];
}

function harness(config = CONFIG): Harness {
  const received: InboundMessage[] = [];
  const sent: { response: SipResponse; to: SipDestination }[] = [];
  const warnings: string[] = [];
  const target: AdmissionTarget = {
    receive: (m) => received.push(m),
    sendStateless: (r, to) => sent.push({ response: r, to }),
    warn: (m) => warnings.push(m),
  };
  const load = new LoadMonitor({ thresholdMs: config.overloadLagMs });
  const table = new TrunkTable(TRUNKS, { rejectStatus: 403 });
  const admission = new SipAdmission({ config, table, trunks: TRUNKS, target, load });
  return { admission, load, received, sent, warnings };
}

const from = (host: string, port = 5060): SipDestination => ({ host, port, transport: "UDP" });

t.test("a trusted trunk source passes and its request carries the trunk", async (t) => {
  const h = harness();
  const invite = request(INVITE("203.0.113.10"));
  h.admission.admit({ message: invite, source: from("203.0.113.10") });
  t.equal(h.received.length, 1);
  t.equal((h.received[0]?.message as SipRequest).trunk?.name, "carrier");
  t.equal(h.sent.length, 0);
});

t.test("responses always pass; an unknown source gets the stateless reject status", async (t) => {
  const h = harness();
  const r = response(
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n" +
      "To: <sip:b@y>;tag=2\r\nCall-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
  );
  h.admission.admit({ message: r, source: from("192.0.2.1") });
  t.equal(h.received.length, 1, "a response goes to the transaction layer");
  // Digest trunks accept any address, so an unknown source is challenged rather than rejected: use a table without.
  const ipOnly = parseTrunkDefinitions([{ name: "carrier", peers: ["203.0.113.10"], auth: "ip", optionsIntervalS: 0 }]);
  const sent: SipResponse[] = [];
  const a = new SipAdmission({
    config: CONFIG,
    table: new TrunkTable(ipOnly, { rejectStatus: 403 }),
    trunks: ipOnly,
    target: { receive: () => t.fail("refused"), sendStateless: (x) => sent.push(x), warn: () => undefined },
    load: new LoadMonitor({ thresholdMs: 500 }),
  });
  a.admit({ message: request(INVITE("192.0.2.1")), source: from("192.0.2.1") });
  t.equal(sent[0]?.status, 403, "unknownSourceStatus");
  t.equal(a.stats().unknownSourceRejected, 1);
  t.equal(a.streamAdmission.acceptSource?.("192.0.2.1", "TCP"), false, "no connection for a refused source");
  t.equal(a.streamAdmission.acceptSource?.("203.0.113.10", "TCP"), true);
});

t.test("overload: a new request gets 503 + Retry-After; in-dialog requests still pass", async (t) => {
  const h = harness();
  h.load.overloaded = true;
  h.admission.admit({ message: request(INVITE("203.0.113.10")), source: from("203.0.113.10", 5999) });
  t.equal(h.sent[0]?.response.status, 503);
  t.equal(h.sent[0]?.response.getHeader("Retry-After"), "1");
  t.same(h.sent[0]?.to, { host: "203.0.113.10", port: 5999, transport: "UDP", noDial: true }, "to the source only");
  const bye = request(
    INVITE("203.0.113.10")
      .replace(/INVITE/g, "BYE")
      .replace("To: <sip:echo@korus.example>", "To: <sip:echo@korus.example>;tag=t1"),
  );
  h.admission.admit({ message: bye, source: from("203.0.113.10") });
  t.equal(h.received.length, 1, "the BYE passes");
  t.equal(h.admission.stats().overloadRejected, 1);
  t.equal(h.admission.stats().overloaded, true);
});

t.test("rate: an untrusted source's bucket runs out (503), the trunk's has its own", async (t) => {
  const h = harness();
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    h.admission.admit({ message: request(INVITE("192.0.2.7")), source: from("192.0.2.7") });
  }
  for (const s of h.sent) {
    statuses.push(s.response.status);
  }
  t.ok(statuses.includes(503), `503 once the burst is spent (${statuses.join(", ")})`);
  t.ok(h.admission.stats().rateLimited > 0);
  for (let i = 0; i < 6; i++) {
    h.admission.admit({ message: request(INVITE("203.0.113.10")), source: from("203.0.113.10") });
  }
  t.equal(h.received.length, 6, "the trusted trunk draws from the trunk bucket");
});

t.test("digest: challenge, wrong password 403, proven credentials carry the digest trunk", async (t) => {
  const h = harness({ ...CONFIG, rateLimit: { ...CONFIG.rateLimit, burst: 10 } });
  const first = request(INVITE("192.0.2.9", ";maddr=198.51.100.1"));
  h.admission.admit({ message: first, source: from("192.0.2.9") });
  t.equal(h.sent[0]?.response.status, 401, "challenged");
  t.equal(first.topVia.params.has("maddr"), false, "an untrusted UDP request loses its Via maddr");
  const challenge = h.sent[0]?.response;
  if (challenge === undefined) {
    return;
  }
  const wrong = request(INVITE("192.0.2.9"));
  new DigestClient({ username: "pbx1", password: "nope" }).authorize(wrong, challenge);
  h.admission.admit({ message: wrong, source: from("192.0.2.9") });
  t.equal(h.sent[1]?.response.status, 403, "wrong password");
  const good = request(INVITE("192.0.2.9"));
  new DigestClient({ username: "pbx1", password: "pw1" }).authorize(good, challenge);
  h.admission.admit({ message: good, source: from("192.0.2.9") });
  t.equal(h.received.length, 1, "proven credentials pass");
  t.equal(good.trunk?.name, "pbx", "and carry the trunk they belong to");
  const ack = request(INVITE("192.0.2.9").replace(/INVITE/g, "ACK"));
  h.admission.admit({ message: ack, source: from("192.0.2.9") });
  t.equal(h.received.length, 2, "an ACK is never challenged");
});

t.test("counters: parse errors, connections refused, malformed calls; a throwing target is contained", async (t) => {
  const h = harness();
  h.admission.onParseError();
  h.admission.streamAdmission.onRefused?.("192.0.2.1", "acl");
  h.admission.countMalformed();
  const s = h.admission.stats();
  t.equal(s.malformed, 2);
  t.equal(s.connectionsRefused, 1);
  const boom = new SipAdmission({
    config: CONFIG,
    table: new TrunkTable(TRUNKS),
    trunks: TRUNKS,
    target: {
      receive: () => {
        throw new Error("boom");
      },
      sendStateless: () => undefined,
      warn: (m) => h.warnings.push(m),
    },
    load: new LoadMonitor({ thresholdMs: 500 }),
  });
  t.doesNotThrow(() => boom.admit({ message: request(INVITE("203.0.113.10")), source: from("203.0.113.10") }));
  t.match(h.warnings[0], /admission failed/);
});

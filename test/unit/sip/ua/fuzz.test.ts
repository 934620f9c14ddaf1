/**
 * Odd but parseable traffic against a live UserAgent (seeded, reproducible): requests with random methods, tags,
 * CSeq numbers, missing or duplicated optional headers, bodies of the wrong type, stray ACKs and responses. Nothing
 * may fail inside the stack (no error log line), and every table drains afterwards.
 */

import t from "tap";
import {
  parseMessage,
  setLoggerFactory,
  SipParseError,
  SipRequest,
  stampReceived,
  type Logger,
} from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const SOURCE = { host: "192.0.2.9", port: 5060, transport: "UDP" } as const;

t.test("2000 odd messages: no internal error, tables drain", async (t) => {
  const errors: string[] = [];
  const capture: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (message, fields) =>
      errors.push(`${message} ${fields?.["error"] instanceof Error ? fields["error"].message : ""}`),
  };
  setLoggerFactory(() => capture);
  t.teardown(() => setLoggerFactory(undefined));
  const p = pair();
  const random = rng(Number(process.env["FUZZ_SEED"] ?? "42"));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  let n = 0;
  p.b.on("incomingCall", (session) => {
    const r = random();
    if (r < 0.3) {
      void session.answer();
    } else if (r < 0.5) {
      void session.progress({ earlyMedia: true, reliable: random() < 0.5 });
    } else if (r < 0.7) {
      session.reject(pick([403, 486, 603]));
    }
  });
  const sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
  const tags = ["", "t1", "t2"];
  // Learn the UA's To tags from its responses, so in-dialog requests reach real dialogs.
  p.net.transport("192.0.2.9", 5060, (m) => {
    const tag = m.to.tag;
    if (!(m instanceof SipRequest) && tag !== undefined && !tags.includes(tag)) {
      tags.push(tag);
    }
  });
  for (let i = 0; i < 2000; i++) {
    const method = pick(["INVITE", "INVITE", "ACK", "BYE", "CANCEL", "PRACK", "UPDATE", "INFO", "OPTIONS", "MESSAGE"]);
    const callId = `fuzz-${Math.floor(random() * 8)}`;
    const toTag = random() < 0.5 ? pick(tags.slice(0, 3)) : pick(tags);
    const lines = [
      `${method} sip:b@192.0.2.2 SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK${Math.floor(random() * 50)}`,
      `From: <sip:a@192.0.2.9>;tag=${pick(["f1", "f2"])}`,
      `To: <sip:b@192.0.2.2>${toTag === "" ? "" : `;tag=${toTag}`}`,
      `Call-ID: ${callId}`,
      `CSeq: ${Math.floor(random() * 5)} ${method}`,
      "Max-Forwards: 70",
    ];
    if (random() < 0.8) {
      lines.push("Contact: <sip:a@192.0.2.9:5060>");
    }
    if (random() < 0.2) {
      lines.push(pick(["Require: 100rel", "Require: timer", "Supported: 100rel, timer", "Require: foo"]));
    }
    if (random() < 0.2) {
      lines.push(pick(["Session-Expires: 30", "Session-Expires: 1800;refresher=uas", "Min-SE: 120"]));
    }
    if (random() < 0.2) {
      lines.push(pick(["RAck: 1 1 INVITE", "RAck: garbage", "RSeq: 5"]));
    }
    if (random() < 0.1) {
      lines.push(pick(["Reason: Q.850;cause=16", "Reason: nonsense", "Accept: text/plain"]));
    }
    let body = "";
    if (random() < 0.5) {
      body = random() < 0.8 ? sdp : "not sdp at all";
      lines.push(`Content-Type: ${random() < 0.9 ? "application/sdp" : "text/plain"}`);
    }
    lines.push(`Content-Length: ${body.length}`);
    let message;
    try {
      message = parseMessage(`${lines.join("\r\n")}\r\n\r\n${body}`);
    } catch (error) {
      if (error instanceof SipParseError) {
        continue;
      }
      throw error;
    }
    if (message instanceof SipRequest) {
      stampReceived(message, SOURCE);
    }
    p.b.receive({ message: message as SipRequest, source: SOURCE });
    n += 1;
    if (i % 10 === 0) {
      await p.clock.run(random() < 0.1 ? 2000 : 20);
    }
  }
  await p.clock.run(200000);
  t.ok(n > 1500, `${n} messages delivered`);
  t.ok(tags.length > 10, `${tags.length - 3} dialog tags learned`);
  t.same(errors, [], "no internal error logged");
  for (const session of p.b.sessions) {
    session.hangup();
  }
  await p.clock.run(70000);
  t.same(p.b.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
});

t.test(
  "the error capture above works: an application listener that throws is logged, and the call still ends",
  async (t) => {
    const errors: string[] = [];
    setLoggerFactory(() => ({
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (message) => errors.push(message),
    }));
    t.teardown(() => setLoggerFactory(undefined));
    const p = pair({ b: { incomingTimeoutMs: 1000 } });
    p.b.on("incomingCall", () => {
      throw new Error("application bug");
    });
    const out = p.a.call("sip:b@192.0.2.2:5060", { from: "sip:a@192.0.2.1", media: new TestMedia() });
    await p.clock.run(2000);
    t.same(errors, ["event listener threw"]);
    t.equal(out.termination?.status, 480, "the unanswered guard still rejected it");
  },
);

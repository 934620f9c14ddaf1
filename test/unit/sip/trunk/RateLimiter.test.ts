/**
 * Per-source token buckets with stateless 503 + Retry-After and bounded memory (sip/trunk/RateLimiter.ts), on a
 * hand-driven clock.
 */

import t from "tap";
import { SourceRateLimiter } from "../../../../sip/trunk/index.js";
import { request, response } from "../helpers.js";

const INVITE = (n: number): string =>
  `INVITE sip:x@korus.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66;branch=z9hG4bKf${n}\r\n` +
  "Max-Forwards: 70\r\nFrom: <sip:a@flood.example>;tag=f\r\nTo: <sip:x@korus.example.com>\r\n" +
  `Call-ID: flood-${n}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`;

t.test("a flood from one source gets one 503 with Retry-After per interval, others are unaffected", async (t) => {
  let now = 0;
  const limiter = new SourceRateLimiter({ ratePerSecond: 10, burst: 20, replyIntervalMs: 1000, now: () => now });
  const decisions: string[] = [];
  for (let i = 0; i < 100; i++) {
    decisions.push(limiter.admit("192.0.2.66", request(INVITE(i))).action);
  }
  t.equal(decisions.filter((d) => d === "accept").length, 20, "the burst passes");
  t.equal(decisions.filter((d) => d === "reject").length, 1, "one 503 ...");
  t.equal(decisions.filter((d) => d === "drop").length, 79, "... the rest dropped silently");
  t.equal(limiter.admit("192.0.2.77", request(INVITE(1000))).action, "accept", "another source is unaffected");

  now += 1000; // 10 tokens refill
  const after: string[] = [];
  let reject;
  for (let i = 0; i < 12; i++) {
    const d = limiter.admit("192.0.2.66", request(INVITE(200 + i)));
    after.push(d.action);
    if (d.action === "reject") {
      reject = d;
    }
  }
  t.same(after.slice(0, 10), Array<string>(10).fill("accept"), "sustained rate admitted");
  t.equal(after[10], "reject");
  t.equal(after[11], "drop");
  t.equal(reject?.retryAfter, 1);
  t.equal(reject?.response?.status, 503);
  t.equal(reject?.response?.getHeader("Retry-After"), "1");
  t.equal(reject?.response?.callId, "flood-210");
  t.ok(reject?.response?.to.tag);
});

t.test("Retry-After reflects the refill time; ACKs and responses are never answered", async (t) => {
  let now = 0;
  const limiter = new SourceRateLimiter({ ratePerSecond: 0.25, burst: 1, replyIntervalMs: 0, now: () => now });
  t.equal(limiter.admit("198.51.100.1", request(INVITE(1))).action, "accept");
  const r = limiter.admit("198.51.100.1", request(INVITE(2)));
  t.equal(r.action, "reject");
  t.equal(r.action === "reject" ? r.retryAfter : 0, 4, "one token at 0.25/s takes 4 s");
  const ack = request(INVITE(3).replace("INVITE sip", "ACK sip").replace("1 INVITE", "1 ACK"));
  t.equal(limiter.admit("198.51.100.1", ack).action, "drop");
  const resp = response(
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.66;branch=z9hG4bKq\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>;tag=2\r\n" +
      "Call-ID: r1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
  );
  t.equal(limiter.admit("198.51.100.1", resp).action, "drop");
  t.equal(limiter.admit("198.51.100.1").action, "drop", "no message: cannot answer");
  now += 4000;
  t.equal(limiter.admit("198.51.100.1", request(INVITE(4))).action, "accept");
});

t.test("memory is bounded by maxSources; refilled idle buckets are released", async (t) => {
  let now = 0;
  const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 2, maxSources: 100, now: () => now });
  for (let i = 0; i < 10_000; i++) {
    limiter.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  }
  t.ok(limiter.trackedSources <= 100, `tracked ${limiter.trackedSources}`);
  // A flooding source that keeps sending stays tracked (it is always the most recently used) and stays limited.
  for (let i = 0; i < 3; i++) {
    limiter.admit("192.0.2.66");
  }
  for (let i = 0; i < 500; i++) {
    limiter.admit(`10.9.${i >> 8}.${i & 255}`);
    t.not(limiter.admit("192.0.2.66", request(INVITE(i))).action, "accept");
  }
  t.ok(limiter.trackedSources <= 100);
  now += 10_000;
  limiter.admit("192.0.2.1");
  t.equal(limiter.trackedSources, 1, "everything else had refilled and was released");
  t.throws(() => new SourceRateLimiter({ ratePerSecond: 0 }), RangeError);
  t.throws(() => new SourceRateLimiter({ burst: 0 }), RangeError);
  t.throws(() => new SourceRateLimiter({ maxSources: 0 }), RangeError);
});

t.test("IPv6 sources share a bucket per /64; IPv4-mapped addresses are IPv4", async (t) => {
  const limiter = new SourceRateLimiter({ ratePerSecond: 1, burst: 3, now: () => 0 });
  t.equal(limiter.sourceKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2:0:0:0:0/64");
  t.equal(limiter.sourceKey("::ffff:192.0.2.7"), "192.0.2.7");
  t.equal(limiter.sourceKey("not-an-ip"), "not-an-ip");
  const actions = [1, 2, 3, 4, 5].map((i) => limiter.admit(`2001:db8:1:2::${i}`).action);
  t.same(actions, ["accept", "accept", "accept", "drop", "drop"], "rotating addresses inside one /64 does not help");
  t.equal(limiter.admit("2001:db8:1:3::1").action, "accept", "the next /64 is another source");
  t.equal(limiter.admit("192.0.2.7").action, "accept");
  t.equal(limiter.admit("::ffff:192.0.2.7").action, "accept");
  t.equal(limiter.admit("192.0.2.7").action, "accept");
  t.equal(limiter.admit("::ffff:192.0.2.7").action, "drop", "mapped and plain IPv4 are one source");
  t.equal(new SourceRateLimiter({ ipv6PrefixLength: 128 }).sourceKey("2001:db8::1"), "2001:db8:0:0:0:0:0:1/128");
  t.throws(() => new SourceRateLimiter({ ipv6PrefixLength: 0 }), RangeError);
});

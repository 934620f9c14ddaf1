/**
 * The unified SRTP (media/srtp/SrtpSession) on the WebRTC fast path's calls (`protect` from header fields,
 * `unprotect` to the plain payload), keyed from DTLS-SRTP master keys with the path's 64-packet replay window:
 *
 * - authentication: every single-bit change refused, a forged packet moves neither ROC nor window;
 * - replay protection against a plain model of RFC 3711 §3.3.2 (a set of accepted indices and a 64-packet window)
 *   over long random traffic with reordering, duplicates and two sequence-number wraps; "too-old" for an index
 *   behind the window, "replay" for one seen inside it;
 * - malformed datagrams and impossible padding counts, and a fuzz run: never an exception.
 *
 * Moved from test/unit/media/webrtc/SrtpTransform.test.ts when the two SRTP implementations became one.
 */
import t from "tap";
import { randomBytes } from "node:crypto";
import { readRtpHeader, rtpHeaderFields as fields } from "../../../../media/srtp/rtpHeader.js";
import {
  PROFILES,
  buildPlain,
  bytes,
  direction,
  hex,
  prng,
  reason,
  referenceProtect,
  rtp,
  sealed,
  text,
} from "./fixtures/srtpPeers.js";

// ------------------------------------------------------------------------------------------- authentication

t.test(
  "flipping any bit of a packet → auth (malformed for the extension length); the genuine packet is still accepted afterwards",
  (t) => {
    for (const profile of PROFILES) {
      const d = direction(profile, 14);
      const { packet, headerLength } = buildPlain({
        payloadType: 96,
        marker: true,
        seq: 500,
        timestamp: 9,
        ssrc: 0x11,
        csrc: [5],
        ext: { profile: 0xbede, data: hex("10ff0000") },
        payload: randomBytes(40),
      });
      const enc = referenceProtect(profile, d.keys, packet, headerLength, 0);
      const rx = d.session();
      const h = fields();
      // Byte 18 is the high byte of the extension length: flipping it makes the extension run past the packet.
      const extLengthHigh = 12 + 4 + 2;
      let auth = 0;
      for (let i = 0; i < enc.length; i++) {
        const bad = Buffer.from(enc);
        bad[i]! ^= 0x01;
        const got = reason(rx.unprotect(bad, h), "accepted");
        const want = i === extLengthHigh ? "malformed" : "auth-failed";
        if (got === want) {
          auth++;
        } else {
          t.fail(`${profile}: byte ${i} flipped → ${got}, want ${want}`);
        }
      }
      t.equal(auth, enc.length, `${profile}: every single-bit change is refused`);
      const rRx = rx.unprotect(enc.subarray(0, enc.length - 1), h);
      t.type(rRx, "string", "truncated tag");
      t.equal(rRx, "auth-failed");
      const plain = bytes(rx.unprotect(enc, h));
      t.equal(plain?.toString("hex"), packet.subarray(headerLength).toString("hex"), `${profile}: genuine accepted`);
      // Wrong keys (the other direction's) → auth.
      const other = direction(profile, 15);
      const wrong = other.session();
      const rWrong = wrong.unprotect(enc, h);
      t.type(rWrong, "string");
      t.equal(rWrong, "auth-failed", `${profile}: other keys`);
    }
    t.end();
  },
);

t.test("a forged packet far ahead (failing auth) does not move the ROC or the replay window", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 16);
    const tx = d.session();
    const rx = d.session();
    const h = fields();
    t.equal(bytes(rx.unprotect(sealed(tx.protect(rtp(1, 96, 60000, 0, false), Buffer.from("a"))), h))?.toString(), "a");
    // The same packet with seq 100: taken as ROC 1 (index 65,636, far ahead), but it fails authentication.
    const forged = sealed(tx.protect(rtp(1, 96, 60001, 0, false), Buffer.from("b")));
    const genuine = Buffer.from(forged);
    forged.writeUInt16BE(100, 2);
    const rRx = rx.unprotect(forged, h);
    t.type(rRx, "string");
    t.equal(rRx, "auth-failed", `${profile}: forged seq refused`);
    // Had the state moved to ROC 1 / index 65,636, 60001 (ROC 0) would now be "replay" or fail auth.
    t.equal(bytes(rx.unprotect(genuine, h))?.toString(), "b", `${profile}: ROC and window unchanged`);
  }
  t.end();
});

// ------------------------------------------------------------------------------------------- replay window

t.test("replay: the same packet twice, reordering within the window once each, older than 64 refused", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 17);
    const tx = d.session();
    const pkts = new Map<number, Buffer>();
    for (let s = 900; s <= 1100; s++) {
      pkts.set(s, sealed(tx.protect(rtp(0x77, 96, s, s * 10, false), Buffer.from(`p${s}`))));
    }
    const rx = d.session();
    const h = fields();
    const deliver = (s: number): string => text(rx.unprotect(pkts.get(s)!, h));
    t.equal(deliver(1000), "p1000");
    t.equal(deliver(1000), "replay", `${profile}: same packet again`);
    t.equal(deliver(1000 - 63), "p937", "63 behind the highest: inside the window");
    t.equal(deliver(1000 - 63), "replay");
    t.equal(deliver(1000 - 64), "too-old", "64 behind: outside the window");
    t.equal(deliver(900), "too-old");
    // Reverse order within blocks of 50 (each within 64 of the block's first and highest packet).
    const order: number[] = [];
    for (let base = 1001; base <= 1100; base += 50) {
      for (let s = Math.min(base + 49, 1100); s >= base; s--) {
        order.push(s);
      }
    }
    let ok = 0;
    for (const s of order) {
      if (deliver(s) === `p${s}`) {
        ok++;
      }
    }
    t.equal(ok, order.length, `${profile}: ${order.length} reordered packets accepted`);
    let replays = 0;
    for (const s of order) {
      // Seen inside the window: "replay"; by now behind it: "too-old".
      if (deliver(s) === (1100 - s < 64 ? "replay" : "too-old")) {
        replays++;
      }
    }
    t.equal(replays, order.length, "and each only once");
    t.equal(deliver(1100 - 32), "replay", "received before, 32 behind");
  }
  t.end();
});

t.test("replay window shifts of 1..70 against a model (bit positions 0..63, word boundary at 32)", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 18);
    const tx = d.session();
    const pkts: Buffer[] = [];
    for (let s = 0; s < 3000; s++) {
      pkts.push(sealed(tx.protect(rtp(5, 96, s, 0, false), Buffer.from([s & 0xff]))));
    }
    let mismatches = 0;
    for (let shift = 1; shift <= 70; shift++) {
      // Accept 100, 100 + shift; then probe every index from 100 + shift - 70 to 100 + shift.
      for (let probe = 100 + shift - 70; probe <= 100 + shift; probe++) {
        const rx = d.session();
        const h = fields();
        rx.unprotect(pkts[100]!, h);
        rx.unprotect(pkts[100 + shift]!, h);
        const got = reason(rx.unprotect(pkts[probe]!, h), "ok");
        const max = 100 + shift;
        const want = max - probe >= 64 ? "too-old" : probe === 100 || probe === max ? "replay" : "ok";
        if (got !== want) {
          mismatches++;
          t.fail(`${profile} shift ${shift} probe ${probe}: ${got} (want ${want})`);
        }
      }
    }
    t.equal(mismatches, 0, `${profile}: 70 shifts × 71 probes agree with the model`);
  }
  t.end();
});

t.test("random traffic across two sequence wraps: verdicts equal the RFC 3711 §3.3.2 model", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 19);
    const tx = d.session();
    const rand = prng(profile === "AEAD_AES_128_GCM" ? 7 : 8);
    // Sender: 70,000 consecutive packets from seq 63,000 (index 63,000 .. 132,999: ROC 0, 1, 2).
    const start = 63_000;
    const n = 70_000;
    const sent: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const index = start + i;
      sent.push(
        sealed(
          tx.protect(
            rtp(0xabc, 96, index & 0xffff, index * 3, false),
            Buffer.from([index & 0xff, (index >> 8) & 0xff]),
          ),
        ),
      );
    }
    // Receiver: mostly in order, with local shuffles, duplicates, late packets and losses.
    const rx = d.session();
    const h = fields();
    const accepted = new Set<number>();
    let max = -1;
    let mismatches = 0;
    let acceptedCount = 0;
    let replayCount = 0;
    const deliver = (i: number): void => {
      const index = start + i;
      const p = rx.unprotect(sent[i]!, h);
      const old = max >= 0 && index <= max;
      const want = old && max - index >= 64 ? "too-old" : old && accepted.has(index) ? "replay" : "ok";
      const got = reason(p, "ok");
      if (typeof p !== "string") {
        if (p[0] !== (index & 0xff) || p[1] !== ((index >> 8) & 0xff) || h.sequenceNumber !== (index & 0xffff)) {
          mismatches++;
        }
        accepted.add(index);
        max = Math.max(max, index);
        acceptedCount++;
      } else if (got === "replay" || got === "too-old") {
        replayCount++;
      }
      if (got !== want && mismatches++ < 10) {
        t.fail(`${profile} index ${index} (max ${max}): ${got}, want ${want}`);
      }
    };
    let i = 0;
    while (i < n) {
      const r = rand();
      if (r < 0.8) {
        deliver(i++);
      } else if (r < 0.88) {
        // A burst of up to 20 in reverse order.
        const k = Math.min(n - i, 1 + Math.floor(rand() * 20));
        for (let j = k - 1; j >= 0; j--) {
          deliver(i + j);
        }
        i += k;
      } else if (r < 0.94) {
        // Duplicate or late packet from up to 100 back.
        const back = Math.floor(rand() * 100);
        if (i - back - 1 >= 0) {
          deliver(i - back - 1);
        }
      } else {
        i += 1 + Math.floor(rand() * 30); // loss
      }
    }
    t.equal(mismatches, 0, `${profile}: every verdict and payload as the model says`);
    t.ok(acceptedCount > 40_000, `${profile}: ${acceptedCount} accepted`);
    t.ok(replayCount > 1000, `${profile}: ${replayCount} replays refused`);
    t.ok(max >= 2 * 65536, "two wraps reached");
  }
  t.end();
});
t.test("SSRCs keep separate ROC and replay state", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 21);
    const tx = d.session();
    const rx = d.session();
    const h = fields();
    const a1 = sealed(tx.protect(rtp(1, 96, 65535, 0, false), Buffer.from("a1")));
    const a2 = sealed(tx.protect(rtp(1, 96, 0, 0, false), Buffer.from("a2"))); // ROC 1 for SSRC 1
    const b1 = sealed(tx.protect(rtp(2, 96, 0, 0, false), Buffer.from("b1"))); // ROC 0 for SSRC 2
    const b2 = sealed(tx.protect(rtp(2, 96, 1, 0, false), Buffer.from("b2")));
    const got = [a1, b1, a2, b2, b1].map((p) => text(rx.unprotect(p, h)));
    t.same(got, ["a1", "b1", "a2", "b2", "replay"], profile);
  }
  t.end();
});

// ------------------------------------------------------------------------------------------- malformed input

t.test("malformed datagrams → 'malformed', never an exception", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 22);
    const rx = d.session();
    const h = fields();
    const tag = d.tagLength;
    const check = (buf: Buffer, what: string): void => {
      let out: Buffer | string = Buffer.alloc(0);
      t.doesNotThrow(() => {
        out = rx.unprotect(buf, h);
      }, what);
      t.type(out, "string", `${profile}: ${what} refused`);
      t.equal(out, "malformed", `${profile}: ${what} → malformed`);
    };
    for (let n = 0; n < 12 + tag; n++) {
      const b = Buffer.alloc(n, 0);
      if (n > 0) {
        b[0] = 0x80;
      }
      check(b, `${n}-byte datagram`);
    }
    for (const v of [0x00, 0x40, 0xc0]) {
      const b = Buffer.alloc(100);
      b[0] = v;
      check(b, `version ${v >> 6}`);
    }
    // 15 CSRCs announced in a 12 + 16 + tag byte packet.
    const cc = Buffer.alloc(12 + 16 + tag);
    cc[0] = 0x8f;
    check(cc, "CSRC list beyond the packet");
    // Extension flag with fewer than 4 bytes for the extension header.
    const x1 = Buffer.alloc(12 + 2 + tag);
    x1[0] = 0x90;
    check(x1, "extension header cut");
    // Extension length (in words) beyond the packet.
    const x2 = Buffer.alloc(12 + 4 + 8 + tag);
    x2[0] = 0x90;
    x2.writeUInt16BE(0xbede, 12);
    x2.writeUInt16BE(3, 14);
    check(x2, "extension length beyond the packet");
    const x3 = Buffer.alloc(12 + 4 + 8 + tag);
    x3[0] = 0x90;
    x3.writeUInt16BE(0xffff, 14);
    check(x3, "extension length 0xffff");
    // Extension that ends exactly at the tag: a valid header with an empty payload (auth, not malformed).
    const x4 = Buffer.alloc(12 + 4 + 8 + tag);
    x4[0] = 0x90;
    x4.writeUInt16BE(2, 14);
    const rRx = rx.unprotect(x4, h);
    t.type(rRx, "string");
    t.equal(rRx, "auth-failed", `${profile}: extension up to the tag is well formed`);
  }
  t.end();
});

t.test("authenticated packets with an impossible padding count → 'malformed', window untouched", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 23);
    const rx = d.session();
    const h = fields();
    const mk = (seq: number, payload: Buffer): Buffer => {
      const { packet, headerLength } = buildPlain({
        payloadType: 96,
        marker: false,
        seq,
        timestamp: 0,
        ssrc: 4,
        payload,
      });
      packet[0]! |= 0x20; // P bit, last payload byte is the count
      return referenceProtect(profile, d.keys, packet, headerLength, 0);
    };
    const zero = rx.unprotect(mk(10, Buffer.from([1, 2, 3, 0])), h);
    t.type(zero, "string");
    t.equal(zero, "malformed", `${profile}: padding count 0`);
    const tooBig = rx.unprotect(mk(11, Buffer.from([1, 2, 3, 5])), h);
    t.type(tooBig, "string");
    t.equal(tooBig, "malformed", `${profile}: padding count larger than the payload`);
    const all = mk(12, Buffer.from([9, 9, 9, 4]));
    t.equal(bytes(rx.unprotect(all, h))?.length, 0, `${profile}: padding covering the whole payload`);
    // The refused ones were not recorded: a well-formed packet with seq 10 is still new.
    const good = referenceProtect(
      profile,
      d.keys,
      buildPlain({ payloadType: 96, marker: false, seq: 10, timestamp: 0, ssrc: 4, payload: Buffer.from("ok") }).packet,
      12,
      0,
    );
    t.equal(
      bytes(rx.unprotect(good, h))?.toString(),
      "ok",
      `${profile}: index of a malformed packet not marked received`,
    );
  }
  t.end();
});

t.test("P bit on a packet with no payload at all (no padding count octet) → 'malformed', as werift", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 24);
    const { packet, headerLength } = buildPlain({
      payloadType: 96,
      marker: false,
      seq: 1,
      timestamp: 0,
      ssrc: 4,
      payload: Buffer.alloc(0),
    });
    packet[0]! |= 0x20;
    const enc = referenceProtect(profile, d.keys, packet, headerLength, 0);
    t.throws(() => d.wRx.decrypt(enc), `${profile}: werift refuses it`);
    const rx = d.session();
    const h = fields();
    const rRx = rx.unprotect(enc, h);
    t.type(rRx, "string", `${profile}: refused`);
    t.equal(rRx, "malformed", `${profile}: malformed (RFC 3550 A.1: P needs a valid count octet)`);
  }
  t.end();
});

t.test("fuzz: 30,000 random and mutated datagrams never throw and never authenticate", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 25);
    const tx = d.session();
    const genuine = sealed(tx.protect(rtp(8, 96, 100, 0, false), randomBytes(60)));
    const rx = d.session();
    const h = fields();
    const rand = prng(99);
    let threw = 0;
    let accepted = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < 15_000; i++) {
      let b: Buffer;
      if (i % 2 === 0) {
        b = Buffer.from(Array.from({ length: Math.floor(rand() * 120) }, () => Math.floor(rand() * 256)));
        if (b.length > 0) {
          b[0] = 0x80 | (b[0]! & 0x3f);
        }
      } else {
        b = Buffer.from(genuine.subarray(0, Math.max(0, genuine.length - Math.floor(rand() * 4))));
        const k = 1 + Math.floor(rand() * 3);
        for (let j = 0; j < k && b.length > 0; j++) {
          b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        }
        if (b.equals(genuine)) {
          continue;
        }
      }
      try {
        const r = rx.unprotect(b, h);
        if (typeof r !== "string") {
          accepted++;
        }
        reasons.add(reason(r, "none"));
      } catch {
        threw++;
      }
    }
    t.equal(threw, 0, `${profile}: no exception`);
    t.equal(accepted, 0, `${profile}: nothing forged authenticates`);
    t.same([...reasons].sort(), ["auth-failed", "malformed"], `${profile}: reasons seen`);
  }
  t.end();
});

t.test("readRtpHeader: fields and payload offset, false for anything that cannot hold the tag", (t) => {
  const { packet } = buildPlain({
    payloadType: 127,
    marker: true,
    seq: 0xfffe,
    timestamp: 0xfedcba98,
    ssrc: 0x89abcdef,
    csrc: [1, 2],
    ext: { profile: 0xbede, data: hex("10ff0000 20aabb00") },
    payload: Buffer.from("xyz"),
  });
  const h = fields();
  t.ok(readRtpHeader(packet, 0, h));
  t.same(h, {
    payloadType: 127,
    marker: true,
    sequenceNumber: 0xfffe,
    timestamp: 0xfedcba98,
    ssrc: 0x89abcdef,
    payloadOffset: 12 + 8 + 12,
  });
  t.ok(readRtpHeader(packet, 3, h), "payload exactly the tag length");
  t.notOk(readRtpHeader(packet, 4, h), "tag would overlap the header");
  t.notOk(readRtpHeader(packet.subarray(0, 12 + 8 + 2), 0, h), "extension header cut");
  t.end();
});

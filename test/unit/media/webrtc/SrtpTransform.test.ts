/**
 * SrtpTransform (the WebRTC fast path's SRTP) against three independent references:
 *
 * - published known answers: RFC 7714 §16.1.1 (AEAD_AES_128_GCM packet) and RFC 3711 B.2 (AES-CM keystream);
 * - werift's own SRTP (`SrtpSession`, the code that protects RTP on werift's path, keyed with the same master keys),
 *   both directions, so that packets interoperate with what werift and browsers send;
 * - a small reference protector written here from the RFC text (node:crypto AES-GCM / AES-CTR / HMAC-SHA1) for
 *   inbound packets with CSRCs, header extensions and padding built byte by byte.
 *
 * Replay protection is checked against a plain model of RFC 3711 §3.3.2 (a set of accepted indices and a 64-packet
 * window) over long random traffic with reordering, duplicates and two sequence-number wraps.
 */
import t from "tap";
import { createCipheriv, createHmac, randomBytes } from "node:crypto";
import { RtpHeader, SrtpSession } from "werift";
import {
  SrtpTransform,
  readRtpHeader,
  type RtpHeaderFields,
  type SrtpProfile,
  type SrtpSessionKeys,
} from "../../../../media/webrtc/SrtpTransform.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const PROFILES: readonly SrtpProfile[] = ["AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_80"];
const WERIFT_PROFILE: Record<SrtpProfile, number> = { AES_CM_128_HMAC_SHA1_80: 1, AEAD_AES_128_GCM: 7 };

const fields = (): RtpHeaderFields => ({
  payloadType: 0,
  marker: false,
  sequenceNumber: 0,
  timestamp: 0,
  ssrc: 0,
  payloadOffset: 0,
});

/** Deterministic PRNG (mulberry32) so that a failing random case can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

/**
 * One direction A→B keyed like DTLS-SRTP would: werift's sender session (local = A), werift's receiver session
 * (remote = A) and the session keys of A, exactly as FastRtpPath reads them from werift's context.
 */
function direction(
  profile: SrtpProfile,
  seed = 1,
): { wTx: SrtpSession; wRx: SrtpSession; keys: SrtpSessionKeys; tagLength: number } {
  const saltLength = profile === "AEAD_AES_128_GCM" ? 12 : 14;
  const r = prng(seed);
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
  const mkA = bytes(16);
  const msA = bytes(saltLength);
  const mkB = bytes(16);
  const msB = bytes(saltLength);
  const p = WERIFT_PROFILE[profile];
  const wTx = new SrtpSession({
    keys: { localMasterKey: mkA, localMasterSalt: msA, remoteMasterKey: mkB, remoteMasterSalt: msB },
    profile: p,
  });
  const wRx = new SrtpSession({
    keys: { localMasterKey: mkB, localMasterSalt: msB, remoteMasterKey: mkA, remoteMasterSalt: msA },
    profile: p,
  });
  const c = wTx.localContext;
  return {
    wTx,
    wRx,
    keys: { key: c.srtpSessionKey, salt: c.srtpSessionSalt, authKey: c.srtpSessionAuthTag },
    tagLength: profile === "AEAD_AES_128_GCM" ? 16 : 10,
  };
}

interface PlainRtp {
  payloadType: number;
  marker: boolean;
  seq: number;
  timestamp: number;
  ssrc: number;
  csrc?: number[];
  /** Header extension: profile and data (length padded to 32-bit words by the caller). */
  ext?: { profile: number; data: Buffer };
  /** Padding octets to append (count in the last one); 0 = no P bit. */
  padding?: number;
  payload: Buffer;
}

/** An unprotected RTP packet, byte by byte (RFC 3550 §5.1, §5.3.1). */
function buildPlain(p: PlainRtp): { packet: Buffer; headerLength: number } {
  const csrc = p.csrc ?? [];
  const extLen = p.ext === undefined ? 0 : 4 + p.ext.data.length;
  const pad = p.padding ?? 0;
  const headerLength = 12 + 4 * csrc.length + extLen;
  const b = Buffer.alloc(headerLength + p.payload.length + pad);
  b[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (p.ext !== undefined ? 0x10 : 0) | csrc.length;
  b[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  b.writeUInt16BE(p.seq & 0xffff, 2);
  b.writeUInt32BE(p.timestamp >>> 0, 4);
  b.writeUInt32BE(p.ssrc >>> 0, 8);
  csrc.forEach((c, i) => b.writeUInt32BE(c >>> 0, 12 + 4 * i));
  if (p.ext !== undefined) {
    const o = 12 + 4 * csrc.length;
    b.writeUInt16BE(p.ext.profile, o);
    b.writeUInt16BE(p.ext.data.length / 4, o + 2);
    p.ext.data.copy(b, o + 4);
  }
  p.payload.copy(b, headerLength);
  if (pad > 0) {
    b[b.length - 1] = pad;
  }
  return { packet: b, headerLength };
}

/**
 * Reference SRTP protection written from the RFC text: RFC 7714 §8.1 (GCM: IV = salt XOR 00 00‖SSRC‖ROC‖SEQ, AAD =
 * header) and RFC 3711 §4.1.1/§4.2 (AES-CM: IV = salt·2^16 XOR SSRC·2^64 XOR index·2^16, tag = HMAC-SHA1 over the
 * packet and ROC, 80 bits).
 */
function referenceProtect(
  profile: SrtpProfile,
  keys: SrtpSessionKeys,
  plain: Buffer,
  headerLength: number,
  roc: number,
): Buffer {
  const header = plain.subarray(0, headerLength);
  const body = plain.subarray(headerLength);
  const ssrc = plain.readUInt32BE(8);
  const seq = plain.readUInt16BE(2);
  if (profile === "AEAD_AES_128_GCM") {
    const iv = Buffer.alloc(12);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < 12; i++) {
      iv[i]! ^= keys.salt[i]!;
    }
    const c = createCipheriv("aes-128-gcm", keys.key, iv);
    c.setAAD(header);
    const enc = Buffer.concat([c.update(body), c.final()]);
    return Buffer.concat([header, enc, c.getAuthTag()]);
  }
  const iv = Buffer.alloc(16);
  keys.salt.subarray(0, 14).copy(iv, 0);
  const x = Buffer.alloc(16);
  x.writeUInt32BE(ssrc, 4);
  x.writeUInt32BE(roc, 8);
  x.writeUInt16BE(seq, 12);
  for (let i = 0; i < 16; i++) {
    iv[i]! ^= x[i]!;
  }
  const c = createCipheriv("aes-128-ctr", keys.key, iv);
  const enc = Buffer.concat([c.update(body), c.final()]);
  const rocBytes = Buffer.alloc(4);
  rocBytes.writeUInt32BE(roc);
  const tag = createHmac("sha1", keys.authKey).update(header).update(enc).update(rocBytes).digest().subarray(0, 10);
  return Buffer.concat([header, enc, tag]);
}

// ------------------------------------------------------------------------------------------- known answers

t.test("RFC 7714 §16.1.1: AEAD_AES_128_GCM packet, protect and unprotect", (t) => {
  const keys = {
    key: hex("000102030405060708090a0b0c0d0e0f"),
    salt: hex("517569642070726f2071756f"),
    authKey: hex(""),
  };
  const payload = Buffer.from("Gallia est omnis divisa in partes tres", "ascii");
  const expected = hex(`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
    51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`);
  const tx = new SrtpTransform("AEAD_AES_128_GCM", keys);
  t.equal(tx.tagLength, 16);
  const out = tx.protect(0x5501a0b2, 64, 0xf17b, 0x8041f8d3, false, payload);
  t.equal(out.toString("hex"), expected.toString("hex"), "protected packet is the RFC's");
  const rx = new SrtpTransform("AEAD_AES_128_GCM", keys);
  const h = fields();
  const plain = rx.unprotect(expected, h);
  t.equal(plain?.toString("ascii"), "Gallia est omnis divisa in partes tres");
  t.same(h, {
    payloadType: 64,
    marker: false,
    sequenceNumber: 0xf17b,
    timestamp: 0x8041f8d3,
    ssrc: 0x5501a0b2,
    payloadOffset: 12,
  });
  t.equal(rx.lastDrop, undefined);
  t.end();
});

t.test("RFC 3711 B.2: AES-CM keystream for SSRC 0, index 0, and the 80-bit HMAC-SHA1 tag", (t) => {
  const keys = {
    key: hex("2B7E151628AED2A6ABF7158809CF4F3C"),
    salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
    authKey: hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"),
  };
  const tx = new SrtpTransform("AES_CM_128_HMAC_SHA1_80", keys);
  t.equal(tx.tagLength, 10);
  const out = tx.protect(0, 0, 0, 0, false, Buffer.alloc(48));
  t.equal(out.length, 12 + 48 + 10);
  t.equal(
    out.subarray(12, 60).toString("hex").toUpperCase(),
    "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0",
    "ciphertext of zeros is the RFC keystream",
  );
  const tag = createHmac("sha1", keys.authKey)
    .update(out.subarray(0, 60))
    .update(Buffer.alloc(4))
    .digest()
    .subarray(0, 10);
  t.equal(out.subarray(60).toString("hex"), tag.toString("hex"), "tag = HMAC-SHA1(k_a, packet ‖ ROC=0)[0..10]");
  t.end();
});

// ------------------------------------------------------------------------------------------- werift interop

t.test("our protect → werift unprotect, sizes across AES block and counter-buffer boundaries", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 11);
    const tx = new SrtpTransform(profile, d.keys);
    const sizes = [0, 1, 15, 16, 17, 160, 1200, 1535, 1536, 1537, 4200];
    let seq = 65530;
    for (const [i, size] of sizes.entries()) {
      const payload = randomBytes(size);
      const pt = i % 2 === 0 ? 111 : 96;
      const ts = (0xfffff000 + i * 960) >>> 0;
      const out = tx.protect(0xcafe0001, pt, seq, ts, i % 3 === 0, payload);
      t.equal(out.length, 12 + size + d.tagLength, `${profile} ${size}: length`);
      const dec = d.wRx.decrypt(out);
      const wh = RtpHeader.deSerialize(dec);
      t.equal(dec.subarray(wh.payloadOffset).toString("hex"), payload.toString("hex"), `${profile} ${size}: payload`);
      t.equal(wh.payloadType, pt);
      t.equal(wh.sequenceNumber, seq);
      t.equal(wh.timestamp, ts);
      t.equal(wh.ssrc, 0xcafe0001);
      t.equal(wh.marker, i % 3 === 0);
      seq = (seq + 1) & 0xffff; // crosses 65535 → 0: werift must agree on ROC 1
    }
  }
  t.end();
});

t.test("werift protect (CSRCs, one- and two-byte extensions, padding) → our unprotect", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 12);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    for (let i = 0; i < 40; i++) {
      const seq = (65500 + i) & 0xffff;
      const payload = randomBytes(20 + i * 7);
      const pad = i % 4 === 0 ? 1 + (i % 13) : 0;
      const header = new RtpHeader({
        payloadType: 96 + (i % 4),
        sequenceNumber: seq,
        timestamp: 1000 * i,
        ssrc: 0x01020304,
        marker: i % 2 === 1,
        csrc: i % 3 === 0 ? [0xa, 0xb, 0xc] : [],
        extension: i % 5 !== 4,
        extensionProfile: i % 2 === 0 ? 0xbede : 0x1000,
        extensions: i % 5 !== 4 ? [{ id: 1 + (i % 14), payload: Buffer.from([i, 2, 3]) }] : [],
        padding: pad > 0,
      });
      const body = Buffer.concat([payload, Buffer.alloc(pad)]);
      if (pad > 0) {
        body[body.length - 1] = pad;
      }
      const enc = d.wTx.encrypt(body, header);
      const plain = rx.unprotect(enc, h);
      t.equal(plain?.toString("hex"), payload.toString("hex"), `${profile} #${i}: payload without padding`);
      const ref = RtpHeader.deSerialize(enc);
      t.equal(h.payloadOffset, ref.payloadOffset, `${profile} #${i}: payload offset after CSRCs/extension`);
      t.equal(h.sequenceNumber, seq);
      t.equal(h.payloadType, 96 + (i % 4));
      t.equal(h.marker, i % 2 === 1);
      t.equal(h.timestamp, 1000 * i);
      t.equal(h.ssrc, 0x01020304);
    }
  }
  t.end();
});

t.test("hand-built packets (RFC reference protector) decrypt the same in werift and SrtpTransform", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 13);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    const cases: PlainRtp[] = [
      { payloadType: 111, marker: false, seq: 10, timestamp: 1, ssrc: 7, payload: Buffer.from("plain") },
      {
        payloadType: 96,
        marker: true,
        seq: 11,
        timestamp: 2,
        ssrc: 7,
        csrc: [1, 2, 3, 4, 5],
        payload: randomBytes(33),
      },
      {
        payloadType: 96,
        marker: false,
        seq: 12,
        timestamp: 3,
        ssrc: 7,
        ext: { profile: 0xbede, data: hex("10ff2001020000 00") },
        payload: randomBytes(100),
      },
      {
        payloadType: 100,
        marker: true,
        seq: 13,
        timestamp: 4,
        ssrc: 7,
        csrc: [9],
        ext: { profile: 0x1000, data: hex("0103aabbcc000000") },
        padding: 4,
        payload: randomBytes(17),
      },
      // Padding only (RFC 3550: the count octet may cover the whole payload).
      { payloadType: 96, marker: false, seq: 14, timestamp: 5, ssrc: 7, padding: 8, payload: Buffer.alloc(0) },
      // Empty extension (length 0) and an empty payload.
      {
        payloadType: 96,
        marker: false,
        seq: 15,
        timestamp: 6,
        ssrc: 7,
        ext: { profile: 0xbede, data: Buffer.alloc(0) },
        payload: Buffer.alloc(0),
      },
    ];
    for (const c of cases) {
      const { packet, headerLength } = buildPlain(c);
      const enc = referenceProtect(profile, d.keys, packet, headerLength, 0);
      const w = d.wRx.decrypt(enc);
      t.equal(
        w.toString("hex"),
        packet.toString("hex"),
        `${profile} seq ${c.seq}: werift accepts the reference packet`,
      );
      const plain = rx.unprotect(enc, h);
      t.equal(plain?.toString("hex"), c.payload.toString("hex"), `${profile} seq ${c.seq}: payload`);
      t.equal(h.payloadOffset, headerLength, `${profile} seq ${c.seq}: payload offset`);
      t.equal(h.marker, c.marker);
      t.equal(h.payloadType, c.payloadType);
    }
  }
  t.end();
});

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
      const rx = new SrtpTransform(profile, d.keys);
      const h = fields();
      // Byte 18 is the high byte of the extension length: flipping it makes the extension run past the packet.
      const extLengthHigh = 12 + 4 + 2;
      let auth = 0;
      for (let i = 0; i < enc.length; i++) {
        const bad = Buffer.from(enc);
        bad[i]! ^= 0x01;
        const got = rx.unprotect(bad, h) === undefined ? rx.lastDrop : "accepted";
        const want = i === extLengthHigh ? "malformed" : "auth";
        if (got === want) {
          auth++;
        } else {
          t.fail(`${profile}: byte ${i} flipped → ${got}, want ${want}`);
        }
      }
      t.equal(auth, enc.length, `${profile}: every single-bit change is refused`);
      t.equal(rx.unprotect(enc.subarray(0, enc.length - 1), h), undefined, "truncated tag");
      t.equal(rx.lastDrop, "auth");
      const plain = rx.unprotect(enc, h);
      t.equal(plain?.toString("hex"), packet.subarray(headerLength).toString("hex"), `${profile}: genuine accepted`);
      // Wrong keys (the other direction's) → auth.
      const other = direction(profile, 15);
      const wrong = new SrtpTransform(profile, other.keys);
      t.equal(wrong.unprotect(enc, h), undefined);
      t.equal(wrong.lastDrop, "auth", `${profile}: other keys`);
    }
    t.end();
  },
);

t.test("a forged packet far ahead (failing auth) does not move the ROC or the replay window", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 16);
    const tx = new SrtpTransform(profile, d.keys);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    t.equal(rx.unprotect(tx.protect(1, 96, 60000, 0, false, Buffer.from("a")), h)?.toString(), "a");
    // The same packet with seq 100: taken as ROC 1 (index 65,636, far ahead), but it fails authentication.
    const forged = tx.protect(1, 96, 60001, 0, false, Buffer.from("b"));
    const genuine = Buffer.from(forged);
    forged.writeUInt16BE(100, 2);
    t.equal(rx.unprotect(forged, h), undefined);
    t.equal(rx.lastDrop, "auth", `${profile}: forged seq refused`);
    // Had the state moved to ROC 1 / index 65,636, 60001 (ROC 0) would now be "replay" or fail auth.
    t.equal(rx.unprotect(genuine, h)?.toString(), "b", `${profile}: ROC and window unchanged`);
  }
  t.end();
});

// ------------------------------------------------------------------------------------------- replay window

t.test("replay: the same packet twice, reordering within the window once each, older than 64 refused", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 17);
    const tx = new SrtpTransform(profile, d.keys);
    const pkts = new Map<number, Buffer>();
    for (let s = 900; s <= 1100; s++) {
      pkts.set(s, tx.protect(0x77, 96, s, s * 10, false, Buffer.from(`p${s}`)));
    }
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    const deliver = (s: number): string | undefined => {
      const p = rx.unprotect(pkts.get(s)!, h);
      return p === undefined ? rx.lastDrop : p.toString();
    };
    t.equal(deliver(1000), "p1000");
    t.equal(deliver(1000), "replay", `${profile}: same packet again`);
    t.equal(deliver(1000 - 63), "p937", "63 behind the highest: inside the window");
    t.equal(deliver(1000 - 63), "replay");
    t.equal(deliver(1000 - 64), "replay", "64 behind: outside the window");
    t.equal(deliver(900), "replay");
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
      if (deliver(s) === "replay") {
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
    const tx = new SrtpTransform(profile, d.keys);
    const pkts: Buffer[] = [];
    for (let s = 0; s < 3000; s++) {
      pkts.push(tx.protect(5, 96, s, 0, false, Buffer.from([s & 0xff])));
    }
    let mismatches = 0;
    for (let shift = 1; shift <= 70; shift++) {
      // Accept 100, 100 + shift; then probe every index from 100 + shift - 70 to 100 + shift.
      for (let probe = 100 + shift - 70; probe <= 100 + shift; probe++) {
        const rx = new SrtpTransform(profile, d.keys);
        const h = fields();
        rx.unprotect(pkts[100]!, h);
        rx.unprotect(pkts[100 + shift]!, h);
        const got = rx.unprotect(pkts[probe]!, h) === undefined ? rx.lastDrop : "ok";
        const max = 100 + shift;
        const want = probe === 100 || probe === max || max - probe >= 64 ? "replay" : "ok";
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
    const tx = new SrtpTransform(profile, d.keys);
    const rand = prng(profile === "AEAD_AES_128_GCM" ? 7 : 8);
    // Sender: 70,000 consecutive packets from seq 63,000 (index 63,000 .. 132,999: ROC 0, 1, 2).
    const start = 63_000;
    const n = 70_000;
    const sent: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const index = start + i;
      sent.push(
        tx.protect(0xabc, 96, index & 0xffff, index * 3, false, Buffer.from([index & 0xff, (index >> 8) & 0xff])),
      );
    }
    // Receiver: mostly in order, with local shuffles, duplicates, late packets and losses.
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    const accepted = new Set<number>();
    let max = -1;
    let mismatches = 0;
    let acceptedCount = 0;
    let replayCount = 0;
    const deliver = (i: number): void => {
      const index = start + i;
      const p = rx.unprotect(sent[i]!, h);
      const want = max >= 0 && index <= max && (max - index >= 64 || accepted.has(index)) ? "replay" : "ok";
      const got = p === undefined ? rx.lastDrop : "ok";
      if (got === "ok") {
        if (p![0] !== (index & 0xff) || p![1] !== ((index >> 8) & 0xff) || h.sequenceNumber !== (index & 0xffff)) {
          mismatches++;
        }
        accepted.add(index);
        max = Math.max(max, index);
        acceptedCount++;
      } else if (got === "replay") {
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

t.test("sequence wrap: ROC follows on both sides over 8,000 packets, with werift on the other end", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 20);
    // Ours → werift and ours → ours.
    const tx = new SrtpTransform(profile, d.keys);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    let okOurs = 0;
    let okWerift = 0;
    for (let i = 0; i < 8000; i++) {
      const seq = (62_000 + i) & 0xffff;
      const payload = Buffer.from(`n${i}`);
      const out = tx.protect(0x99, 111, seq, i * 960, false, payload);
      if (rx.unprotect(out, h)?.equals(payload) === true && h.sequenceNumber === seq) {
        okOurs++;
      }
      try {
        const dec = d.wRx.decrypt(out);
        if (dec.subarray(12).equals(payload)) {
          okWerift++;
        }
      } catch {
        // counted as a failure
      }
    }
    t.equal(okOurs, 8000, `${profile}: ours → ours`);
    t.equal(okWerift, 8000, `${profile}: ours → werift`);
    // werift → ours, same wrap.
    const rx2 = new SrtpTransform(profile, d.keys);
    let okFromWerift = 0;
    for (let i = 0; i < 8000; i++) {
      const seq = (62_000 + i) & 0xffff;
      const payload = Buffer.from(`w${i}`);
      const enc = d.wTx.encrypt(payload, new RtpHeader({ payloadType: 111, sequenceNumber: seq, ssrc: 0x98 }));
      if (rx2.unprotect(enc, h)?.equals(payload) === true) {
        okFromWerift++;
      }
    }
    t.equal(okFromWerift, 8000, `${profile}: werift → ours`);
    // Reordered across the wrap: 0 before 65535 at the receiver.
    const tx3 = new SrtpTransform(profile, d.keys);
    const rx3 = new SrtpTransform(profile, d.keys);
    const p65534 = tx3.protect(3, 96, 65534, 0, false, Buffer.from("a"));
    const p65535 = tx3.protect(3, 96, 65535, 0, false, Buffer.from("b"));
    const p0 = tx3.protect(3, 96, 0, 0, false, Buffer.from("c"));
    const p1 = tx3.protect(3, 96, 1, 0, false, Buffer.from("d"));
    const got = [p65534, p0, p65535, p1, p0, p65535].map((p) => rx3.unprotect(p, h)?.toString() ?? rx3.lastDrop);
    t.same(got, ["a", "c", "b", "d", "replay", "replay"], `${profile}: late 65535 after 0 uses ROC 0`);
  }
  t.end();
});

t.test("SSRCs keep separate ROC and replay state", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 21);
    const tx = new SrtpTransform(profile, d.keys);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    const a1 = tx.protect(1, 96, 65535, 0, false, Buffer.from("a1"));
    const a2 = tx.protect(1, 96, 0, 0, false, Buffer.from("a2")); // ROC 1 for SSRC 1
    const b1 = tx.protect(2, 96, 0, 0, false, Buffer.from("b1")); // ROC 0 for SSRC 2
    const b2 = tx.protect(2, 96, 1, 0, false, Buffer.from("b2"));
    const got = [a1, b1, a2, b2, b1].map((p) => rx.unprotect(p, h)?.toString() ?? rx.lastDrop);
    t.same(got, ["a1", "b1", "a2", "b2", "replay"], profile);
  }
  t.end();
});

// ------------------------------------------------------------------------------------------- malformed input

t.test("malformed datagrams → 'malformed', never an exception", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 22);
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    const tag = d.tagLength;
    const check = (buf: Buffer, what: string): void => {
      let out: Buffer | undefined;
      t.doesNotThrow(() => {
        out = rx.unprotect(buf, h);
      }, what);
      t.equal(out, undefined, `${profile}: ${what} refused`);
      t.equal(rx.lastDrop, "malformed", `${profile}: ${what} → malformed`);
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
    t.equal(rx.unprotect(x4, h), undefined);
    t.equal(rx.lastDrop, "auth", `${profile}: extension up to the tag is well formed`);
  }
  t.end();
});

t.test("authenticated packets with an impossible padding count → 'malformed', window untouched", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 23);
    const rx = new SrtpTransform(profile, d.keys);
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
    const zero = mk(10, Buffer.from([1, 2, 3, 0]));
    t.equal(rx.unprotect(zero, h), undefined);
    t.equal(rx.lastDrop, "malformed", `${profile}: padding count 0`);
    const tooBig = mk(11, Buffer.from([1, 2, 3, 5]));
    t.equal(rx.unprotect(tooBig, h), undefined);
    t.equal(rx.lastDrop, "malformed", `${profile}: padding count larger than the payload`);
    const all = mk(12, Buffer.from([9, 9, 9, 4]));
    t.equal(rx.unprotect(all, h)?.length, 0, `${profile}: padding covering the whole payload`);
    // The refused ones were not recorded: a well-formed packet with seq 10 is still new.
    const good = referenceProtect(
      profile,
      d.keys,
      buildPlain({ payloadType: 96, marker: false, seq: 10, timestamp: 0, ssrc: 4, payload: Buffer.from("ok") }).packet,
      12,
      0,
    );
    t.equal(rx.unprotect(good, h)?.toString(), "ok", `${profile}: index of a malformed packet not marked received`);
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
    const rx = new SrtpTransform(profile, d.keys);
    const h = fields();
    t.equal(rx.unprotect(enc, h), undefined, `${profile}: refused`);
    t.equal(rx.lastDrop, "malformed", `${profile}: malformed (RFC 3550 A.1: P needs a valid count octet)`);
  }
  t.end();
});

t.test("fuzz: 30,000 random and mutated datagrams never throw and never authenticate", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 25);
    const tx = new SrtpTransform(profile, d.keys);
    const genuine = tx.protect(8, 96, 100, 0, false, randomBytes(60));
    const rx = new SrtpTransform(profile, d.keys);
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
        if (rx.unprotect(b, h) !== undefined) {
          accepted++;
        }
        reasons.add(rx.lastDrop ?? "none");
      } catch {
        threw++;
      }
    }
    t.equal(threw, 0, `${profile}: no exception`);
    t.equal(accepted, 0, `${profile}: nothing forged authenticates`);
    t.same([...reasons].sort(), ["auth", "malformed"], `${profile}: reasons seen`);
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

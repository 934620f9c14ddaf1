/**
 * Interop of the unified SRTP (media/srtp/SrtpSession) with an independent implementation, werift's own SRTP and
 * SRTCP classes (the code browsers' packets meet on werift's path), both directions, for the two profiles werift
 * negotiates (AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM), keyed with the same master keys the DTLS-SRTP exporter
 * gives both sides; and hand-built packets (CSRCs, extensions, padding) from a reference protector written from the
 * RFC text, which werift and ours must both read the same.
 *
 * Moved from test/unit/media/webrtc/SrtpTransform.test.ts, with SRTCP and the key derivation added.
 */
import t from "tap";
import { randomBytes } from "node:crypto";
import { RtpHeader } from "werift";
import { rtpHeaderFields as fields } from "../../../../media/srtp/rtpHeader.js";
import {
  PROFILES,
  buildPlain,
  bytes,
  direction,
  hex,
  referenceProtect,
  rtp,
  sealed,
  text,
  type PlainRtp,
} from "./fixtures/srtpPeers.js";

t.test("DTLS-SRTP master keys: our session keys are werift's (AES-CM, and GCM with its 96-bit salt)", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 10);
    const ours = d.session();
    const w = d.wTx.localContext;
    t.equal(ours.rtpKeys.encryption.toString("hex"), w.srtpSessionKey.toString("hex"), `${profile}: SRTP k_e`);
    t.equal(
      ours.rtpKeys.salt.toString("hex"),
      w.srtpSessionSalt.subarray(0, ours.suite.saltLength).toString("hex"),
      `${profile}: SRTP k_s`,
    );
    t.equal(ours.rtcpKeys.encryption.toString("hex"), w.srtcpSessionKey.toString("hex"), `${profile}: SRTCP k_e`);
    if (profile === "AES_CM_128_HMAC_SHA1_80") {
      t.equal(ours.rtpKeys.auth.toString("hex"), w.srtpSessionAuthTag.toString("hex"), "SRTP k_a");
      t.equal(ours.rtcpKeys.auth.toString("hex"), w.srtcpSessionAuthTag.toString("hex"), "SRTCP k_a");
    }
  }
  t.end();
});

// ------------------------------------------------------------------------------------------- werift interop

t.test("our protect → werift unprotect, sizes across AES block and counter-buffer boundaries", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 11);
    const tx = d.session();
    const sizes = [0, 1, 15, 16, 17, 160, 1200, 1535, 1536, 1537, 4200];
    let seq = 65530;
    for (const [i, size] of sizes.entries()) {
      const payload = randomBytes(size);
      const pt = i % 2 === 0 ? 111 : 96;
      const ts = (0xfffff000 + i * 960) >>> 0;
      const out = sealed(tx.protect(rtp(0xcafe0001, pt, seq, ts, i % 3 === 0), payload));
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
    const rx = d.session();
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

t.test("hand-built packets (RFC reference protector) decrypt the same in werift and SrtpSession", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 13);
    const rx = d.session();
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

t.test("sequence wrap: ROC follows on both sides over 8,000 packets, with werift on the other end", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 20);
    // Ours → werift and ours → ours.
    const tx = d.session();
    const rx = d.session();
    const h = fields();
    let okOurs = 0;
    let okWerift = 0;
    for (let i = 0; i < 8000; i++) {
      const seq = (62_000 + i) & 0xffff;
      const payload = Buffer.from(`n${i}`);
      const out = sealed(tx.protect(rtp(0x99, 111, seq, i * 960, false), payload));
      if (bytes(rx.unprotect(out, h))?.equals(payload) === true && h.sequenceNumber === seq) {
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
    const rx2 = d.session();
    let okFromWerift = 0;
    for (let i = 0; i < 8000; i++) {
      const seq = (62_000 + i) & 0xffff;
      const payload = Buffer.from(`w${i}`);
      const enc = d.wTx.encrypt(payload, new RtpHeader({ payloadType: 111, sequenceNumber: seq, ssrc: 0x98 }));
      if (bytes(rx2.unprotect(enc, h))?.equals(payload) === true) {
        okFromWerift++;
      }
    }
    t.equal(okFromWerift, 8000, `${profile}: werift → ours`);
    // Reordered across the wrap: 0 before 65535 at the receiver.
    const tx3 = d.session();
    const rx3 = d.session();
    const p65534 = sealed(tx3.protect(rtp(3, 96, 65534, 0, false), Buffer.from("a")));
    const p65535 = sealed(tx3.protect(rtp(3, 96, 65535, 0, false), Buffer.from("b")));
    const p0 = sealed(tx3.protect(rtp(3, 96, 0, 0, false), Buffer.from("c")));
    const p1 = sealed(tx3.protect(rtp(3, 96, 1, 0, false), Buffer.from("d")));
    const got = [p65534, p0, p65535, p1, p0, p65535].map((p) => text(rx3.unprotect(p, h)));
    t.same(got, ["a", "c", "b", "d", "replay", "replay"], `${profile}: late 65535 after 0 uses ROC 0`);
  }
  t.end();
});

t.test("SRTCP both ways with werift: compound reports, E flag, index, replay", (t) => {
  for (const profile of PROFILES) {
    const d = direction(profile, 26);
    const tx = d.session();
    const rx = d.session();
    for (let i = 0; i < 40; i++) {
      // A receiver report with one report block, then an SDES CNAME chunk (a compound packet, RFC 3550 §6.1).
      const rr = Buffer.alloc(32);
      rr.writeUInt32BE(0x81c9_0007, 0);
      rr.writeUInt32BE(0x1234_5678, 4);
      rr.writeUInt32BE(0x9abc_def0 + i, 8);
      const sdes = Buffer.from(hex("81ca0004 12345678 01076b6f 72757321 00000000"));
      const plain = Buffer.concat([rr, sdes]);
      const ours = sealed(tx.protectRtcp(plain));
      t.equal(ours.length, plain.length + 4 + d.tagLength, `${profile} #${i}: length`);
      const byWerift = d.wRtcpRx.decrypt(ours);
      t.equal(byWerift.toString("hex"), plain.toString("hex"), `${profile} #${i}: ours → werift`);
      const fromWerift = d.wRtcpTx.encrypt(plain);
      const back = rx.unprotectRtcp(fromWerift);
      t.equal(typeof back === "string" ? back : back.toString("hex"), plain.toString("hex"), `werift → ours #${i}`);
      if (i === 0) {
        t.equal(rx.unprotectRtcp(fromWerift), "replay", `${profile}: werift's SRTCP index 0 again`);
      }
    }
  }
  t.end();
});

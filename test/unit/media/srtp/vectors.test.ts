/**
 * Published known answers for the SRTP transforms, through SrtpSession: RFC 7714 §16 (AEAD_AES_128_GCM and
 * AEAD_AES_256_GCM SRTP packets) and §17 (SRTCP, encrypted and tag-only), and the RFC 3711 B.2 AES-CM keystream with
 * its HMAC-SHA1 tag. RFC 7714 states its vectors under session keys, so the session is built from them directly; the
 * key derivation is pinned by RFC 3711 B.3 in SrtpSession.test.ts and against werift in werift.test.ts.
 */
import t from "tap";
import { createHmac } from "node:crypto";
import { rtpHeaderFields } from "../../../../media/srtp/rtpHeader.js";
import { SrtpSession } from "../../../../media/srtp/SrtpSession.js";
import { GCM_SUITES, findSuite, type SrtpSuite } from "../../../../media/srtp/SrtpSuite.js";
import { hex, rtp, sealed, sessionKeys } from "./fixtures/srtpPeers.js";

const GCM128 = GCM_SUITES[0]!;
const GCM256 = GCM_SUITES[1]!;
const KEY_128 = hex("000102030405060708090a0b0c0d0e0f");
const KEY_256 = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
/** "Quid pro quo". */
const SALT = hex("517569642070726f2071756f");
const GALLIA = "Gallia est omnis divisa in partes tres";
/** §16: the plain packet (SSRC 0x5501a0b2, SEQ 0xf17b, PT 64, timestamp 0x8041f8d3). */
const RTP = hex(`8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465
  73207472 6573`);
/** §17: the RTCP packet every SRTCP vector operates on (SSRC "Mars"), sent with SRTCP index 0x5d4. */
const RTCP = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef deadbeef
  deadbeef deadbeef`);
const SRTCP_INDEX = 0x5d4;

const VECTORS: { suite: SrtpSuite; key: Buffer; srtp: Buffer; srtcp: Buffer; section: string }[] = [
  {
    suite: GCM128,
    key: KEY_128,
    section: "16.1.1 / 17.1",
    srtp: hex(`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a
      51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`),
    srtcp: hex(`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda
      4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`),
  },
  {
    suite: GCM256,
    key: KEY_256,
    section: "16.2.1 / 17.2",
    srtp: hex(`8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238 9a58e2f3 b50b2a02
      76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13`),
    srtcp: hex(`81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50 a2eaa5c1 110555be
      8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`),
  },
];

for (const v of VECTORS) {
  t.test(`RFC 7714 §${v.section}: ${v.suite.name} SRTP and SRTCP, protect and unprotect`, (t) => {
    const keys = sessionKeys(v.key, SALT);
    const tx = new SrtpSession(v.suite, keys);
    t.equal(tx.tagLength, 16);
    t.equal(sealed(tx.protectRtp(RTP, 12)).toString("hex"), v.srtp.toString("hex"), "whole-packet protect");
    const tx2 = new SrtpSession(v.suite, keys);
    const fields = sealed(tx2.protect(rtp(0x5501a0b2, 64, 0xf17b, 0x8041f8d3, false), Buffer.from(GALLIA, "ascii")));
    t.equal(fields.toString("hex"), v.srtp.toString("hex"), "protect from header fields");
    const rx = new SrtpSession(v.suite, keys);
    const plain = rx.unprotectRtp(v.srtp, 12);
    t.equal(typeof plain === "string" ? plain : plain.toString("hex"), RTP.toString("hex"), "whole-packet unprotect");
    const h = rtpHeaderFields();
    const payload = new SrtpSession(v.suite, keys).unprotect(v.srtp, h);
    t.equal(typeof payload === "string" ? payload : payload.toString("ascii"), GALLIA);
    t.same(h, {
      payloadType: 64,
      marker: false,
      sequenceNumber: 0xf17b,
      timestamp: 0x8041f8d3,
      ssrc: 0x5501a0b2,
      payloadOffset: 12,
    });
    const bad = Buffer.from(v.srtp);
    bad[20]! ^= 0x01;
    t.equal(new SrtpSession(v.suite, keys).unprotectRtp(bad, 12), "auth-failed", "a flipped bit fails");

    // SRTCP: the sender counts its index from 0; wind it to the vector's.
    const rtcpTx = new SrtpSession(v.suite, keys);
    for (let i = 0; i < SRTCP_INDEX; i++) {
      sealed(rtcpTx.protectRtcp(RTCP));
    }
    t.equal(sealed(rtcpTx.protectRtcp(RTCP)).toString("hex"), v.srtcp.toString("hex"), "SRTCP protect, index 0x5d4");
    const rtcpRx = new SrtpSession(v.suite, keys);
    const rtcp = rtcpRx.unprotectRtcp(v.srtcp);
    t.equal(typeof rtcp === "string" ? rtcp : rtcp.toString("hex"), RTCP.toString("hex"), "SRTCP unprotect");
    t.equal(rtcpRx.unprotectRtcp(v.srtcp), "replay", "the same SRTCP index again");
    const altered = Buffer.from(v.srtcp);
    altered[altered.length - 1]! ^= 0x01; // index 0x5d5: the IV and the associated data change
    t.equal(new SrtpSession(v.suite, keys).unprotectRtcp(altered), "auth-failed", "altered SRTCP index");
    t.end();
  });
}

t.test("RFC 7714 §17.3: SRTCP with E = 0 (tagged, not encrypted) is accepted as is", (t) => {
  const tagged = hex(`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61 deadbeef deadbeef
    deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4`);
  const rx = new SrtpSession(GCM128, sessionKeys(KEY_128, SALT));
  const out = rx.unprotectRtcp(tagged);
  t.equal(typeof out === "string" ? out : out.toString("hex"), RTCP.toString("hex"));
  const bad = Buffer.from(tagged);
  bad[30]! ^= 0x08;
  t.equal(new SrtpSession(GCM128, sessionKeys(KEY_128, SALT)).unprotectRtcp(bad), "auth-failed", "E=0 is tagged");
  t.end();
});

t.test("RFC 3711 B.2: AES-CM keystream for SSRC 0, index 0, and the 80-bit HMAC-SHA1 tag", (t) => {
  const suite = findSuite("AES_CM_128_HMAC_SHA1_80")!;
  const authKey = hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  const keys = sessionKeys(hex("2B7E151628AED2A6ABF7158809CF4F3C"), hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), authKey);
  const tx = new SrtpSession(suite, keys);
  t.equal(tx.tagLength, 10);
  const out = sealed(tx.protect(rtp(0, 0, 0, 0, false), Buffer.alloc(48)));
  t.equal(out.length, 12 + 48 + 10);
  t.equal(
    out.subarray(12, 60).toString("hex").toUpperCase(),
    "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0",
    "ciphertext of zeros is the RFC keystream",
  );
  const tag = createHmac("sha1", authKey).update(out.subarray(0, 60)).update(Buffer.alloc(4)).digest().subarray(0, 10);
  t.equal(out.subarray(60).toString("hex"), tag.toString("hex"), "tag = HMAC-SHA1(k_a, packet ‖ ROC=0)[0..10]");
  t.end();
});

import t from "tap";
import { randomBytes } from "node:crypto";
import { buildRtp, buildRtp as rtp } from "../../../../media/rtp/RtpPacket.js";
import { buildReceiverReport, buildSdes, cnameChunk, parseRtcp } from "../../../../media/rtp/Rtcp.js";
import { ReplayWindow } from "../../../../media/srtp/ReplayWindow.js";
import { AesCmHmacTransform } from "../../../../media/srtp/AesCmHmacTransform.js";
import { aesCtr, deriveSessionKey } from "../../../../media/srtp/keyDerivation.js";
import { SrtpSession } from "../../../../media/srtp/SrtpSession.js";
import {
  SrtpConfigError,
  decodeKeySalt,
  findSuite,
  parseLifetime,
  type SrtpSuite,
} from "../../../../media/srtp/SrtpSuite.js";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const suite = (n: string): SrtpSuite => {
  const s = findSuite(n);
  if (s === undefined) {
    throw new Error(n);
  }
  return s;
};

/**
 * The keystream the AES-CM transform XORs onto a payload of `length` bytes of packet (ssrc, roc, seq): its output for
 * zeros (header length 0, so the keystream starts at byte 0).
 */
function keystream(key: Buffer, salt: Buffer, ssrc: number, roc: number, seq: number, length: number): Buffer {
  const keys = { encryption: key, auth: Buffer.alloc(20), salt };
  const out = Buffer.alloc(length + 10);
  new AesCmHmacTransform(keys, keys, 10, 10).protectRtp(out, 0, Buffer.alloc(length), 0, { ssrc, roc, seq });
  return out.subarray(0, length);
}

t.test("RFC 3711 B.2: AES-CM keystream from the IV built for SSRC 0, index 0", (t) => {
  const key = hex("2B7E151628AED2A6ABF7158809CF4F3C");
  const salt = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
  const iv = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000");
  const ks = keystream(key, salt, 0, 0, 0, 0xff02 * 16);
  t.ok(ks.equals(aesCtr(key, iv, Buffer.alloc(0xff02 * 16))), "IV = salt · 2^16 for SSRC 0, index 0");
  t.equal(
    ks.subarray(0, 48).toString("hex").toUpperCase(),
    "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0",
  );
  t.equal(
    ks
      .subarray(ks.length - 48)
      .toString("hex")
      .toUpperCase(),
    "EC8CDF7398607CB0F2D21675EA9EA1E4362B7C3C6773516318A077D7FC5073AE6A2CC3787889374FBEB4C81B17BA6C44",
    "last three blocks of the 1044512-octet segment",
  );
  // SSRC and index (ROC 0x5566, SEQ 0x7788) land in the right bytes of the IV.
  t.ok(
    keystream(key, Buffer.alloc(14), 0x11223344, 0x5566, 0x7788, 40).equals(
      aesCtr(key, hex("00000000112233440000556677880000"), Buffer.alloc(40)),
    ),
    "IV 00000000 11223344 00005566 77880000",
  );
  t.end();
});

t.test("RFC 3711 B.3: session key derivation", (t) => {
  const mk = hex("E1F97A0D3E018BE0D64FA32C06DE4139");
  const ms = hex("0EC675AD498AFEEBB6960B3AABE6");
  t.equal(deriveSessionKey(mk, ms, 0, 16).toString("hex").toUpperCase(), "C61E7A93744F39EE10734AFE3FF7A087");
  t.equal(deriveSessionKey(mk, ms, 2, 14).toString("hex").toUpperCase(), "30CBBC08863D8C85D49DB34A9AE1");
  t.equal(
    deriveSessionKey(mk, ms, 1, 94).toString("hex").toUpperCase(),
    "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE" +
      "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25" +
      "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2",
    "94-octet auth key (multi-block)",
  );
  const s = new SrtpSession(suite("AES_CM_128_HMAC_SHA1_80"), Buffer.concat([mk, ms]));
  t.equal(s.rtpKeys.encryption.toString("hex").toUpperCase(), "C61E7A93744F39EE10734AFE3FF7A087");
  t.equal(s.rtpKeys.auth.toString("hex").toUpperCase(), "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4");
  t.equal(s.rtpKeys.salt.toString("hex").toUpperCase(), "30CBBC08863D8C85D49DB34A9AE1");
  t.end();
});

for (const name of ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32", "AES_256_CM_HMAC_SHA1_80"]) {
  t.test(`${name}: protect/unprotect round trip, tampering, replay, ROC across a wrap`, (t) => {
    const su = suite(name);
    const key = randomBytes(su.keyLength + 14);
    const tx = new SrtpSession(su, key);
    const rx = new SrtpSession(su, key);
    const payload = Buffer.from("sixteen byte pay load!");
    let delivered = 0;
    for (let i = 0; i < 70_000; i += 97) {
      const seq = (65000 + i) % 65536;
      const plain = buildRtp(0, false, seq, i * 160, 0xcafe, payload);
      const enc = tx.protectRtp(plain, 12);
      if (typeof enc === "string") {
        t.fail(enc);
        break;
      }
      if (enc.length !== plain.length + su.rtpTagLength) {
        t.fail(`packet ${seq}: ${enc.length} bytes, expected ${plain.length + su.rtpTagLength}`);
        break;
      }
      if (i === 0) {
        const bad = Buffer.from(enc);
        bad[14] = (bad[14] ?? 0) ^ 1;
        t.equal(rx.unprotectRtp(bad, 12), "auth-failed", "a flipped payload bit fails authentication");
      }
      const dec = rx.unprotectRtp(enc, 12);
      if (typeof dec === "string" || !dec.equals(plain)) {
        t.fail(`packet ${seq} did not round-trip: ${typeof dec === "string" ? dec : "bytes differ"}`);
        break;
      }
      delivered++;
      if (i === 0) {
        t.not(enc.subarray(12, 12 + payload.length).toString("hex"), payload.toString("hex"), "payload encrypted");
        t.equal(rx.unprotectRtp(enc, 12), "replay", "the same packet again is a replay");
      }
    }
    t.equal(delivered, Math.ceil(70_000 / 97), "every packet across the 16-bit wrap decrypts (ROC tracked)");
    // A packet encrypted with another key fails.
    const other = new SrtpSession(su, randomBytes(su.keyLength + 14));
    const foreign = other.protectRtp(buildRtp(0, false, 3, 0, 0xbeef, payload), 12);
    t.equal(typeof foreign === "string" ? foreign : rx.unprotectRtp(foreign, 12), "auth-failed");
    t.equal(rx.unprotectRtp(Buffer.alloc(5), 12), "too-short");
    t.end();
  });
}

t.test("SRTCP: index, E flag, encryption of everything after 8 bytes, replay", (t) => {
  const su = suite("AES_CM_128_HMAC_SHA1_32");
  const key = randomBytes(30);
  const tx = new SrtpSession(su, key);
  const rx = new SrtpSession(su, key);
  const plain = Buffer.concat([
    buildReceiverReport({ ssrc: 0x1234, reports: [] }),
    buildSdes([cnameChunk(0x1234, "srtcp@korus")]),
  ]);
  const first = tx.protectRtcp(plain);
  const second = tx.protectRtcp(plain);
  if (typeof first === "string" || typeof second === "string") {
    t.fail("protect failed");
    t.end();
    return;
  }
  t.equal(first.length, plain.length + 4 + 10, "SRTCP keeps an 80-bit tag even with the _32 suite");
  t.equal(first.readUInt32BE(plain.length), 0x8000_0000, "E=1, index 0");
  t.equal(second.readUInt32BE(plain.length), 0x8000_0001, "index 1");
  t.ok(first.subarray(0, 8).equals(plain.subarray(0, 8)), "first 8 bytes in clear");
  t.notOk(first.subarray(8, plain.length).equals(plain.subarray(8)), "the rest encrypted");
  const dec = rx.unprotectRtcp(first);
  t.ok(typeof dec !== "string" && dec.equals(plain));
  t.same(typeof dec === "string" ? [] : parseRtcp(dec).map((p) => p.type), ["rr", "sdes"]);
  t.equal(rx.unprotectRtcp(first), "replay");
  const bad = Buffer.from(second);
  bad[10] = (bad[10] ?? 0) ^ 0xff;
  t.equal(rx.unprotectRtcp(bad), "auth-failed");
  t.equal(rx.unprotectRtcp(Buffer.alloc(10)), "too-short");
  t.end();
});

t.test("soft key limit fires once, hard limit refuses", (t) => {
  let fired = 0;
  const key = randomBytes(30);
  const tx = new SrtpSession(suite("AES_CM_128_HMAC_SHA1_80"), key, { lifetime: 20, onSoftLimit: () => fired++ });
  const results: string[] = [];
  for (let i = 0; i < 25; i++) {
    const r = tx.protectRtp(rtp(0, false, i, 0, 1, Buffer.alloc(4)), 12);
    results.push(typeof r === "string" ? r : "ok");
  }
  t.equal(fired, 1);
  t.equal(results.filter((r) => r === "ok").length, 20);
  t.equal(results[24], "key-expired");
  t.equal(parseLifetime("2^20"), 2 ** 20);
  t.equal(parseLifetime("1000"), 1000);
  t.equal(parseLifetime(undefined), undefined);
  t.throws(() => parseLifetime("lots"), SrtpConfigError);
  t.end();
});

t.test("suites, key decoding and the replay window", (t) => {
  t.equal(findSuite("AES_128_CM_HMAC_SHA1_80")?.name, "AES_CM_128_HMAC_SHA1_80", "Kurento name");
  t.equal(findSuite("aes_256_cm_hmac_sha1_32")?.keyLength, 32);
  t.equal(findSuite("AEAD_AES_128_GCM"), undefined, "SDES offers the suites Kurento's CryptoSuite names");
  const su = suite("AES_CM_128_HMAC_SHA1_80");
  t.equal(decodeKeySalt(su, randomBytes(30).toString("base64")).length, 30);
  t.throws(() => decodeKeySalt(su, randomBytes(29).toString("base64")), SrtpConfigError);
  t.throws(() => decodeKeySalt(su, "not*base64"), SrtpConfigError);
  t.throws(() => new SrtpSession(su, Buffer.alloc(10)), SrtpConfigError);
  const w = new ReplayWindow();
  t.equal(w.check(5), "ok");
  w.accept(5);
  t.equal(w.check(5), "replay");
  t.equal(w.check(4), "ok", "an older unseen one inside the window");
  w.accept(300);
  t.equal(w.check(100), "too-old");
  t.equal(w.check(250), "ok");
  w.accept(250);
  t.equal(w.check(250), "replay");
  t.equal(w.check(301), "ok");
  t.end();
});

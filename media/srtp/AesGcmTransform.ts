/**
 * AEAD AES-GCM for SRTP and SRTCP (RFC 7714): AEAD_AES_128_GCM and AEAD_AES_256_GCM, 16-byte tag.
 *
 * - SRTP (§8): IV = salt XOR (00 00 ‖ SSRC ‖ ROC ‖ SEQ), 12 bytes; the header (with CSRCs and extension) is the
 *   associated data; the tag follows the ciphertext.
 * - SRTCP (§9): IV = salt XOR (00 00 ‖ SSRC ‖ 00 00 ‖ 0 ‖ SRTCP index); associated data = the first 8 bytes and the
 *   E flag with the index (or, with E = 0, the whole packet and that word); layout header ‖ ciphertext ‖ tag ‖ E+index.
 *
 * node:crypto cannot give a GCM context a new IV, so each packet takes one cipher object (the floor; ~3 µs for a
 * 172-byte packet). A failed authentication throws inside `final()`; it is caught here and reported as undefined.
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from "node:crypto";
import type { SessionKeys } from "./keyDerivation.js";
import type { PacketIndex, SrtpTransform } from "./transform.js";

const TAG = 16;

export class AesGcmTransform implements SrtpTransform {
  readonly rtpTagLength = TAG;
  readonly rtcpTrailerLength = TAG + 4;
  readonly #algorithm: CipherGCMTypes;
  readonly #rtpKey: Buffer;
  readonly #rtpSalt: Buffer;
  readonly #rtcpKey: Buffer;
  readonly #rtcpSalt: Buffer;
  readonly #iv = Buffer.alloc(12);

  constructor(rtp: SessionKeys, rtcp: SessionKeys) {
    this.#algorithm = rtp.encryption.length === 32 ? "aes-256-gcm" : "aes-128-gcm";
    this.#rtpKey = rtp.encryption;
    this.#rtpSalt = rtp.salt;
    this.#rtcpKey = rtcp.encryption;
    this.#rtcpSalt = rtcp.salt;
  }

  /** RTP (§8.1): salt XOR (00 00 ‖ SSRC ‖ ROC ‖ SEQ); RTCP (§9.1): salt XOR (00 00 ‖ SSRC ‖ 00 00 ‖ index). */
  #ivOf(salt: Buffer, ssrc: number, rtp: PacketIndex | undefined, index: number): Buffer {
    const iv = this.#iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    if (rtp === undefined) {
      iv.writeUInt16BE(0, 6);
      iv.writeUInt32BE(index >>> 0, 8);
    } else {
      iv.writeUInt32BE(rtp.roc >>> 0, 6);
      iv.writeUInt16BE(rtp.seq & 0xffff, 10);
    }
    for (let i = 0; i < 12; i++) {
      iv[i]! ^= salt[i]!;
    }
    return iv;
  }

  protectRtp(out: Buffer, headerLength: number, src: Uint8Array, from: number, p: PacketIndex): void {
    const cipher = createCipheriv(this.#algorithm, this.#rtpKey, this.#ivOf(this.#rtpSalt, p.ssrc, p, 0));
    cipher.setAAD(out.subarray(0, headerLength));
    const enc = cipher.update(from === 0 ? src : src.subarray(from));
    cipher.final();
    enc.copy(out, headerLength);
    cipher.getAuthTag().copy(out, headerLength + enc.length);
  }

  unprotectRtp(packet: Uint8Array, headerLength: number, p: PacketIndex, withHeader: boolean): Buffer | undefined {
    const end = packet.length - TAG;
    const decipher = createDecipheriv(this.#algorithm, this.#rtpKey, this.#ivOf(this.#rtpSalt, p.ssrc, p, 0));
    decipher.setAAD(packet.subarray(0, headerLength));
    decipher.setAuthTag(packet.subarray(end));
    const plain = decipher.update(packet.subarray(headerLength, end));
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    if (!withHeader) {
      return plain;
    }
    const out = Buffer.allocUnsafe(end);
    out.set(packet.subarray(0, headerLength), 0);
    plain.copy(out, headerLength);
    return out;
  }

  protectRtcp(packet: Uint8Array, ssrc: number, index: number): Buffer {
    const n = packet.length;
    const out = Buffer.allocUnsafe(n + TAG + 4);
    out.set(packet.subarray(0, 8), 0);
    out.writeUInt32BE((0x8000_0000 | index) >>> 0, n + TAG);
    const cipher = createCipheriv(this.#algorithm, this.#rtcpKey, this.#ivOf(this.#rtcpSalt, ssrc, undefined, index));
    cipher.setAAD(Buffer.concat([packet.subarray(0, 8), out.subarray(n + TAG)]));
    cipher.update(packet.subarray(8)).copy(out, 8);
    cipher.final();
    cipher.getAuthTag().copy(out, n);
    return out;
  }

  rtcpIndexOffset(length: number): number {
    return length - 4;
  }

  unprotectRtcp(packet: Uint8Array, ssrc: number, index: number, encrypted: boolean): Buffer | undefined {
    const indexAt = packet.length - 4;
    const tagAt = indexAt - TAG;
    const decipher = createDecipheriv(
      this.#algorithm,
      this.#rtcpKey,
      this.#ivOf(this.#rtcpSalt, ssrc, undefined, index),
    );
    const word = packet.subarray(indexAt);
    decipher.setAAD(Buffer.concat([packet.subarray(0, encrypted ? 8 : tagAt), word]));
    decipher.setAuthTag(packet.subarray(tagAt, indexAt));
    const plain = encrypted ? decipher.update(packet.subarray(8, tagAt)) : undefined;
    try {
      decipher.final();
    } catch {
      return undefined;
    }
    const out = Buffer.allocUnsafe(tagAt);
    if (plain === undefined) {
      out.set(packet.subarray(0, tagAt), 0);
    } else {
      out.set(packet.subarray(0, 8), 0);
      plain.copy(out, 8);
    }
    return out;
  }
}

/**
 * AES-CM encryption (RFC 3711 §4.1.1) with HMAC-SHA1 authentication (§4.2.1), for SRTP and SRTCP.
 *
 * The keystream comes from one AES-ECB context per session key, reused for every packet and fed the counter blocks
 * (IV with the block number in its low 16 bits): creating a CTR cipher per packet costs about twice as much
 * (performance.md §3.4). The counter blocks are written into a buffer kept between packets, with one `fill` of the
 * IV and two counter bytes per block. node:crypto cannot reset an HMAC, so each tag takes one `createHmac`, the
 * cheapest of node's ways to compute it (a copied pre-keyed hash costs more).
 */
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from "node:crypto";
import type { SessionKeys } from "./keyDerivation.js";
import type { PacketIndex, SrtpTransform } from "./transform.js";

/** The keystream generator of one session encryption key and salt. */
class AesCm {
  readonly #ecb: Cipher;
  readonly #salt: Buffer;
  readonly #iv = Buffer.alloc(16);
  #blocks = Buffer.alloc(16 * 96);

  constructor(keys: SessionKeys) {
    this.#ecb = createCipheriv(keys.encryption.length === 32 ? "aes-256-ecb" : "aes-128-ecb", keys.encryption, null);
    this.#ecb.setAutoPadding(false);
    this.#salt = keys.salt;
  }

  /**
   * XORs the keystream of packet index (roc · 2^16 + seq) of `ssrc` onto `src[from, to)`, into `dst` at `at`.
   * IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (index · 2^16); block j uses IV + j.
   */
  apply(
    ssrc: number,
    roc: number,
    seq: number,
    src: Uint8Array,
    from: number,
    to: number,
    dst: Buffer,
    at: number,
  ): void {
    const n = to - from;
    if (n <= 0) {
      return;
    }
    const iv = this.#iv;
    const salt = this.#salt;
    for (let i = 0; i < 14; i++) {
      iv[i] = salt[i]!;
    }
    iv[4]! ^= ssrc >>> 24;
    iv[5]! ^= (ssrc >>> 16) & 0xff;
    iv[6]! ^= (ssrc >>> 8) & 0xff;
    iv[7]! ^= ssrc & 0xff;
    iv[8]! ^= roc >>> 24;
    iv[9]! ^= (roc >>> 16) & 0xff;
    iv[10]! ^= (roc >>> 8) & 0xff;
    iv[11]! ^= roc & 0xff;
    iv[12]! ^= (seq >>> 8) & 0xff;
    iv[13]! ^= seq & 0xff;
    const count = (n + 15) >>> 4;
    const length = count << 4;
    if (length > this.#blocks.length) {
      this.#blocks = Buffer.alloc(length);
    }
    const blocks = this.#blocks;
    blocks.fill(iv, 0, length);
    for (let j = 1; j < count; j++) {
      blocks[(j << 4) + 14] = j >>> 8;
      blocks[(j << 4) + 15] = j & 0xff;
    }
    const ks = this.#ecb.update(length === blocks.length ? blocks : blocks.subarray(0, length));
    for (let i = 0; i < n; i++) {
      dst[at + i] = src[from + i]! ^ ks[i]!;
    }
  }
}

export class AesCmHmacTransform implements SrtpTransform {
  readonly rtpTagLength: number;
  readonly rtcpTrailerLength: number;
  readonly #rtcpTagLength: number;
  readonly #rtp: AesCm;
  readonly #rtcp: AesCm;
  readonly #rtpAuth: Buffer;
  readonly #rtcpAuth: Buffer;
  readonly #roc = Buffer.alloc(4);

  constructor(rtp: SessionKeys, rtcp: SessionKeys, rtpTagLength: number, rtcpTagLength: number) {
    this.rtpTagLength = rtpTagLength;
    this.#rtcpTagLength = rtcpTagLength;
    this.rtcpTrailerLength = 4 + rtcpTagLength;
    this.#rtp = new AesCm(rtp);
    this.#rtcp = new AesCm(rtcp);
    this.#rtpAuth = rtp.auth;
    this.#rtcpAuth = rtcp.auth;
  }

  /** HMAC-SHA1 over `data[0, length)` followed by the ROC (SRTP, §4.2) or by nothing (SRTCP, roc < 0). */
  #hmac(key: Buffer, data: Uint8Array, length: number, roc: number): Buffer {
    const h = createHmac("sha1", key).update(length === data.length ? data : data.subarray(0, length));
    if (roc >= 0) {
      this.#roc.writeUInt32BE(roc >>> 0, 0);
      h.update(this.#roc);
    }
    return h.digest();
  }

  protectRtp(out: Buffer, headerLength: number, src: Uint8Array, from: number, p: PacketIndex): void {
    const end = headerLength + src.length - from;
    this.#rtp.apply(p.ssrc, p.roc, p.seq, src, from, src.length, out, headerLength);
    this.#hmac(this.#rtpAuth, out, end, p.roc).copy(out, end, 0, this.rtpTagLength);
  }

  unprotectRtp(packet: Uint8Array, headerLength: number, p: PacketIndex, withHeader: boolean): Buffer | undefined {
    const end = packet.length - this.rtpTagLength;
    const tag = this.#hmac(this.#rtpAuth, packet, end, p.roc);
    if (!timingSafeEqual(tag.subarray(0, this.rtpTagLength), packet.subarray(end))) {
      return undefined;
    }
    const at = withHeader ? headerLength : 0;
    const out = Buffer.allocUnsafe(end - headerLength + at);
    for (let i = 0; i < at; i++) {
      out[i] = packet[i]!;
    }
    this.#rtp.apply(p.ssrc, p.roc, p.seq, packet, headerLength, end, out, at);
    return out;
  }

  /** §3.4: everything after the first 8 bytes is encrypted; then E flag and index; the tag covers both. */
  protectRtcp(packet: Uint8Array, ssrc: number, index: number): Buffer {
    const n = packet.length;
    const out = Buffer.allocUnsafe(n + this.rtcpTrailerLength);
    out.set(packet.subarray(0, 8), 0);
    this.#rtcp.apply(ssrc, index >>> 16, index & 0xffff, packet, 8, n, out, 8);
    out.writeUInt32BE((0x8000_0000 | index) >>> 0, n);
    this.#hmac(this.#rtcpAuth, out, n + 4, -1).copy(out, n + 4, 0, this.#rtcpTagLength);
    return out;
  }

  rtcpIndexOffset(length: number): number {
    return length - this.rtcpTrailerLength;
  }

  unprotectRtcp(packet: Uint8Array, ssrc: number, index: number, encrypted: boolean): Buffer | undefined {
    const authLength = packet.length - this.#rtcpTagLength;
    const tag = this.#hmac(this.#rtcpAuth, packet, authLength, -1);
    if (!timingSafeEqual(tag.subarray(0, this.#rtcpTagLength), packet.subarray(authLength))) {
      return undefined;
    }
    const bodyEnd = authLength - 4;
    if (!encrypted) {
      return Buffer.from(packet.subarray(0, bodyEnd));
    }
    const out = Buffer.allocUnsafe(bodyEnd);
    out.set(packet.subarray(0, 8), 0);
    this.#rtcp.apply(ssrc, index >>> 16, index & 0xffff, packet, 8, bodyEnd, out, 8);
    return out;
  }
}

/**
 * SRTP for the WebRTC hot path (RFC 3711, RFC 7714), on session keys that werift's DTLS-SRTP handshake derived.
 *
 * werift protects and unprotects each packet through its RtpHeader/RtpPacket classes, several Buffer copies and a
 * promise chain per packet (libraries.md §3, performance.md §3.7). This transform works on the raw datagram instead:
 * one header read, one cipher call and no intermediate objects. It supports the two profiles werift negotiates:
 *
 * - AEAD_AES_128_GCM (RFC 7714): one node:crypto GCM cipher per packet (node cannot re-key a GCM context with a new
 *   IV, so this is the floor; ~3 µs for a 172-byte packet);
 * - AES_CM_128_HMAC_SHA1_80 (RFC 3711 §4.1.1): the AES-CTR keystream comes from one reused AES-ECB context fed the
 *   counter blocks (no cipher creation per packet), authentication is HMAC-SHA1 truncated to 80 bits.
 *
 * Inbound packets get RFC 3711 §3.3.1 index estimation (rollover counter) and a 64-packet replay window (§3.3.2),
 * both updated only after authentication succeeds. RTCP stays on werift's path (it is a few packets per second).
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual, type Cipher } from "node:crypto";

export type SrtpProfile = "AEAD_AES_128_GCM" | "AES_CM_128_HMAC_SHA1_80";

/** The session keys of one direction (RFC 3711 §4.3: k_e, k_s, k_a). */
export interface SrtpSessionKeys {
  key: Buffer;
  salt: Buffer;
  /** HMAC key; unused by GCM. */
  authKey: Buffer;
}

/** Why an inbound packet was refused. */
export type SrtpDropReason = "malformed" | "auth" | "replay";

/** The fields of one RTP header, read from the datagram in place (RFC 3550 §5.1). */
export interface RtpHeaderFields {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload (after CSRCs and the header extension). */
  payloadOffset: number;
}

const GCM_TAG = 16;
const HMAC_TAG = 10;
const RTP_HEADER = 12;
const REPLAY_WINDOW = 64;

interface InboundState {
  roc: number;
  /** Highest sequence number authenticated (s_l). */
  sl: number;
  /** Highest packet index authenticated. */
  maxIndex: number;
  /** Bit i set: index maxIndex - i was received (i < 32 in lo, 32..63 in hi). */
  lo: number;
  hi: number;
}

/**
 * Reads an RTP header; returns false when the datagram is not a well-formed RTP packet with room for `tagLength`
 * bytes of authentication tag after the payload.
 */
export function readRtpHeader(buf: Uint8Array, tagLength: number, out: RtpHeaderFields): boolean {
  if (buf.length < RTP_HEADER + tagLength || buf[0]! >> 6 !== 2) {
    return false;
  }
  const b0 = buf[0]!;
  let offset = RTP_HEADER + (b0 & 0x0f) * 4;
  if ((b0 & 0x10) !== 0) {
    if (buf.length < offset + 4 + tagLength) {
      return false;
    }
    offset += 4 + ((buf[offset + 2]! << 8) | buf[offset + 3]!) * 4;
  }
  if (offset > buf.length - tagLength) {
    return false;
  }
  const b1 = buf[1]!;
  out.payloadType = b1 & 0x7f;
  out.marker = (b1 & 0x80) !== 0;
  out.sequenceNumber = (buf[2]! << 8) | buf[3]!;
  out.timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  out.ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  out.payloadOffset = offset;
  return true;
}

/** One direction of an SRTP session: protects (outbound) or unprotects (inbound) RTP packets. */
export class SrtpTransform {
  readonly profile: SrtpProfile;
  readonly #keys: SrtpSessionKeys;
  readonly #tagLength: number;
  /** AES-ECB context for the CTR keystream (AES-CM profile only), reused for every packet. */
  readonly #ecb: Cipher | undefined;
  readonly #iv = Buffer.alloc(16);
  readonly #counters = Buffer.alloc(16 * 96);
  readonly #rocBytes = Buffer.alloc(4);
  readonly #inbound = new Map<number, InboundState>();
  /** Outbound rollover counters per SSRC with the last sequence number sent. */
  readonly #outbound = new Map<number, { roc: number; last: number }>();
  /** Reason of the last {@link unprotect} failure. */
  lastDrop: SrtpDropReason | undefined;

  constructor(profile: SrtpProfile, keys: SrtpSessionKeys) {
    this.profile = profile;
    this.#keys = keys;
    this.#tagLength = profile === "AEAD_AES_128_GCM" ? GCM_TAG : HMAC_TAG;
    if (profile === "AES_CM_128_HMAC_SHA1_80") {
      const ecb = createCipheriv("aes-128-ecb", keys.key, null);
      ecb.setAutoPadding(false);
      this.#ecb = ecb;
    }
  }

  get tagLength(): number {
    return this.#tagLength;
  }

  /**
   * Builds one SRTP packet: a 12-byte header (no CSRC, no extension) from the fields, then the protected payload
   * and the tag. The rollover counter follows the sequence numbers the caller sends.
   */
  protect(
    ssrc: number,
    payloadType: number,
    seq: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): Buffer {
    let st = this.#outbound.get(ssrc);
    if (st === undefined) {
      st = { roc: 0, last: seq };
      this.#outbound.set(ssrc, st);
    } else if (seq < st.last && st.last - seq > 0x8000) {
      st.roc = (st.roc + 1) >>> 0;
    }
    st.last = seq;
    const roc = st.roc;
    const n = payload.length;
    const out = Buffer.allocUnsafe(RTP_HEADER + n + this.#tagLength);
    out[0] = 0x80;
    out[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
    out.writeUInt16BE(seq & 0xffff, 2);
    out.writeUInt32BE(timestamp >>> 0, 4);
    out.writeUInt32BE(ssrc >>> 0, 8);
    if (this.#ecb === undefined) {
      const cipher = createCipheriv("aes-128-gcm", this.#keys.key, this.#gcmIv(ssrc, roc, seq));
      cipher.setAAD(out.subarray(0, RTP_HEADER));
      const enc = cipher.update(payload);
      cipher.final();
      enc.copy(out, RTP_HEADER);
      cipher.getAuthTag().copy(out, RTP_HEADER + n);
    } else {
      this.#ctrXor(ssrc, roc, seq, payload, out, RTP_HEADER);
      this.#hmac(out.subarray(0, RTP_HEADER + n), roc).copy(out, RTP_HEADER + n, 0, HMAC_TAG);
    }
    return out;
  }

  /**
   * Authenticates and decrypts one SRTP packet. On success `h` holds the header fields and the returned buffer is
   * the plain payload (padding removed); on failure it returns undefined and {@link lastDrop} says why.
   */
  unprotect(buf: Buffer, h: RtpHeaderFields): Buffer | undefined {
    if (!readRtpHeader(buf, this.#tagLength, h)) {
      this.lastDrop = "malformed";
      return undefined;
    }
    const seq = h.sequenceNumber;
    const st = this.#inbound.get(h.ssrc);
    // RFC 3711 §3.3.1: guess the rollover counter from the highest sequence number seen.
    let roc = 0;
    if (st !== undefined) {
      roc = st.roc;
      if (st.sl < 0x8000) {
        if (seq - st.sl > 0x8000) {
          roc = (roc - 1) >>> 0;
        }
      } else if (st.sl - 0x8000 > seq) {
        roc = (roc + 1) >>> 0;
      }
    }
    const index = roc * 0x1_0000 + seq;
    if (st !== undefined && index <= st.maxIndex) {
      const d = st.maxIndex - index;
      if (d >= REPLAY_WINDOW || (d < 32 ? (st.lo >>> d) & 1 : (st.hi >>> (d - 32)) & 1) === 1) {
        this.lastDrop = "replay";
        return undefined;
      }
    }
    const end = buf.length - this.#tagLength;
    let plain: Buffer;
    if (this.#ecb === undefined) {
      const decipher = createDecipheriv("aes-128-gcm", this.#keys.key, this.#gcmIv(h.ssrc, roc, seq));
      decipher.setAAD(buf.subarray(0, h.payloadOffset));
      decipher.setAuthTag(buf.subarray(end));
      plain = decipher.update(buf.subarray(h.payloadOffset, end));
      try {
        decipher.final();
      } catch {
        this.lastDrop = "auth";
        return undefined;
      }
    } else {
      const tag = this.#hmac(buf.subarray(0, end), roc);
      if (!timingSafeEqual(tag.subarray(0, HMAC_TAG), buf.subarray(end))) {
        this.lastDrop = "auth";
        return undefined;
      }
      plain = Buffer.allocUnsafe(end - h.payloadOffset);
      this.#ctrXor(h.ssrc, roc, seq, buf.subarray(h.payloadOffset, end), plain, 0);
    }
    if ((buf[0]! & 0x20) !== 0) {
      // RFC 3550 §5.1: the last octet counts the padding, itself included.
      const pad = plain.length === 0 ? 0 : plain[plain.length - 1]!;
      if (pad === 0 || pad > plain.length) {
        this.lastDrop = "malformed";
        return undefined;
      }
      plain = plain.subarray(0, plain.length - pad);
    }
    this.#accept(h.ssrc, st, roc, seq, index);
    return plain;
  }

  /** Records an authenticated index in the replay window and advances s_l/ROC (RFC 3711 §3.3.1, §3.3.2). */
  #accept(ssrc: number, st: InboundState | undefined, roc: number, seq: number, index: number): void {
    if (st === undefined) {
      this.#inbound.set(ssrc, { roc, sl: seq, maxIndex: index, lo: 1, hi: 0 });
      return;
    }
    if (index > st.maxIndex) {
      const shift = index - st.maxIndex;
      if (shift >= REPLAY_WINDOW) {
        st.lo = 1;
        st.hi = 0;
      } else if (shift >= 32) {
        st.hi = (st.lo << (shift - 32)) >>> 0;
        st.lo = 1;
      } else {
        st.hi = ((st.hi << shift) | (st.lo >>> (32 - shift))) >>> 0;
        st.lo = ((st.lo << shift) | 1) >>> 0;
      }
      st.maxIndex = index;
      st.roc = roc;
      st.sl = seq;
    } else {
      const d = st.maxIndex - index;
      if (d < 32) {
        st.lo = (st.lo | (1 << d)) >>> 0;
      } else {
        st.hi = (st.hi | (1 << (d - 32))) >>> 0;
      }
    }
  }

  /** RFC 7714 §8.1: 12-byte IV = salt XOR (00 00 || SSRC || ROC || SEQ). */
  #gcmIv(ssrc: number, roc: number, seq: number): Buffer {
    const iv = this.#iv.subarray(0, 12);
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc >>> 0, 2);
    iv.writeUInt32BE(roc >>> 0, 6);
    iv.writeUInt16BE(seq & 0xffff, 10);
    const salt = this.#keys.salt;
    for (let i = 0; i < 12; i++) {
      iv[i]! ^= salt[i]!;
    }
    return iv;
  }

  /**
   * RFC 3711 §4.1.1 AES-CM: XORs `src` with the keystream of packet (ssrc, roc, seq) into `dst` at `dstOffset`.
   * IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16); block j uses IV + j.
   */
  #ctrXor(ssrc: number, roc: number, seq: number, src: Uint8Array, dst: Buffer, dstOffset: number): void {
    const iv = this.#iv;
    const salt = this.#keys.salt;
    for (let i = 0; i < 14; i++) {
      iv[i] = salt[i] ?? 0;
    }
    iv[14] = 0;
    iv[15] = 0;
    iv[4]! ^= ssrc >>> 24;
    iv[5]! ^= (ssrc >>> 16) & 0xff;
    iv[6]! ^= (ssrc >>> 8) & 0xff;
    iv[7]! ^= ssrc & 0xff;
    iv[8]! ^= roc >>> 24;
    iv[9]! ^= (roc >>> 16) & 0xff;
    iv[10]! ^= (roc >>> 8) & 0xff;
    iv[11]! ^= roc & 0xff;
    iv[12]! ^= seq >>> 8;
    iv[13]! ^= seq & 0xff;
    const n = src.length;
    const blocks = Math.ceil(n / 16);
    const counters = blocks * 16 <= this.#counters.length ? this.#counters : Buffer.alloc(blocks * 16);
    for (let j = 0; j < blocks; j++) {
      const o = j * 16;
      iv.copy(counters, o);
      counters[o + 14] = j >>> 8;
      counters[o + 15] = j & 0xff;
    }
    const ks = this.#ecb!.update(counters.subarray(0, blocks * 16));
    for (let i = 0; i < n; i++) {
      dst[dstOffset + i] = src[i]! ^ ks[i]!;
    }
  }

  /** HMAC-SHA1 over the authenticated portion followed by the ROC (RFC 3711 §4.2). */
  #hmac(portion: Uint8Array, roc: number): Buffer {
    this.#rocBytes.writeUInt32BE(roc >>> 0, 0);
    return createHmac("sha1", this.#keys.authKey).update(portion).update(this.#rocBytes).digest();
  }
}

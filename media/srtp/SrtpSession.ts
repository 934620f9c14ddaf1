/**
 * SRTP and SRTCP (RFC 3711) for SDES-keyed RTP (RFC 4568) with node:crypto: AES-CM encryption (§4.1.1),
 * HMAC-SHA1 authentication (§4.2.1), the AES-CM key derivation (§4.3.1 and §4.3.3, key derivation rate 0), the
 * rollover counter of each SSRC (§3.3.1, Appendix A), replay protection (§3.3.2) and the SRTCP index with the
 * E flag (§3.4).
 *
 * One {@link SrtpSession} holds one master key, i.e. one direction of an SDES call: our key protects what we send,
 * the peer's key unprotects what we receive. Streams (SSRCs) are tracked inside it.
 *
 * Unprotect returns the plain packet or an {@link SrtpFailure} string, never throws: it runs on every received
 * datagram, and a flood of forged packets must cost no exception.
 *
 * Key limits (§9.2): a master key may protect at most 2^48 SRTP packets (2^31 SRTCP), or the lifetime from the
 * `a=crypto` key parameter. When fewer than {@link SOFT_LIMIT_MARGIN} uses remain the soft-limit callback fires
 * once (Kurento's OnKeySoftLimit, like libsrtp's `srtp_event_key_soft_limit`); at the hard limit protect refuses.
 */
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from "node:crypto";
import { ReplayWindow } from "./ReplayWindow.js";
import { SrtpConfigError, type SrtpSuite } from "./SrtpSuite.js";

export type SrtpFailure = "too-short" | "auth-failed" | "replay" | "too-old" | "key-expired";

/** Uses left when the soft-limit callback fires (libsrtp's 0x10000). */
export const SOFT_LIMIT_MARGIN = 0x1_0000;
const SRTP_MAX_PACKETS = 2 ** 48;

const LABEL_RTP_ENCRYPTION = 0;
const LABEL_RTP_AUTH = 1;
const LABEL_RTP_SALT = 2;
const LABEL_RTCP_ENCRYPTION = 3;
const LABEL_RTCP_AUTH = 4;
const LABEL_RTCP_SALT = 5;
const AUTH_KEY_LENGTH = 20;

/**
 * The AES-CM PRF of RFC 3711 §4.3.1/§4.3.3 with a key derivation rate of 0: `length` bytes of keystream under the
 * master key from IV = (label · 2^48 XOR master salt) · 2^16.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] = (iv[7] ?? 0) ^ label;
  return aesCtr(masterKey, iv, Buffer.alloc(length));
}

/** AES in counter mode (the RFC 3711 §4.1.1 keystream XORed onto `data`), into a new buffer. */
export function aesCtr(key: Buffer, iv: Buffer, data: Uint8Array): Buffer {
  const c = createCipheriv(key.length === 32 ? "aes-256-ctr" : "aes-128-ctr", key, iv);
  const out = c.update(data);
  c.final();
  return out;
}

/** §4.1.1: IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16), with the 48-bit packet index i, into `out`. */
export function packetIv(out: Buffer, salt: Buffer, ssrc: number, index: number): Buffer {
  salt.copy(out, 0, 0, 14);
  out[14] = 0;
  out[15] = 0;
  out[4] = (out[4] ?? 0) ^ ((ssrc >>> 24) & 0xff);
  out[5] = (out[5] ?? 0) ^ ((ssrc >>> 16) & 0xff);
  out[6] = (out[6] ?? 0) ^ ((ssrc >>> 8) & 0xff);
  out[7] = (out[7] ?? 0) ^ (ssrc & 0xff);
  const hi = Math.floor(index / 0x1_0000_0000);
  const lo = index >>> 0;
  out[8] = (out[8] ?? 0) ^ ((hi >>> 8) & 0xff);
  out[9] = (out[9] ?? 0) ^ (hi & 0xff);
  out[10] = (out[10] ?? 0) ^ ((lo >>> 24) & 0xff);
  out[11] = (out[11] ?? 0) ^ ((lo >>> 16) & 0xff);
  out[12] = (out[12] ?? 0) ^ ((lo >>> 8) & 0xff);
  out[13] = (out[13] ?? 0) ^ (lo & 0xff);
  return out;
}

interface Keys {
  readonly encryption: Buffer;
  readonly auth: Buffer;
  readonly salt: Buffer;
}

/**
 * AES-CM with one reusable AES-ECB cipher per session key: the counter blocks (IV with the block number in its
 * low 16 bits, RFC 3711 §4.1.1) are encrypted in one call and XORed onto the data. Creating a CTR cipher per packet
 * costs about twice as much (performance.md §3.4).
 */
class AesCm {
  readonly #ecb: Cipher;
  #blocks = Buffer.alloc(16 * 128);

  constructor(key: Buffer) {
    this.#ecb = createCipheriv(key.length === 32 ? "aes-256-ecb" : "aes-128-ecb", key, null);
    this.#ecb.setAutoPadding(false);
  }

  /** XORs the keystream that starts at `iv` (whose low 16 bits are 0) onto `data`, into `out` at `offset`. */
  apply(iv: Buffer, data: Uint8Array, out: Buffer, offset: number): void {
    const n = Math.ceil(data.length / 16);
    if (n === 0) {
      return;
    }
    if (n * 16 > this.#blocks.length) {
      this.#blocks = Buffer.alloc(n * 16);
    }
    const blocks = this.#blocks;
    for (let b = 0; b < n; b++) {
      const o = b * 16;
      iv.copy(blocks, o, 0, 14);
      blocks[o + 14] = (b >>> 8) & 0xff;
      blocks[o + 15] = b & 0xff;
    }
    const ks = this.#ecb.update(blocks.subarray(0, n * 16));
    for (let i = 0; i < data.length; i++) {
      out[offset + i] = (data[i] ?? 0) ^ (ks[i] ?? 0);
    }
  }
}

/** Per-SSRC state: the rollover counter and highest sequence (s_l) of §3.3.1, and the replay window. */
interface StreamState {
  roc: number;
  highestSeq: number;
  readonly replay: ReplayWindow;
  /** Next SRTCP index to send (sender side). */
  rtcpIndex: number;
}

export interface SrtpSessionOptions {
  /** Key lifetime in packets (from `inline:...|2^20`); default and maximum 2^48. */
  readonly lifetime?: number;
  /** Called once when the key gets within {@link SOFT_LIMIT_MARGIN} uses of its limit. */
  readonly onSoftLimit?: () => void;
}

export class SrtpSession {
  readonly suite: SrtpSuite;
  readonly #rtp: Keys;
  readonly #rtcp: Keys;
  readonly #rtpCm: AesCm;
  readonly #rtcpCm: AesCm;
  readonly #streams = new Map<number, StreamState>();
  readonly #rtcpStreams = new Map<number, ReplayWindow>();
  readonly #iv = Buffer.alloc(16);
  readonly #roc = Buffer.alloc(4);
  readonly #lifetime: number;
  readonly #softAt: number;
  readonly #onSoftLimit: (() => void) | undefined;
  #uses = 0;
  #softFired = false;

  /**
   * @param keySalt master key followed by the 14-byte master salt (the decoded `inline:` value).
   * @throws SrtpConfigError when its length does not fit the suite.
   */
  constructor(suite: SrtpSuite, keySalt: Buffer, options: SrtpSessionOptions = {}) {
    if (keySalt.length !== suite.keyLength + suite.saltLength) {
      throw new SrtpConfigError(`${suite.name} needs ${suite.keyLength + suite.saltLength} bytes of key and salt`);
    }
    this.suite = suite;
    const key = keySalt.subarray(0, suite.keyLength);
    const salt = keySalt.subarray(suite.keyLength);
    const derive = (enc: number, auth: number, s: number): Keys => ({
      encryption: deriveSessionKey(key, salt, enc, suite.keyLength),
      auth: deriveSessionKey(key, salt, auth, AUTH_KEY_LENGTH),
      salt: deriveSessionKey(key, salt, s, suite.saltLength),
    });
    this.#rtp = derive(LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTH, LABEL_RTP_SALT);
    this.#rtcp = derive(LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTH, LABEL_RTCP_SALT);
    this.#rtpCm = new AesCm(this.#rtp.encryption);
    this.#rtcpCm = new AesCm(this.#rtcp.encryption);
    this.#lifetime = Math.min(options.lifetime ?? SRTP_MAX_PACKETS, SRTP_MAX_PACKETS);
    this.#softAt = Math.max(0, this.#lifetime - Math.min(SOFT_LIMIT_MARGIN, Math.floor(this.#lifetime / 2)));
    this.#onSoftLimit = options.onSoftLimit;
  }

  /** The derived SRTP session keys (for tests against RFC 3711 B.3). */
  get rtpKeys(): Keys {
    return this.#rtp;
  }

  get rtcpKeys(): Keys {
    return this.#rtcp;
  }

  /** Packets (SRTP + SRTCP) this key has protected or unprotected. */
  get uses(): number {
    return this.#uses;
  }

  /** Counts one use of the key; false at the hard limit. */
  #use(): boolean {
    if (this.#uses >= this.#lifetime) {
      return false;
    }
    this.#uses++;
    if (!this.#softFired && this.#uses >= this.#softAt) {
      this.#softFired = true;
      this.#onSoftLimit?.();
    }
    return true;
  }

  #stream(ssrc: number, seq: number): StreamState {
    let s = this.#streams.get(ssrc);
    if (s === undefined) {
      s = { roc: 0, highestSeq: seq, replay: new ReplayWindow(), rtcpIndex: 0 };
      this.#streams.set(ssrc, s);
    }
    return s;
  }

  #tag(key: Buffer, data: Uint8Array, roc: number | undefined, length: number): Buffer {
    const h = createHmac("sha1", key).update(data);
    if (roc !== undefined) {
      this.#roc.writeUInt32BE(roc >>> 0, 0);
      h.update(this.#roc);
    }
    return h.digest().subarray(0, length);
  }

  /**
   * Protects an RTP packet: encrypts the payload (everything after the header, CSRCs and extension at
   * `headerLength`) and appends the authentication tag.
   * @returns the SRTP packet, or "key-expired" at the hard limit.
   */
  protectRtp(packet: Uint8Array, headerLength: number): Buffer | "key-expired" {
    if (!this.#use()) {
      return "key-expired";
    }
    const seq = ((packet[2] ?? 0) << 8) | (packet[3] ?? 0);
    const ssrc =
      (((packet[8] ?? 0) << 24) | ((packet[9] ?? 0) << 16) | ((packet[10] ?? 0) << 8) | (packet[11] ?? 0)) >>> 0;
    const s = this.#stream(ssrc, seq);
    // Sender ROC (§3.3.1): increments when the sequence number wraps.
    if (seq < s.highestSeq && s.highestSeq - seq > 0x8000) {
      s.roc = (s.roc + 1) >>> 0;
      s.highestSeq = seq;
    } else if (seq > s.highestSeq) {
      s.highestSeq = seq;
    }
    const index = s.roc * 0x1_0000 + seq;
    const tagLen = this.suite.rtpTagLength;
    const out = Buffer.allocUnsafe(packet.length + tagLen);
    out.set(packet.subarray(0, headerLength), 0);
    this.#rtpCm.apply(
      packetIv(this.#iv, this.#rtp.salt, ssrc, index),
      packet.subarray(headerLength),
      out,
      headerLength,
    );
    const tag = this.#tag(this.#rtp.auth, out.subarray(0, packet.length), s.roc, tagLen);
    tag.copy(out, packet.length);
    return out;
  }

  /**
   * Unprotects an SRTP packet (§3.3): estimates the index from the ROC, checks replay, verifies the tag, decrypts,
   * then advances the ROC and the replay window.
   * @returns the plain RTP packet, or why it was refused.
   */
  unprotectRtp(packet: Uint8Array, headerLength: number): Buffer | SrtpFailure {
    const tagLen = this.suite.rtpTagLength;
    if (packet.length < headerLength + tagLen || packet.length < 12 + tagLen) {
      return "too-short";
    }
    const seq = ((packet[2] ?? 0) << 8) | (packet[3] ?? 0);
    const ssrc =
      (((packet[8] ?? 0) << 24) | ((packet[9] ?? 0) << 16) | ((packet[10] ?? 0) << 8) | (packet[11] ?? 0)) >>> 0;
    const known = this.#streams.get(ssrc);
    const s = known ?? { roc: 0, highestSeq: seq, replay: new ReplayWindow(), rtcpIndex: 0 };
    // Index estimation (Appendix A).
    let v = s.roc;
    if (s.highestSeq < 0x8000) {
      if (seq - s.highestSeq > 0x8000) {
        v = s.roc - 1;
      }
    } else if (s.highestSeq - 0x8000 > seq) {
      v = s.roc + 1;
    }
    if (v < 0) {
      return "too-old";
    }
    const index = v * 0x1_0000 + seq;
    const replay = s.replay.check(index);
    if (replay !== "ok") {
      return replay;
    }
    const authLen = packet.length - tagLen;
    const expected = this.#tag(this.#rtp.auth, packet.subarray(0, authLen), v, tagLen);
    if (!timingSafeEqual(expected, packet.subarray(authLen))) {
      return "auth-failed";
    }
    if (!this.#use()) {
      return "key-expired";
    }
    if (known === undefined) {
      this.#streams.set(ssrc, s);
    }
    s.replay.accept(index);
    if (v > s.roc) {
      s.roc = v;
      s.highestSeq = seq;
    } else if (v === s.roc && seq > s.highestSeq) {
      s.highestSeq = seq;
    }
    const out = Buffer.allocUnsafe(authLen);
    out.set(packet.subarray(0, headerLength), 0);
    this.#rtpCm.apply(
      packetIv(this.#iv, this.#rtp.salt, ssrc, index),
      packet.subarray(headerLength, authLen),
      out,
      headerLength,
    );
    return out;
  }

  /**
   * Protects a (compound) RTCP packet (§3.4): everything after the first 8 bytes is encrypted, then the E flag and
   * the 31-bit SRTCP index and the tag are appended.
   */
  protectRtcp(packet: Uint8Array): Buffer | "key-expired" | "too-short" {
    if (packet.length < 8) {
      return "too-short";
    }
    if (!this.#use()) {
      return "key-expired";
    }
    const ssrc =
      (((packet[4] ?? 0) << 24) | ((packet[5] ?? 0) << 16) | ((packet[6] ?? 0) << 8) | (packet[7] ?? 0)) >>> 0;
    const s = this.#stream(ssrc, 0);
    const index = s.rtcpIndex;
    s.rtcpIndex = (s.rtcpIndex + 1) & 0x7fff_ffff;
    const tagLen = this.suite.rtcpTagLength;
    const out = Buffer.allocUnsafe(packet.length + 4 + tagLen);
    out.set(packet.subarray(0, 8), 0);
    this.#rtcpCm.apply(packetIv(this.#iv, this.#rtcp.salt, ssrc, index), packet.subarray(8), out, 8);
    out.writeUInt32BE((0x8000_0000 | index) >>> 0, packet.length);
    this.#tag(this.#rtcp.auth, out.subarray(0, packet.length + 4), undefined, tagLen).copy(out, packet.length + 4);
    return out;
  }

  /** Unprotects an SRTCP packet; plain RTCP or why it was refused. */
  unprotectRtcp(packet: Uint8Array): Buffer | SrtpFailure {
    const tagLen = this.suite.rtcpTagLength;
    if (packet.length < 8 + 4 + tagLen) {
      return "too-short";
    }
    const authLen = packet.length - tagLen;
    const ei =
      (((packet[authLen - 4] ?? 0) << 24) |
        ((packet[authLen - 3] ?? 0) << 16) |
        ((packet[authLen - 2] ?? 0) << 8) |
        (packet[authLen - 1] ?? 0)) >>>
      0;
    const encrypted = (ei & 0x8000_0000) !== 0;
    const index = ei & 0x7fff_ffff;
    const ssrc =
      (((packet[4] ?? 0) << 24) | ((packet[5] ?? 0) << 16) | ((packet[6] ?? 0) << 8) | (packet[7] ?? 0)) >>> 0;
    let replay = this.#rtcpStreams.get(ssrc);
    const verdict = replay?.check(index) ?? "ok";
    if (verdict !== "ok") {
      return verdict;
    }
    const expected = this.#tag(this.#rtcp.auth, packet.subarray(0, authLen), undefined, tagLen);
    if (!timingSafeEqual(expected, packet.subarray(authLen))) {
      return "auth-failed";
    }
    if (!this.#use()) {
      return "key-expired";
    }
    if (replay === undefined) {
      replay = new ReplayWindow();
      this.#rtcpStreams.set(ssrc, replay);
    }
    replay.accept(index);
    const bodyEnd = authLen - 4;
    if (!encrypted) {
      return Buffer.from(packet.subarray(0, bodyEnd));
    }
    const out = Buffer.allocUnsafe(bodyEnd);
    out.set(packet.subarray(0, 8), 0);
    this.#rtcpCm.apply(packetIv(this.#iv, this.#rtcp.salt, ssrc, index), packet.subarray(8, bodyEnd), out, 8);
    return out;
  }
}

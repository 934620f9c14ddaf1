/**
 * SRTP and SRTCP (RFC 3711, RFC 7714) under one master key: the one implementation behind RtpEndpoint (keys from
 * SDES, RFC 4568) and the WebRTC fast path (keys from the DTLS-SRTP exporter, RFC 5764). It keeps the rollover
 * counter of each SSRC (§3.3.1, Appendix A), replay protection (§3.3.2), the SRTCP index with the E flag (§3.4) and
 * the key limits (§9.2); the cipher suite's {@link SrtpTransform} encrypts and authenticates.
 *
 * One session holds one master key, i.e. one direction: our key protects what we send, the peer's key unprotects
 * what we receive. Streams (SSRCs) are tracked inside it; the last one used is cached, so a call with one stream per
 * direction looks no SSRC up in a map.
 *
 * Two shapes of each RTP call: whole packets (`protectRtp`/`unprotectRtp`: RtpEndpoint, which parses the header
 * itself) and header fields with a payload (`protect`/`unprotect`: the WebRTC fast path, which builds and reads the
 * header here and allocates nothing but the output). Unprotect returns the plain packet or an {@link SrtpFailure}
 * string and never throws: it runs on every received datagram, and a flood of forged packets must cost no exception.
 *
 * Key limits (§9.2, soft and hard) are counted by {@link KeyLimit}.
 */
import { AesCmHmacTransform } from "./AesCmHmacTransform.js";
import { AesGcmTransform } from "./AesGcmTransform.js";
import { KeyLimit } from "./KeyLimit.js";
import { deriveKeys, type DerivedKeys, type SessionKeys } from "./keyDerivation.js";
import { REPLAY_WINDOW, ReplayWindow } from "./ReplayWindow.js";
import { readRtpHeader, type RtpHeaderFields } from "./rtpHeader.js";
import { SrtpConfigError, type SrtpSuite } from "./SrtpSuite.js";
import type { PacketIndex, SrtpTransform } from "./transform.js";

export type SrtpFailure = "too-short" | "malformed" | "auth-failed" | "replay" | "too-old" | "key-expired";

const RTP_HEADER = 12;

/**
 * What we send on one SSRC: the rollover counter, the highest sequence number sent and the next SRTCP index; with
 * the sequence number of the packet being protected it is that packet's {@link PacketIndex}.
 */
interface SendStream extends PacketIndex {
  readonly ssrc: number;
  highestSeq: number;
  rtcpIndex: number;
}

/** What we received on one SSRC: ROC and highest sequence (s_l) of §3.3.1, and the replay window. */
interface ReceiveStream {
  readonly ssrc: number;
  roc: number;
  highestSeq: number;
  readonly replay: ReplayWindow;
}

export interface SrtpSessionOptions {
  /** Key lifetime in packets (from `inline:...|2^20`); default and maximum 2^48. */
  readonly lifetime?: number;
  /** Called once when the key gets within SOFT_LIMIT_MARGIN uses of its limit (see KeyLimit). */
  readonly onSoftLimit?: () => void;
  /** Replay window in packets, SRTP and SRTCP (default {@link REPLAY_WINDOW}; the WebRTC path keeps 64). */
  readonly replayWindow?: number;
}

const readU32 = (b: Uint8Array, at: number): number =>
  ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export class SrtpSession {
  readonly suite: SrtpSuite;
  readonly #keys: DerivedKeys;
  readonly #transform: SrtpTransform;
  readonly #tagLength: number;
  /** Streams by SSRC; the last one used is kept beside its map. */
  readonly #send = new Map<number, SendStream>();
  #lastSend: SendStream | undefined;
  readonly #receive = new Map<number, ReceiveStream>();
  #lastReceive: ReceiveStream | undefined;
  readonly #rtcpReceive = new Map<number, ReplayWindow>();
  /** The index of the packet being unprotected, handed to the transform (one object, reused). */
  readonly #index: PacketIndex = { ssrc: 0, roc: 0, seq: 0 };
  readonly #window: number;
  readonly #key: KeyLimit;

  /**
   * @param keySalt master key followed by the master salt (the decoded `inline:` value, or the DTLS-SRTP exporter's
   *   key and salt of one side); or session keys already derived (RFC 7714's test vectors are stated so).
   * @throws SrtpConfigError when its length does not fit the suite.
   */
  constructor(suite: SrtpSuite, keySalt: Buffer | DerivedKeys, options: SrtpSessionOptions = {}) {
    this.suite = suite;
    if (Buffer.isBuffer(keySalt)) {
      if (keySalt.length !== suite.keyLength + suite.saltLength) {
        throw new SrtpConfigError(`${suite.name} needs ${suite.keyLength + suite.saltLength} bytes of key and salt`);
      }
      this.#keys = deriveKeys(suite, keySalt.subarray(0, suite.keyLength), keySalt.subarray(suite.keyLength));
    } else {
      this.#keys = keySalt;
    }
    const { rtp, rtcp } = this.#keys;
    this.#transform =
      suite.cipher === "gcm"
        ? new AesGcmTransform(rtp, rtcp)
        : new AesCmHmacTransform(rtp, rtcp, suite.rtpTagLength, suite.rtcpTagLength);
    this.#tagLength = this.#transform.rtpTagLength;
    this.#window = options.replayWindow ?? REPLAY_WINDOW;
    if (this.#window < 32 || this.#window % 32 !== 0) {
      throw new SrtpConfigError(`replay window of ${this.#window} packets: a multiple of 32 is needed`);
    }
    this.#key = new KeyLimit(options.lifetime, options.onSoftLimit);
  }

  /** The derived SRTP session keys (for tests against RFC 3711 B.3). */
  get rtpKeys(): SessionKeys {
    return this.#keys.rtp;
  }

  get rtcpKeys(): SessionKeys {
    return this.#keys.rtcp;
  }

  /** Bytes SRTP adds to an RTP packet. */
  get tagLength(): number {
    return this.#tagLength;
  }

  /** Packets (SRTP + SRTCP) this key has protected or unprotected. */
  get uses(): number {
    return this.#key.uses;
  }

  /** The send stream of `ssrc`, created at sequence number `seq`. */
  #sendStream(ssrc: number, seq: number): SendStream {
    let s = this.#lastSend;
    if (s?.ssrc !== ssrc) {
      s = this.#send.get(ssrc);
      if (s === undefined) {
        s = { ssrc, roc: 0, seq, highestSeq: seq, rtcpIndex: 0 };
        this.#send.set(ssrc, s);
      }
      this.#lastSend = s;
    }
    return s;
  }

  /**
   * The send stream of `ssrc` with its ROC advanced for RTP sequence number `seq` (§3.3.1: it increments when the
   * sequence wraps), as the index of the packet to protect.
   */
  #sent(ssrc: number, seq: number): SendStream {
    const s = this.#sendStream(ssrc, seq);
    if (seq < s.highestSeq && s.highestSeq - seq > 0x8000) {
      s.roc = (s.roc + 1) >>> 0;
      s.highestSeq = seq;
    } else if (seq > s.highestSeq) {
      s.highestSeq = seq;
    }
    s.seq = seq;
    return s;
  }

  /**
   * Protects an RTP packet: encrypts the payload (everything after the header, CSRCs and extension at
   * `headerLength`) and appends the authentication tag.
   * @returns the SRTP packet, or "key-expired" at the hard limit.
   */
  protectRtp(packet: Uint8Array, headerLength: number): Buffer | "key-expired" {
    if (!this.#key.use()) {
      return "key-expired";
    }
    const p = this.#sent(readU32(packet, 8), (packet[2]! << 8) | packet[3]!);
    const out = Buffer.allocUnsafe(packet.length + this.#tagLength);
    for (let i = 0; i < headerLength; i++) {
      out[i] = packet[i]!;
    }
    this.#transform.protectRtp(out, headerLength, packet, headerLength, p);
    return out;
  }

  /**
   * Builds one SRTP packet: a 12-byte header (no CSRC, no extension) from the fields of `h` (its payloadOffset is
   * not used), then the protected payload and the tag.
   * @returns the SRTP packet, or "key-expired" at the hard limit.
   */
  protect(h: RtpHeaderFields, payload: Uint8Array): Buffer | "key-expired" {
    if (!this.#key.use()) {
      return "key-expired";
    }
    const p = this.#sent(h.ssrc >>> 0, h.sequenceNumber & 0xffff);
    const out = Buffer.allocUnsafe(RTP_HEADER + payload.length + this.#tagLength);
    out[0] = 0x80;
    out[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
    out.writeUInt16BE(p.seq, 2);
    out.writeUInt32BE(h.timestamp >>> 0, 4);
    out.writeUInt32BE(p.ssrc, 8);
    this.#transform.protectRtp(out, RTP_HEADER, payload, 0, p);
    return out;
  }

  /** The receive stream of `ssrc`, or undefined before its first authenticated packet. */
  #received(ssrc: number): ReceiveStream | undefined {
    const last = this.#lastReceive;
    if (last?.ssrc === ssrc) {
      return last;
    }
    const s = this.#receive.get(ssrc);
    if (s !== undefined) {
      this.#lastReceive = s;
    }
    return s;
  }

  /**
   * Unprotects SRTP packet (ssrc, seq) (§3.3): estimates the index from the stream's ROC and s_l (Appendix A),
   * checks replay, verifies the tag and decrypts, then advances the ROC and the replay window. With `payloadOnly`
   * it returns the plain payload without RTP padding (an impossible padding count is "malformed"), else the whole
   * plain packet. A refused packet leaves ROC and replay window as they were.
   */
  #unprotect(
    packet: Uint8Array,
    headerLength: number,
    ssrc: number,
    seq: number,
    payloadOnly: boolean,
  ): Buffer | SrtpFailure {
    const s = this.#received(ssrc);
    let roc = 0;
    if (s !== undefined) {
      roc = s.roc;
      if (s.highestSeq < 0x8000) {
        if (seq - s.highestSeq > 0x8000) {
          roc--;
        }
      } else if (s.highestSeq - 0x8000 > seq) {
        roc++;
      }
      if (roc < 0) {
        return "too-old";
      }
    }
    const index = roc * 0x1_0000 + seq;
    const verdict = s?.replay.check(index) ?? "ok";
    if (verdict !== "ok") {
      return verdict;
    }
    const p = this.#index;
    p.ssrc = ssrc;
    p.roc = roc;
    p.seq = seq;
    let plain = this.#transform.unprotectRtp(packet, headerLength, p, !payloadOnly);
    if (plain === undefined) {
      return "auth-failed";
    }
    if (payloadOnly && (packet[0]! & 0x20) !== 0) {
      // RFC 3550 §5.1: the last octet counts the padding, itself included.
      const pad = plain.length === 0 ? 0 : plain[plain.length - 1]!;
      if (pad === 0 || pad > plain.length) {
        return "malformed";
      }
      plain = plain.subarray(0, plain.length - pad);
    }
    if (!this.#key.use()) {
      return "key-expired";
    }
    if (s === undefined) {
      const created = { ssrc, roc, highestSeq: seq, replay: new ReplayWindow(this.#window) };
      created.replay.accept(index);
      this.#receive.set(ssrc, created);
      this.#lastReceive = created;
    } else {
      s.replay.accept(index);
      if (index > s.roc * 0x1_0000 + s.highestSeq) {
        s.roc = roc;
        s.highestSeq = seq;
      }
    }
    return plain;
  }

  /**
   * Unprotects an SRTP packet whose header (CSRCs and extension included) is `headerLength` bytes.
   * @returns the plain RTP packet, or why it was refused.
   */
  unprotectRtp(packet: Uint8Array, headerLength: number): Buffer | SrtpFailure {
    if (packet.length < headerLength + this.#tagLength || packet.length < RTP_HEADER + this.#tagLength) {
      return "too-short";
    }
    return this.#unprotect(packet, headerLength, readU32(packet, 8), (packet[2]! << 8) | packet[3]!, false);
  }

  /**
   * Reads the header into `h`, then authenticates and decrypts one SRTP packet.
   * @returns its plain payload without RTP padding, or why it was refused ("malformed": not an RTP packet with room
   *   for the tag, or an impossible padding count).
   */
  unprotect(packet: Uint8Array, h: RtpHeaderFields): Buffer | SrtpFailure {
    if (!readRtpHeader(packet, this.#tagLength, h)) {
      return "malformed";
    }
    return this.#unprotect(packet, h.payloadOffset, h.ssrc, h.sequenceNumber, true);
  }

  /**
   * Protects a (compound) RTCP packet (§3.4): everything after the first 8 bytes is encrypted, the E flag and the
   * 31-bit SRTCP index of the sender SSRC are added, and the tag.
   */
  protectRtcp(packet: Uint8Array): Buffer | "key-expired" | "too-short" {
    if (packet.length < 8) {
      return "too-short";
    }
    if (!this.#key.use()) {
      return "key-expired";
    }
    const ssrc = readU32(packet, 4);
    const s = this.#sendStream(ssrc, 0);
    const index = s.rtcpIndex;
    s.rtcpIndex = (index + 1) & 0x7fff_ffff;
    return this.#transform.protectRtcp(packet, ssrc, index);
  }

  /** Unprotects an SRTCP packet; plain RTCP or why it was refused. */
  unprotectRtcp(packet: Uint8Array): Buffer | SrtpFailure {
    const t = this.#transform;
    if (packet.length < 8 + t.rtcpTrailerLength) {
      return "too-short";
    }
    const ei = readU32(packet, t.rtcpIndexOffset(packet.length));
    const index = ei & 0x7fff_ffff;
    const ssrc = readU32(packet, 4);
    let replay = this.#rtcpReceive.get(ssrc);
    const verdict = replay?.check(index) ?? "ok";
    if (verdict !== "ok") {
      return verdict;
    }
    const out = t.unprotectRtcp(packet, ssrc, index, (ei & 0x8000_0000) !== 0);
    if (out === undefined) {
      return "auth-failed";
    }
    if (!this.#key.use()) {
      return "key-expired";
    }
    if (replay === undefined) {
      replay = new ReplayWindow(this.#window);
      this.#rtcpReceive.set(ssrc, replay);
    }
    replay.accept(index);
    return out;
  }
}

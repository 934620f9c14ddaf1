/**
 * The RTP hot path of one established DTLS-SRTP transport, beside werift instead of through it.
 *
 * werift carries every RTP packet through three event layers (each `Event.execute` starts an async closure), a
 * STUN parse attempt, an SRTP context that copies the packet twice, `RtpPacket.deSerialize`, its receiver (clone,
 * NACK and statistics objects) and, outbound, a sender that rebuilds header extensions, sorts them and awaits two
 * promises per packet. Measured in `npm run bench` that made one forwarded packet cost ~5× a bare UDP echo.
 *
 * Once werift's DTLS handshake has produced SRTP keys, this path:
 *
 * - IN: wraps the `onData` callback of the nominated pair's UDP socket wrapper. SRTP packets (RFC 5761 §4: first
 *   byte 128–191, payload type outside 64–95) from the selected pair's remote address are authenticated and
 *   decrypted by the {@link SrtpStage} (media/endpoint/stages: the plain-UDP transport's stage, over media/srtp's
 *   SrtpSession) straight from the datagram and handed on as header fields plus the plain payload; from any other
 *   address they are dropped unread. Everything else (STUN consent checks, DTLS) goes to werift's original
 *   callback, where InboundGuard filters it.
 * - RTCP IN (with an RTCP handler, as WebRtcTransport gives): SRTCP from the same address is unprotected by the same
 *   stage and handed on as plain RTCP to the RTCP session (media/rtp/RtcpSession.ts), which does the reports, NACKs
 *   and keyframe requests werift's sender and receiver no longer see; werift never sees it. Without a handler SRTCP
 *   goes to werift.
 * - OUT: protects a packet from raw fields into one buffer and sends it with the pair's own dgram socket.
 * - RTCP OUT stays werift's SRTCP (`dtls.srtcp.encrypt`, called by WebRtcTransport): once a packet has gone through
 *   werift's own path (before this path is up, or on a fallback), werift's sender and receiver run their RTCP loops
 *   for good and protect SR/RR, NACK and TWCC with that context. A second SRTCP context under the same master key
 *   would reuse SRTCP indexes on the same SSRC (our SRs use werift's sender SSRC): a two-time pad for AES-CM, and
 *   replays to the peer. See docs/srtp.md.
 *
 * When the selected pair is not plain UDP (TCP, TURN) the caller keeps werift's path.
 */
import type { Socket } from "node:dgram";
import { SrtpStage } from "../endpoint/stages/SrtpStage.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { rtpHeaderFields, type RtpHeaderFields } from "../srtp/rtpHeader.js";
import { SrtpSession } from "../srtp/SrtpSession.js";
import { dtlsProfileSuite } from "../srtp/SrtpSuite.js";

export type { RtpHeaderFields } from "../srtp/rtpHeader.js";

/**
 * The protection profiles werift negotiates (its `Profiles`: RFC 5764 §4.1.2 SRTP_AES128_CM_HMAC_SHA1_80 = 1,
 * RFC 7714 §14.2 SRTP_AEAD_AES_128_GCM = 7); media/srtp implements these and more.
 */
const WERIFT_PROFILES: readonly number[] = [1, 7];
/** The replay window of the WebRTC path, in packets (as before the SRTP implementations were merged). */
const REPLAY_WINDOW = 64;

/** The shapes of werift internals this path touches (not in its public typings). */
interface UdpTransportLike {
  type?: string;
  socket?: Socket;
  closed?: boolean;
  onData: (data: Buffer, addr: [string, number]) => void;
}
interface PairLike {
  protocol: { transport?: UdpTransportLike };
  remoteAddr: [string, number];
  remoteCandidate: { host: string; port: number };
}
interface ConnectionLike {
  nominated?: PairLike;
}
/** werift's SrtpSession: the negotiated profile and the master keys its DTLS transport exported (RFC 5764 §4.2). */
interface SrtpSessionLike {
  config?: {
    profile?: number;
    keys?: { localMasterKey: Buffer; localMasterSalt: Buffer; remoteMasterKey: Buffer; remoteMasterSalt: Buffer };
  };
}
export interface DtlsTransportLike {
  srtp?: unknown;
  iceTransport: { connection: unknown };
}

export type FastRtpHandler = (h: RtpHeaderFields, payload: Buffer, arrivalMs: number) => void;
/** A plain (compound) RTCP packet the fast path unprotected. */
export type FastRtcpHandler = (plain: Buffer) => void;

export class FastRtpPath {
  readonly #conn: ConnectionLike;
  readonly #isPeer: ((protocol: unknown, addr: [string, number]) => boolean) | undefined;
  /** SRTP both ways (keys from the DTLS-SRTP exporter); counts what fails in {@link #counts}. */
  readonly #srtp: SrtpStage;
  readonly #counts = { srtpFailures: 0, malformedRtp: 0 };
  readonly #onRtp: FastRtpHandler;
  readonly #onRtcp: FastRtcpHandler | undefined;
  readonly #log: Logger;
  readonly #h: RtpHeaderFields = rtpHeaderFields();
  /** The header fields of the packet being sent (one object, reused). */
  readonly #sendFields: RtpHeaderFields = rtpHeaderFields();
  readonly #profile: string;
  #pair: PairLike | undefined;
  #transport: UdpTransportLike | undefined;
  #original: ((data: Buffer, addr: [string, number]) => void) | undefined;
  #socket: Socket | undefined;
  #closed = false;
  /** Inbound packets the receive handler failed on. */
  #handlerErrors = 0;
  /** Inbound RTP-looking datagrams dropped because they did not come from the selected pair's remote address. */
  foreign = 0;

  /** The fast path for `dtls`, or undefined when its SRTP profile is not one this path implements. */
  /**
   * `isPeer`, when given, decides about SRTP from an address other than the selected pair's remote one (see
   * InboundGuard.isPeer: a validated pair the controlling peer nominated); without it such packets are dropped.
   * `onRtcp`, when given, takes SRTCP too: unprotected by the same SrtpStage and handed on as plain RTCP (werift
   * then never sees it); without it SRTCP goes to werift.
   */
  static create(
    dtls: DtlsTransportLike,
    onRtp: FastRtpHandler,
    log: Logger,
    isPeer?: (protocol: unknown, addr: [string, number]) => boolean,
    onRtcp?: FastRtcpHandler,
  ): FastRtpPath | undefined {
    const config = (dtls.srtp as SrtpSessionLike | undefined)?.config;
    const profile = config?.profile ?? -1;
    const suite = WERIFT_PROFILES.includes(profile) ? dtlsProfileSuite(profile) : undefined;
    const keys = config?.keys;
    if (suite === undefined || keys === undefined) {
      return undefined;
    }
    const options = { replayWindow: REPLAY_WINDOW };
    return new FastRtpPath(
      dtls.iceTransport.connection as ConnectionLike,
      new SrtpSession(suite, Buffer.concat([keys.remoteMasterKey, keys.remoteMasterSalt]), options),
      new SrtpSession(suite, Buffer.concat([keys.localMasterKey, keys.localMasterSalt]), options),
      onRtp,
      log,
      isPeer,
      onRtcp,
    );
  }

  private constructor(
    conn: ConnectionLike,
    inbound: SrtpSession,
    outbound: SrtpSession,
    onRtp: FastRtpHandler,
    log: Logger,
    isPeer: ((protocol: unknown, addr: [string, number]) => boolean) | undefined,
    onRtcp: FastRtcpHandler | undefined,
  ) {
    this.#onRtcp = onRtcp;
    this.#isPeer = isPeer;
    this.#conn = conn;
    this.#srtp = new SrtpStage(
      { diagnostics: this.#counts, log: new RateLimitedLog(log) },
      undefined,
      inbound,
      outbound,
    );
    this.#profile = outbound.suite.name;
    this.#onRtp = onRtp;
    this.#log = log;
    this.#refresh();
  }

  /** The SRTP suite's name, e.g. "AES_CM_128_HMAC_SHA1_80" or "AEAD_AES_128_GCM". */
  get profile(): string {
    return this.#profile;
  }

  /** Inbound packets refused by SRTP (authentication, replay, malformed) or failed in the receive handler. */
  get dropped(): number {
    return this.#counts.srtpFailures + this.#counts.malformedRtp + this.#handlerErrors;
  }

  /** True while the selected pair is plain UDP and both directions go through this path. */
  get active(): boolean {
    this.#refresh();
    return this.#socket !== undefined;
  }

  /**
   * Protects and sends one packet; returns the protected bytes (for the NACK cache), or undefined when this path
   * cannot send (the caller then uses werift's).
   */
  send(
    ssrc: number,
    payloadType: number,
    seq: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): Buffer | undefined {
    this.#refresh();
    const socket = this.#socket;
    const pair = this.#pair;
    if (socket === undefined || pair === undefined) {
      return undefined;
    }
    const h = this.#sendFields;
    h.ssrc = ssrc;
    h.payloadType = payloadType;
    h.sequenceNumber = seq;
    h.timestamp = timestamp;
    h.marker = marker;
    const packet = this.#srtp.protectFields(h, payload);
    if (packet === undefined) {
      return undefined; // "key-expired" takes 2^48 packets (millennia at 1,000/s); werift's path would then send it
    }
    this.#sendRaw(socket, pair, packet);
    return packet;
  }

  /** Sends an already protected packet again (NACK answer). */
  resend(packet: Buffer): void {
    this.#refresh();
    if (this.#socket !== undefined && this.#pair !== undefined) {
      this.#sendRaw(this.#socket, this.#pair, packet);
    }
  }

  #sendRaw(socket: Socket, pair: PairLike, packet: Buffer): void {
    try {
      socket.send(packet, pair.remoteAddr[1], pair.remoteAddr[0]);
    } catch (err) {
      // The socket closed under us (release in progress): nothing to send to any more.
      this.#log.debug("fast RTP send failed", { error: String(err) });
    }
  }

  /** Restores werift's receive callback. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#unhook();
  }

  /** Follows the nominated pair: hooks a new pair's UDP socket wrapper and unhooks the old one. */
  #refresh(): void {
    if (this.#closed) {
      return;
    }
    const pair = this.#conn.nominated;
    if (pair === this.#pair) {
      return;
    }
    this.#unhook();
    this.#pair = pair;
    const t = pair?.protocol.transport;
    if (t?.type !== "udp" || t.socket === undefined || t.closed === true) {
      return; // TCP or TURN: werift's path.
    }
    const original = t.onData;
    this.#transport = t;
    this.#original = original;
    this.#socket = t.socket;
    t.onData = (data, addr): void => {
      if (!this.#receive(data, addr)) {
        original(data, addr);
      }
    };
  }

  #unhook(): void {
    if (this.#transport !== undefined && this.#original !== undefined) {
      this.#transport.onData = this.#original;
    }
    this.#transport = undefined;
    this.#original = undefined;
    this.#socket = undefined;
    this.#pair = undefined;
  }

  /**
   * Handles an SRTP (and, with an RTCP handler, SRTCP) packet; returns false for anything werift must see (STUN,
   * DTLS; SRTCP without a handler), where InboundGuard filters it. SRTP/SRTCP is taken only from the selected pair's
   * remote address on this socket (a few field reads, no allocation); from anywhere else it is dropped unread.
   */
  #receive(data: Buffer, addr: [string, number]): boolean {
    if (data.length < 12) {
      return false;
    }
    const b0 = data[0]!;
    const pt = data[1]! & 0x7f;
    const rtcp = pt >= 64 && pt <= 95;
    if (b0 < 128 || b0 > 191 || (rtcp && this.#onRtcp === undefined)) {
      return false;
    }
    const n = this.#conn.nominated;
    if (
      (n === undefined ||
        n.protocol.transport !== this.#transport ||
        addr[1] !== n.remoteCandidate.port ||
        addr[0] !== n.remoteCandidate.host) &&
      this.#isPeer?.(this.#pair?.protocol, addr) !== true
    ) {
      this.foreign++;
      return true;
    }
    if (rtcp) {
      this.#receiveRtcp(data);
      return true;
    }
    try {
      const payload = this.#srtp.unprotectFields(data, this.#h);
      if (payload === undefined) {
        return true; // counted and logged by the stage
      }
      this.#onRtp(this.#h, payload, performance.now());
    } catch (err) {
      this.#handlerErrors++;
      this.#log.debug("fast RTP receive failed", { error: String(err) });
    }
    return true;
  }

  /** SRTCP from the peer: unprotected by the stage (failures counted and logged there), then to the RTCP handler. */
  #receiveRtcp(data: Buffer): void {
    try {
      const plain = this.#srtp.rtcpIn(data);
      if (plain !== undefined) {
        this.#onRtcp?.(plain);
      }
    } catch (err) {
      this.#handlerErrors++;
      this.#log.debug("fast RTCP receive failed", { error: String(err) });
    }
  }
}

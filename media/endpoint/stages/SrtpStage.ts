/**
 * SRTP and SRTCP as a datagram stage: the one implementation ({@link SrtpSession}, RFC 3711 + RFC 7714) between the
 * wire and everything else, for both kinds of endpoint. The peer's key unprotects what we receive, ours protects
 * what we send. Keys come from SDES (RFC 4568: UdpTransport.applySdes, {@link keyInbound}/{@link keyOutbound}) or
 * from the DTLS-SRTP exporter (RFC 5764: the WebRTC fast path, given at construction). Until a direction is keyed
 * its datagrams pass through unchanged (plain RTP).
 *
 * A packet that fails (authentication, replay, too old, malformed) is dropped, counted in the owner's
 * `srtpFailures` (a header too short to unprotect in `malformedRtp`) and logged at a bounded rate; unprotect never
 * throws, so a flood of forged packets costs no exception. Two shapes of each RTP call: whole datagrams
 * ({@link rtpIn}/{@link rtpOut}, the {@link DatagramStage} hooks) and header fields with a payload
 * ({@link unprotectFields}/{@link protectFields}, the fast path, which reads and builds the header in one step).
 */
import type { RtpMediaKind } from "../../core/types.js";
import type { RateLimitedLog } from "../../logger.js";
import { rtpHeaderLength } from "../../rtp/RtpPacket.js";
import type { RtpHeaderFields } from "../../srtp/rtpHeader.js";
import type { SrtpFailure, SrtpSession } from "../../srtp/SrtpSession.js";
import type { DatagramStage } from "./DatagramStage.js";

/** Where an SRTP stage counts and logs what it drops (the endpoint's diagnostics, or the fast path's counters). */
export interface SrtpStageOwner {
  /** For the log lines (the fast path's logger already names its element). */
  readonly elementId?: string;
  readonly diagnostics: { srtpFailures: number; malformedRtp: number };
  readonly log: RateLimitedLog;
}

export class SrtpStage implements DatagramStage {
  readonly #owner: SrtpStageOwner;
  readonly #kind: RtpMediaKind | undefined;
  #in: SrtpSession | undefined;
  /** The key the inbound session was made from (a re-offer with the same key keeps the session). */
  #inKey: string | undefined;
  #out: SrtpSession | undefined;
  #closed = false;

  /** @param kind the m-line's kind, for the log lines (undefined: a BUNDLE transport carrying both). */
  constructor(owner: SrtpStageOwner, kind?: RtpMediaKind, inbound?: SrtpSession, outbound?: SrtpSession) {
    this.#owner = owner;
    this.#kind = kind;
    this.#in = inbound;
    this.#out = outbound;
  }

  /** The session that unprotects what we receive, once keyed. */
  get inbound(): SrtpSession | undefined {
    return this.#in;
  }

  /** The session that protects what we send, once keyed. */
  get outbound(): SrtpSession | undefined {
    return this.#out;
  }

  /**
   * Keys the inbound direction from the peer's key `keyId` (e.g. its a=crypto key parameter). The same key again
   * keeps the session: its rollover counters and replay windows must survive a re-offer (a long call has wrapped
   * its sequence numbers; starting over at ROC 0 would fail every packet).
   * @throws what `create` throws (e.g. SrtpConfigError).
   */
  keyInbound(keyId: string, create: () => SrtpSession): void {
    if (!this.#closed && (this.#in === undefined || this.#inKey !== keyId)) {
      this.#in = create();
      this.#inKey = keyId;
    }
  }

  /** Keys the outbound direction with our key, once (a re-offer keeps our key and its session). */
  keyOutbound(create: () => SrtpSession): void {
    if (!this.#closed) {
      this.#out ??= create();
    }
  }

  rtpIn(data: Buffer): Buffer | undefined {
    const session = this.#in;
    if (session === undefined) {
      return data;
    }
    const hdr = rtpHeaderLength(data);
    if (hdr < 0) {
      const o = this.#owner;
      o.diagnostics.malformedRtp++;
      o.log.warn("rtp-malformed", "dropping a malformed RTP datagram (short header)", {
        ...this.#context(),
        bytes: data.length,
      });
      return undefined;
    }
    const r = session.unprotectRtp(data, hdr);
    return typeof r === "string" ? this.#failed("srtp", r) : r;
  }

  /**
   * Reads the header of SRTP packet `data` into `h` and returns its plain payload; undefined (counted, logged)
   * when it fails. Unkeyed: undefined, not counted (the fast path exists only once DTLS has keyed it).
   */
  unprotectFields(data: Buffer, h: RtpHeaderFields): Buffer | undefined {
    const session = this.#in;
    if (session === undefined) {
      return undefined;
    }
    const r = session.unprotect(data, h);
    return typeof r === "string" ? this.#failed("srtp", r) : r;
  }

  rtcpIn(data: Buffer): Buffer | undefined {
    const session = this.#in;
    if (session === undefined) {
      return data;
    }
    const r = session.unprotectRtcp(data);
    return typeof r === "string" ? this.#failed("srtcp", r) : r;
  }

  rtpOut(packet: Buffer): Buffer | undefined {
    const session = this.#out;
    if (session === undefined) {
      return packet;
    }
    const r = session.protectRtp(packet, rtpHeaderLength(packet));
    return typeof r === "string" ? this.#expired() : r;
  }

  /**
   * Builds and protects one packet from header fields and a payload, into one buffer; undefined when unkeyed or
   * when the key is exhausted (2^48 packets: millennia at 1,000/s).
   */
  protectFields(h: RtpHeaderFields, payload: Uint8Array): Buffer | undefined {
    const session = this.#out;
    if (session === undefined) {
      return undefined;
    }
    const r = session.protect(h, payload);
    return typeof r === "string" ? this.#expired() : r;
  }

  /** An RTCP packet we built, protected; undefined (not sent) when it cannot be (key exhausted, too short). */
  rtcpOut(packet: Buffer): Buffer | undefined {
    const session = this.#out;
    if (session === undefined) {
      return packet;
    }
    const r = session.protectRtcp(packet);
    return typeof r === "string" ? undefined : r;
  }

  /**
   * No key is taken after this (a negotiation finishing after the release keys nothing). The keys already in use
   * are kept on purpose: forgetting them would let unprotected datagrams through an unkeyed stage.
   */
  close(): void {
    this.#closed = true;
  }

  #failed(what: "srtp" | "srtcp", r: SrtpFailure): undefined {
    const o = this.#owner;
    o.diagnostics.srtpFailures++;
    o.log.warn(`${what}-${r}`, `dropping an ${what.toUpperCase()} packet: ${r}`, this.#context());
    return undefined;
  }

  #expired(): undefined {
    this.#owner.log.warn("srtp-expired", "SRTP key exhausted: not sending", this.#context());
    return undefined;
  }

  /** The context of a log line (built on failures only). */
  #context(): { elementId?: string; kind?: RtpMediaKind } {
    const id = this.#owner.elementId;
    const kind = this.#kind;
    return { ...(id === undefined ? {} : { elementId: id }), ...(kind === undefined ? {} : { kind }) };
  }
}

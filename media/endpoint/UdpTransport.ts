/**
 * The plain-UDP {@link Transport} of one audio or video m-line (RtpEndpoint, SipEndpoint): one {@link RtpSocket}
 * (even port, RTCP on +1 or rtcp-mux) with symmetric RTP and latching, SDES-SRTP sessions (RFC 4568; the peer's
 * key unprotects what we receive, ours protects what we send), RTCP SR/RR + SDES (+ BYE on release) and PLI, and
 * the m-line's receive and send streams.
 *
 * Receive path, per datagram (never throws; bad input is counted in the endpoint's diagnostics and logged at a
 * bounded rate): the datagram stages (SRTP unprotect) → parse the header (one reader, no allocation) → payload type
 * → valid (the media timeout sees it) → the receive stream counts it per SSRC → MediaPacket → the RTP stage chain →
 * the sinks. Send path: build → the datagram stages (SRTP protect) → the socket.
 */
import { parseInlineKey, receives, type Direction, type NegotiatedMedia } from "../../sdp/index.js";
import type { JsonObject } from "../channel/protocol.js";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import type { PortAllocator } from "../net/PortAllocator.js";
import { RtpSocket } from "../net/RtpSocket.js";
import { RtcpSession } from "../rtp/RtcpSession.js";
import { RTP_HEADER_SIZE, RtpHeaderReader, buildRtp, writeRtpHeader } from "../rtp/RtpPacket.js";
import { isKeyframe } from "../rtp/keyframe.js";
import { latencyStat, streamRecord } from "../rtp/kurentoStats.js";
import { MediaOperationError } from "../errors.js";
import { SrtpSession } from "../srtp/SrtpSession.js";
import { decodeKeySalt, parseLifetime, type SrtpSuite } from "../srtp/SrtpSuite.js";
import { DatagramChain } from "./stages/DatagramStage.js";
import { MediaTimeoutStage } from "./stages/MediaTimeoutStage.js";
import { SrtpStage } from "./stages/SrtpStage.js";
import { RecvStream, type StreamOwner } from "./RecvStream.js";
import { SendStream } from "./SendStream.js";
import type { SendResult, Transport } from "./Transport.js";
import type { StageChain } from "./stages/RtpStage.js";
import { audioCaps, codecTables } from "./udpConfig.js";

/** The endpoint as its UDP transports see it: given once, read per packet (no per-packet closure). */
export interface UdpTransportOwner extends StreamOwner {
  /** NEGOTIATED and not released (a field the endpoint keeps current). */
  negotiated: boolean;
  /** Our RTCP CNAME (SDES). */
  readonly cname: string;
  /** Valid RTP arrived (mediaState CONNECTED). */
  mediaFlowing(): void;
  /** A packet from the peer passed every stage: to the sinks. */
  deliver(packet: MediaPacket): void;
  /** The peer asked for a keyframe (PLI/FIR) on our video. */
  keyframeWanted(): void;
  /** No RTP for the media timeout. */
  mediaTimeout(kind: RtpMediaKind): void;
}

/** The SDES-SRTP parameters of the endpoint (RtpEndpoint ctor `crypto`). */
export interface SdesConfig {
  readonly suite: SrtpSuite;
  /** Our key and salt. */
  readonly localKey: Buffer;
  /** Packets our key may protect (default 2^48). */
  readonly keyLifetime: number | undefined;
  /** The operation's error for an unusable a=crypto. */
  readonly error: "SDP_END_POINT_PROCESS_OFFER_ERROR" | "SDP_END_POINT_PROCESS_ANSWER_ERROR";
  /** Our key nears its limit (OnKeySoftLimit). */
  onSoftLimit(mediaType: RtpMediaKind): void;
}

export interface UdpTransportOptions {
  readonly kind: RtpMediaKind;
  readonly index: number;
  readonly ports: PortAllocator;
  readonly bindAddress: string;
  readonly ipv6: boolean;
  readonly mediaTimeoutMs: number;
  readonly chain: StageChain;
}

export class UdpTransport implements Transport {
  readonly kind: RtpMediaKind;
  readonly index: number;
  readonly socket: RtpSocket;
  readonly recv: RecvStream;
  readonly send: SendStream;
  /** RFC 3550 reports, the peer's SR/RR and feedback (media/rtp/RtcpSession.ts). */
  readonly rtcp: RtcpSession;
  direction: Direction = "inactive";
  /** SDES-SRTP (keyed by {@link applySdes}; plain RTP until then). */
  readonly srtp: SrtpStage;
  /** No valid RTP for the media timeout after a remote description → owner.mediaTimeout (once). */
  readonly timeout: MediaTimeoutStage;
  /** The datagram stages, from the wire inwards: SRTP, the media timeout. */
  readonly #datagrams: DatagramChain;
  readonly #owner: UdpTransportOwner;
  readonly #reader = new RtpHeaderReader();

  private constructor(o: UdpTransportOptions, owner: UdpTransportOwner, socket: RtpSocket) {
    this.kind = o.kind;
    this.index = o.index;
    this.socket = socket;
    this.#owner = owner;
    this.srtp = new SrtpStage(owner, o.kind);
    const kind = o.kind;
    this.timeout = new MediaTimeoutStage(o.mediaTimeoutMs, {
      elementId: owner.elementId,
      log: owner.log,
      timeout: () => owner.mediaTimeout(kind),
      resume: () => owner.mediaFlowing(),
    });
    this.#datagrams = new DatagramChain([this.srtp, this.timeout]);
    this.recv = new RecvStream(o.kind, owner, o.chain);
    this.send = new SendStream(o.kind);
    this.rtcp = new RtcpSession(
      {
        send: (pkt) => this.#sendRtcp(pkt),
        cname: () => owner.cname,
        receivers: () => this.recv.receivers,
        senders: () => (this.send.sender === undefined ? [] : [this.send.sender]),
        keyframeRequested: () => (kind === "VIDEO" ? owner.keyframeWanted() : undefined),
      },
      { reporterSsrc: this.send.localSsrc, reducedSize: false, reportWhenIdle: true },
    );
  }

  /** Opens the socket pair. @throws UnsupportedError when the port range is exhausted. */
  static async open(o: UdpTransportOptions, owner: UdpTransportOwner): Promise<UdpTransport> {
    const ref: { t?: UdpTransport } = {};
    const socket = await RtpSocket.open({
      ports: o.ports,
      bindAddress: o.bindAddress,
      ipv6: o.ipv6,
      logger: owner.logger,
      onRtp: (data, _from, now) => (ref.t === undefined ? false : ref.t.#onRtp(data, now)),
      onRtcp: (data) => (ref.t === undefined ? false : ref.t.#onRtcp(data)),
    });
    ref.t = new UdpTransport(o, owner, socket);
    return ref.t;
  }

  // ---------------------------------------------------------------------------------------------- negotiation

  /**
   * SDES-SRTP for this m-line (RFC 4568): the peer's a=crypto key unprotects what we receive, ours protects what we
   * send. A re-offer that keeps the keys keeps the sessions.
   * @throws MediaOperationError `sdes.error` when the peer sent no usable key for our suite, or an MKI.
   */
  applySdes(m: NegotiatedMedia, sdes: SdesConfig): void {
    const remote = m.crypto?.remote;
    const key = remote === undefined ? undefined : parseInlineKey(remote.keyParams[0] ?? "");
    if (remote === undefined || key === undefined) {
      throw new MediaOperationError(
        sdes.error,
        `m-line ${m.index}: SDES-SRTP required but the peer sent no usable a=crypto for ${sdes.suite.name}`,
      );
    }
    if (key.mki !== undefined) {
      throw new MediaOperationError(sdes.error, `m-line ${m.index}: SRTP MKI is not supported`);
    }
    const suite = sdes.suite;
    const kind = this.kind;
    // A re-offer that keeps the keys keeps the sessions (SrtpStage.keyInbound: ROC and replay windows survive).
    this.srtp.keyInbound(
      remote.keyParams[0] ?? "",
      () => new SrtpSession(suite, decodeKeySalt(suite, key.key), { lifetime: parseLifetime(key.lifetime) }),
    );
    this.srtp.keyOutbound(
      () =>
        new SrtpSession(suite, sdes.localKey, {
          ...(sdes.keyLifetime === undefined ? {} : { lifetime: sdes.keyLifetime }),
          onSoftLimit: () => sdes.onSoftLimit(kind),
        }),
    );
  }

  /**
   * Applies a negotiated m-line: codecs both ways, direction, the remote address (a hold address sends nothing),
   * rtcp-mux.
   * @returns whether there is a remote address to send to (connectionState CONNECTED).
   */
  apply(m: NegotiatedMedia, ptimeMs: number | undefined): boolean {
    const [byRecv, bySend] = codecTables(m.codecs);
    this.recv.byRecvPt = byRecv;
    this.send.bySendKey = bySend;
    this.direction = m.direction;
    if (this.kind === "AUDIO") {
      this.send.caps = audioCaps(bySend, m.direction, ptimeMs);
    }
    const addr = m.remote.address;
    this.socket.setRemote(
      addr === undefined ? undefined : { address: addr, port: m.remote.port },
      addr === undefined ? undefined : { address: addr, port: m.remote.rtcpPort },
      m.rtcpMux,
    );
    this.timeout.arm();
    return addr !== undefined && this.socket.rtpTarget !== undefined;
  }

  // ---------------------------------------------------------------------------------------------- media in

  /** One datagram of RTP from the peer (the socket already checked the source address). Never throws. */
  #onRtp(data: Buffer, now: number): boolean {
    const o = this.#owner;
    if (!o.negotiated) {
      return false;
    }
    const plain = this.#datagrams.rtpIn(data);
    if (plain === undefined) {
      return false;
    }
    const rd = this.#reader;
    const status = rd.read(plain);
    if (status !== "ok") {
      return this.#malformed(plain.length, status);
    }
    const codec = this.recv.byRecvPt.get(rd.payloadType);
    if (codec === undefined) {
      o.diagnostics.unknownPayloadType++;
      o.log.warn(`pt-${rd.payloadType}`, `dropping RTP with payload type ${rd.payloadType}: not negotiated`, {
        elementId: o.elementId,
        kind: this.kind,
      });
      return false; // not usable, so it must not latch (or keep alive) a source address either
    }
    this.#datagrams.rtpValid(now);
    if (!receives(this.direction)) {
      return true;
    }
    if (!this.recv.count(rd, codec, now)) {
      return true; // held back until the next packet confirms the new numbering (RFC 3550 A.1)
    }
    o.mediaFlowing();
    const payload = plain.subarray(rd.payloadOffset, rd.payloadOffset + rd.payloadLength);
    const packet: MediaPacket = {
      kind: this.kind,
      codec: codec.codec,
      clockRate: codec.clockRate,
      payloadType: rd.payloadType,
      ssrc: rd.ssrc,
      sequenceNumber: rd.sequenceNumber,
      timestamp: rd.timestamp,
      marker: rd.marker,
      payload,
      keyframe: this.kind === "VIDEO" && isKeyframe(codec.codec, payload),
      arrivalMs: now,
      sender: this.recv.sender,
    };
    if (this.recv.chain.run(packet)) {
      o.deliver(packet);
    }
    return true;
  }

  #malformed(bytes: number, why: string): false {
    const o = this.#owner;
    o.diagnostics.malformedRtp++;
    o.log.warn("rtp-malformed", `dropping a malformed RTP datagram (${why})`, { elementId: o.elementId, bytes });
    return false;
  }

  /** A (compound) RTCP datagram from the peer: SR/RR feed the stats, PLI/FIR ask upstream for a keyframe. */
  #onRtcp(data: Buffer): boolean {
    const o = this.#owner;
    if (!o.negotiated) {
      return false;
    }
    const plain = this.#datagrams.rtcpIn(data);
    if (plain === undefined) {
      return false;
    }
    try {
      this.rtcp.receive(plain);
    } catch (err) {
      o.diagnostics.malformedRtcp++;
      o.log.warn("rtcp-malformed", "dropping a malformed RTCP datagram", {
        elementId: o.elementId,
        error: String(err),
      });
      return false;
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------- media out

  /** Builds, protects and sends one RTP packet with our SSRC (`codec` is not needed: `pt` is the peer's). */
  sendRtp(
    _kind: RtpMediaKind,
    pt: number,
    _codec: string,
    seq: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): SendResult {
    if (this.srtp.outbound === undefined) {
      // Plain RTP is built in the socket's reusable buffer (no allocation per packet); a view of its length is sent.
      const n = RTP_HEADER_SIZE + payload.length;
      const buf = this.socket.rtpBuffer(n);
      writeRtpHeader(buf, 0, pt, marker, seq, timestamp, this.send.localSsrc);
      buf.set(payload, RTP_HEADER_SIZE);
      return this.socket.sendRtp(buf.length === n ? buf : buf.subarray(0, n)) ? "sent" : "not-ready";
    }
    const out = this.#datagrams.rtpOut(buildRtp(pt, marker, seq, timestamp, this.send.localSsrc, payload));
    return out !== undefined && this.socket.sendRtp(out) ? "sent" : "not-ready";
  }

  /** SR (if we sent since negotiation) or RR, with a block per remote SSRC, + SDES CNAME (+ BYE). */
  sendReport(bye: boolean): void {
    this.rtcp.report(bye);
  }

  /** A PLI (RFC 4585 §6.3.1) for the peer's current SSRC; undefined before we know it. */
  requestKeyframe(): "pli" | undefined {
    const remote = this.recv.currentRemoteSsrc;
    if (remote === undefined) {
      return undefined;
    }
    this.rtcp.requestKeyframe(remote, "pli");
    const st = this.recv.receivers.get(remote);
    if (st !== undefined) {
      st.feedback.pli++;
    }
    return "pli";
  }

  #sendRtcp(packet: Buffer): void {
    const out = this.#datagrams.rtcpOut(packet);
    if (out !== undefined) {
      this.socket.sendRtcp(out);
    }
  }

  /**
   * This m-line's getStats records (kurento-protocol.md §8): an inboundrtp record per remote SSRC (RFC 3550 loss
   * and jitter from our own counters), an outboundrtp record if we send (counts, the peer's RR loss, RTT from
   * LSR/DLSR); its E2E latency goes to `e2e`.
   */
  addStats(records: Record<string, JsonObject>, e2e: JsonObject[], now: number): void {
    for (const r of this.recv.receivers.values()) {
      records[String(r.ssrc)] = streamRecord(r, now, "");
    }
    const tx = this.send.sender;
    if (tx !== undefined) {
      records[String(tx.ssrc)] = streamRecord(tx, now, "");
    }
    if (this.send.e2eMs !== undefined) {
      e2e.push(latencyStat(this.kind, this.send.e2eMs));
    }
  }

  /**
   * Closes the socket (the port pair is returned) and the datagram stages (the media timeout's interval).
   * @throws AggregateError when a datagram stage fails to close (after the socket is closed).
   */
  close(): void {
    this.socket.close();
    this.#datagrams.close();
  }
}

/**
 * The plain-UDP {@link Transport} of one audio or video m-line (RtpEndpoint, SipEndpoint): one {@link RtpSocket}
 * (even port, RTCP on +1 or rtcp-mux) with symmetric RTP and latching, SDES-SRTP sessions (RFC 4568; the peer's
 * key unprotects what we receive, ours protects what we send), RTCP SR/RR + SDES (+ BYE on release) and PLI, and
 * the m-line's receive and send streams.
 *
 * Receive path, per datagram (never throws; bad input is counted in the endpoint's diagnostics and logged at a
 * bounded rate): SRTP unprotect → parse the header (one reader, no allocation) → payload type → the receive
 * stream counts it per SSRC → MediaPacket → the stage chain → the sinks.
 */
import type { Direction } from "../../sdp/index.js";
import { receives } from "../../sdp/index.js";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import type { PortAllocator } from "../net/PortAllocator.js";
import { RtpSocket } from "../net/RtpSocket.js";
import {
  RTCP_PSFB,
  buildBye,
  buildReceiverReport,
  buildSdes,
  buildSenderReport,
  cnameChunk,
  ntpFromMs,
  parseRtcp,
  type ReportBlock,
} from "../rtp/Rtcp.js";
import { RtpHeaderReader, buildRtp, rtpHeaderLength } from "../rtp/RtpPacket.js";
import { isKeyframe } from "../rtp/keyframe.js";
import type { SrtpSession } from "../srtp/SrtpSession.js";
import { RecvStream, type StreamOwner } from "./RecvStream.js";
import { SendStream } from "./SendStream.js";
import type { SendResult, Transport } from "./Transport.js";
import type { StageChain } from "./stages/RtpStage.js";

/** The endpoint as its UDP transports see it: given once, read per packet (no per-packet closure). */
export interface UdpTransportOwner extends StreamOwner {
  /** NEGOTIATED and not released (a field the endpoint keeps current). */
  negotiated: boolean;
  /** Valid RTP arrived (mediaState CONNECTED). */
  mediaFlowing(): void;
  /** A packet from the peer passed every stage: to the sinks. */
  deliver(packet: MediaPacket): void;
  /** The peer asked for a keyframe (PLI/FIR) on our video. */
  keyframeWanted(): void;
  /** No RTP for the media timeout. */
  mediaTimeout(kind: RtpMediaKind): void;
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
  direction: Direction = "inactive";
  srtpIn: SrtpSession | undefined;
  /** The remote key parameter srtpIn was made from. */
  srtpInKey: string | undefined;
  srtpOut: SrtpSession | undefined;
  readonly #owner: UdpTransportOwner;
  readonly #reader = new RtpHeaderReader();

  private constructor(o: UdpTransportOptions, owner: UdpTransportOwner, socket: RtpSocket) {
    this.kind = o.kind;
    this.index = o.index;
    this.socket = socket;
    this.#owner = owner;
    this.recv = new RecvStream(owner, o.chain);
    this.send = new SendStream(o.kind);
  }

  /** Opens the socket pair. @throws UnsupportedError when the port range is exhausted. */
  static async open(o: UdpTransportOptions, owner: UdpTransportOwner): Promise<UdpTransport> {
    const ref: { t?: UdpTransport } = {};
    const socket = await RtpSocket.open({
      ports: o.ports,
      bindAddress: o.bindAddress,
      ipv6: o.ipv6,
      logger: owner.logger,
      mediaTimeoutMs: o.mediaTimeoutMs,
      onRtp: (data) => (ref.t === undefined ? false : ref.t.#onRtp(data)),
      onRtcp: (data) => (ref.t === undefined ? false : ref.t.#onRtcp(data)),
      onTimeout: () => owner.mediaTimeout(o.kind),
      onResume: () => owner.mediaFlowing(),
    });
    ref.t = new UdpTransport(o, owner, socket);
    return ref.t;
  }

  // ---------------------------------------------------------------------------------------------- media in

  /** One datagram of RTP from the peer (the socket already checked the source address). Never throws. */
  #onRtp(data: Buffer): boolean {
    const o = this.#owner;
    if (!o.negotiated) {
      return false;
    }
    let plain: Buffer = data;
    if (this.srtpIn !== undefined) {
      const hdr = rtpHeaderLength(data);
      if (hdr < 0) {
        return this.#malformed(data.length, "short header");
      }
      const r = this.srtpIn.unprotectRtp(data, hdr);
      if (typeof r === "string") {
        o.diagnostics.srtpFailures++;
        o.log.warn(`srtp-${r}`, `dropping an SRTP packet: ${r}`, { elementId: o.elementId, kind: this.kind });
        return false;
      }
      plain = r;
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
    if (!receives(this.direction)) {
      return true;
    }
    const now = performance.now();
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
    let plain: Buffer = data;
    if (this.srtpIn !== undefined) {
      const r = this.srtpIn.unprotectRtcp(data);
      if (typeof r === "string") {
        o.diagnostics.srtpFailures++;
        o.log.warn(`srtcp-${r}`, `dropping an SRTCP packet: ${r}`, { elementId: o.elementId });
        return false;
      }
      plain = r;
    }
    let packets;
    try {
      packets = parseRtcp(plain);
    } catch (err) {
      o.diagnostics.malformedRtcp++;
      o.log.warn("rtcp-malformed", "dropping a malformed RTCP datagram", {
        elementId: o.elementId,
        error: String(err),
      });
      return false;
    }
    const now = performance.now();
    const wall = Date.now();
    for (const p of packets) {
      if (p.type === "sr" || p.type === "rr") {
        if (p.type === "sr") {
          this.recv.receivers.get(p.ssrc)?.onSenderReport(p.ntpSeconds, p.ntpFraction, now);
        }
        for (const b of p.reports) {
          if (b.ssrc === this.send.localSsrc) {
            this.send.sender?.onReportBlock(b, wall);
          }
        }
      } else if (p.type === "other" && p.packetType === RTCP_PSFB && (p.count === 1 || p.count === 4)) {
        if (this.kind === "VIDEO") {
          o.keyframeWanted();
        }
      }
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
    let out: Buffer = buildRtp(pt, marker, seq, timestamp, this.send.localSsrc, payload);
    if (this.srtpOut !== undefined) {
      const r = this.srtpOut.protectRtp(out, 12);
      if (typeof r === "string") {
        this.#owner.log.warn("srtp-expired", "SRTP key exhausted: not sending", { elementId: this.#owner.elementId });
        return "not-ready";
      }
      out = r;
    }
    return this.socket.sendRtp(out) ? "sent" : "not-ready";
  }

  /** SR (if we sent since negotiation) or RR, with a block per remote SSRC, + SDES CNAME (+ BYE). */
  sendReport(cname: string, bye: boolean): void {
    const now = performance.now();
    const s = this.send;
    const blocks: ReportBlock[] = [...this.recv.receivers.values()].map((r) => r.reportBlock(now));
    const parts: Buffer[] = [];
    if (s.sender !== undefined && s.sender.packets > 0) {
      const [sec, frac] = ntpFromMs(Date.now());
      parts.push(
        buildSenderReport({
          ssrc: s.localSsrc,
          ntpSeconds: sec,
          ntpFraction: frac,
          rtpTimestamp: s.sender.rtpTimestampAt(now),
          packetCount: s.sender.packets,
          octetCount: s.sender.octets,
          reports: blocks,
        }),
      );
    } else {
      parts.push(buildReceiverReport({ ssrc: s.localSsrc, reports: blocks }));
    }
    parts.push(buildSdes([cnameChunk(s.localSsrc, cname)]));
    if (bye) {
      parts.push(buildBye([s.localSsrc]));
    }
    this.#sendRtcp(Buffer.concat(parts));
  }

  /** A PLI (RFC 4585 §6.3.1) for the peer's current SSRC; undefined before we know it. */
  requestKeyframe(): "pli" | undefined {
    const remote = this.recv.currentRemoteSsrc;
    if (remote === undefined) {
      return undefined;
    }
    const pli = Buffer.alloc(12);
    pli[0] = 0x81;
    pli[1] = RTCP_PSFB;
    pli.writeUInt16BE(2, 2);
    pli.writeUInt32BE(this.send.localSsrc, 4);
    pli.writeUInt32BE(remote, 8);
    const rr = buildReceiverReport({ ssrc: this.send.localSsrc, reports: [] });
    this.#sendRtcp(Buffer.concat([rr, pli]));
    return "pli";
  }

  #sendRtcp(packet: Buffer): void {
    let pkt = packet;
    if (this.srtpOut !== undefined) {
      const r = this.srtpOut.protectRtcp(pkt);
      if (typeof r === "string") {
        return;
      }
      pkt = r;
    }
    this.socket.sendRtcp(pkt);
  }

  close(): void {
    this.socket.close();
  }
}

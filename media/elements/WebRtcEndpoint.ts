/**
 * WebRtcEndpoint (Kurento elements module, kurento-protocol.md §7.1 SdpEndpoint/BaseRtpEndpoint and §7.2, §14.2):
 * one browser (or any WebRTC peer) attached to the pipeline, SFU style: media from the peer goes to the sinks as
 * MediaPackets; media from the source pads goes to the peer on the codec negotiated for it, with SSRC, sequence
 * number and timestamp rewritten so the peer plays across source switches. No transcoding: a packet whose codec
 * was not negotiated is dropped (rate-limited log, counted in stats).
 *
 * Negotiation state (KMS `SdpEndpointImpl`):
 *
 *     NEW ──processOffer──▶ NEGOTIATED
 *      └──generateOffer──▶ OFFERED ──processAnswer──▶ NEGOTIATED
 *
 * processOffer/generateOffer outside NEW → SDP_END_POINT_ALREADY_NEGOTIATED; processAnswer in NEW →
 * SDP_END_POINT_NOT_OFFER_GENERATED, in NEGOTIATED → SDP_END_POINT_ANSWER_ALREADY_PROCCESED.
 *
 * ICE follows KMS's app-driven trickle: werift gathers while producing our description, but candidates are raised
 * as IceCandidateFound only once gatherCandidates() has been called (buffered until then), and SDPs produced before
 * that carry no candidates. Remote candidates are accepted any time and queued until the remote SDP is applied.
 * The werift peer connection itself is created lazily at the first offer/answer so that the per-endpoint network
 * setters (STUN, TURN, interfaces) can still be applied.
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import { BaseRtpEndpoint } from "../endpoint/BaseRtpEndpoint.js";
import { IceDtlsTransport } from "../endpoint/IceDtlsTransport.js";
import { NegotiationState, type SdpOperationError } from "../endpoint/SdpEndpoint.js";
import { MediaOperationError } from "../errors.js";
import { SdpParseError, SessionDescription } from "../../sdp/index.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { InboundCounters, OutboundCounters } from "../rtp/RtpCounters.js";
import { endpointRecord, latencyStat, rtpStreamRecord } from "../rtp/kurentoStats.js";
import { StreamRewriter } from "../rtp/StreamRewriter.js";
import { isKeyframe } from "../rtp/keyframe.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import type { GuardCounters } from "../webrtc/InboundGuard.js";
import { validateSdp } from "../webrtc/sdpText.js";
import {
  type IncomingRtp,
  type MediaDirection,
  type PeerConnectionState,
  type PeerFeedback,
} from "../webrtc/WebRtcTransport.js";

/** Minimum spacing of keyframe requests sent to the peer (KMS throttles them too). */
const KEYFRAME_REQUEST_MIN_MS = 200;

export class WebRtcEndpoint extends BaseRtpEndpoint<string> {
  readonly #recvonly: boolean;
  readonly #sendonly: boolean;
  readonly #drops: RateLimitedLog;
  readonly #ice: IceDtlsTransport;
  /** NEGOTIATED (a field: read per packet). */
  #negotiated = false;
  #sessionStarted = false;
  #lastKeyframeRequest = -Infinity;
  /** A keyframe was wanted before the peer's video SSRC was known: ask as soon as its first packet arrives. */
  #keyframePending = false;
  /** Outgoing video waits for a keyframe from its current source (see #passVideoGate). */
  readonly #videoGate = {
    source: undefined as object | undefined,
    ssrc: 0,
    open: false,
    lastAskMs: -Infinity,
    dropped: 0,
  };
  // Media state.
  readonly #rewriters = new Map<RtpMediaKind, StreamRewriter>();
  readonly #inbound = new Map<number, InboundCounters>();
  readonly #outbound = new Map<RtpMediaKind, OutboundCounters>();
  readonly #e2e = new Map<RtpMediaKind, number>();

  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.#recvonly = ctor["recvonly"] === true;
    this.#sendonly = ctor["sendonly"] === true;
    this.#drops = new RateLimitedLog(ctx.logger);
    this.#ice = new IceDtlsTransport(ctx.settings.webrtc, {
      logger: ctx.logger,
      ports: ctx.ports,
      emit: (event, data) => this.ctx.emit(event, data),
      negotiating: () => this.negotiating,
      connectionState: (st) => this.#onConnectionState(st),
      rtp: (p) => this.#onPeerRtp(p),
      feedback: (f) => this.#onFeedback(f),
      nackSent: (ssrc) => {
        const c = this.#inbound.get(ssrc);
        if (c !== undefined) {
          c.nackSent++;
        }
      },
      inbound: (ssrc) => this.#inbound.get(ssrc),
    });
  }

  /** Reserves this endpoint's ICE port pair from the worker's slice. */
  override init(): Promise<void> {
    this.#ice.reservePorts();
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------- signalling

  /**
   * SdpEndpoint.processOffer: applies the peer's offer and makes our answer (BUNDLE, rtcp-mux, a=setup:active to
   * an actpass offer, ICE controlled). Candidates queued by addIceCandidate are applied right after.
   * @throws MediaOperationError SDP_END_POINT_PROCESS_OFFER_ERROR when werift refuses the description (e.g. no
   *   common codec).
   */
  protected override async applyOffer(sdp: string): Promise<void> {
    const t = this.#ice.ensure();
    await t.processOffer(sdp, this.#direction());
    this.assertAlive();
  }

  /**
   * SdpEndpoint.generateOffer: one audio and one video m-line (KMS numAudioMedias/numVideoMedias = 1), actpass,
   * ICE controlling. OfferOptions{offerToReceiveAudio, offerToReceiveVideo} default to true.
   * @throws MediaOperationError SDP_END_POINT_GENERATE_OFFER_ERROR.
   */
  protected override async makeOffer(o: JsonObject): Promise<void> {
    const wantAudio = o["offerToReceiveAudio"] !== false;
    const wantVideo = o["offerToReceiveVideo"] !== false;
    const t = this.#ice.ensure();
    // offerToReceive*=false keeps the m-line but only sends on it (or drops it for a recvonly endpoint).
    const dir = (want: boolean): MediaDirection | undefined =>
      want ? this.#direction() : this.#recvonly ? undefined : "sendonly";
    await t.createOffer(dir(wantAudio), dir(wantVideo));
    this.assertAlive();
  }

  /**
   * SdpEndpoint.processAnswer: applies the peer's answer to our offer; ICE and DTLS start at once.
   * @throws MediaOperationError SDP_END_POINT_PROCESS_ANSWER_ERROR.
   */
  protected override async applyAnswer(sdp: string): Promise<void> {
    const t = this.#ice.ensure();
    await t.processAnswer(sdp);
    this.assertAlive();
  }

  protected override onNegotiated(): void {
    this.#negotiated = true;
  }

  /** Once negotiated, the remote candidates queued by addIceCandidate; then the local ones gathering released. */
  protected override async afterNegotiationStep(): Promise<void> {
    if (this.#negotiated) {
      await this.#ice.flushRemoteCandidates();
    }
    this.#ice.afterLocalDescription();
  }

  protected override readRemote(sdp: unknown, what: "offer" | "answer"): string {
    return remoteSdp(sdp, what);
  }

  /** werift's errors never reach the client as they are (see weriftError). */
  protected override foreignSdpError(err: unknown, type: SdpOperationError): Error {
    return weriftError(err, type, this.ctx.logger);
  }

  /** Inbound datagrams refused at the socket edge (not from the selected ICE pair, forged STUN/DTLS), if negotiated. */
  get refusedDatagrams(): GuardCounters | undefined {
    return this.#ice.peer?.dropped;
  }

  /** Our description as KMS shows it (see #present); undefined before there is one. */
  protected override localDescriptor(): string | undefined {
    const sdp = this.#ice.peer?.localSdp;
    return sdp === undefined ? undefined : this.#ice.present(sdp);
  }

  protected override remoteDescriptor(): string | undefined {
    return this.negotiationState === NegotiationState.New ? undefined : this.#ice.peer?.remoteSdp;
  }

  /** The m-line direction the ctor flags ask for (recvonly / sendonly; both is meaningless, so inactive). */
  #direction(): MediaDirection {
    if (this.#recvonly && this.#sendonly) {
      return "inactive";
    }
    return this.#recvonly ? "recvonly" : this.#sendonly ? "sendonly" : "sendrecv";
  }

  /**
   * Peer connection state → ConnectionStateChanged and the media session events: the session starts the first
   * time ICE+DTLS are up and terminates when the connection fails or closes (a transient "disconnected" only
   * flips the states).
   */
  #onConnectionState(s: PeerConnectionState): void {
    if (s === "connected") {
      this.setConnectionState("CONNECTED");
      if (!this.#sessionStarted) {
        this.#sessionStarted = true;
        this.ctx.emit("MediaSessionStarted", {});
      }
    } else if (s === "disconnected" || s === "failed" || s === "closed") {
      this.setConnectionState("DISCONNECTED");
      this.setMediaState("DISCONNECTED");
      if (this.#sessionStarted && s !== "disconnected") {
        this.#sessionStarted = false;
        this.ctx.emit("MediaSessionTerminated", {});
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- media in

  /** RTP from our peer → the pipeline. */
  #onPeerRtp(p: IncomingRtp): void {
    if (this.released) {
      return;
    }
    this.setMediaState("CONNECTED");
    let c = this.#inbound.get(p.ssrc);
    if (c === undefined) {
      c = new InboundCounters(p.ssrc, p.kind, p.clockRate);
      this.#inbound.set(p.ssrc, c);
    }
    c.add(p.sequenceNumber, p.timestamp, p.payload.byteLength, p.clockRate, p.arrivalMs);
    const keyframe = p.kind === "VIDEO" && isKeyframe(p.codec, p.payload);
    if (this.#keyframePending && p.kind === "VIDEO") {
      this.#keyframePending = false;
      if (!keyframe) {
        this.askPeerForKeyframe();
      }
    }
    const packet: MediaPacket = {
      kind: p.kind,
      codec: p.codec,
      clockRate: p.clockRate,
      payloadType: p.payloadType,
      ssrc: p.ssrc,
      sequenceNumber: p.sequenceNumber,
      timestamp: p.timestamp,
      marker: p.marker,
      payload: p.payload,
      keyframe,
      arrivalMs: p.arrivalMs,
    };
    this.sendToSinks(packet);
  }

  /** RTCP feedback from our peer about what we send it. */
  #onFeedback(f: PeerFeedback): void {
    const out = [...this.#outbound.values()].find((o) => o.ssrc === f.ssrc);
    switch (f.type) {
      case "pli":
      case "fir":
        if (out !== undefined) {
          if (f.type === "pli") {
            out.pliReceived++;
          } else {
            out.firReceived++;
          }
        }
        // The peer lost the picture: whoever feeds our video pad must produce a keyframe.
        this.requestKeyframeUpstream();
        break;
      case "nack":
        if (out !== undefined) {
          out.nackReceived++; // werift's sender answers it from its retransmission cache.
        }
        break;
      case "remb":
        if (out !== undefined) {
          out.remb = f.bitrate;
        }
        break;
      case "report":
        if (out !== undefined) {
          out.packetsLost = f.packetsLost;
          out.fractionLost = f.fractionLost;
        }
        break;
    }
  }

  // ---------------------------------------------------------------------------------------------- media out

  /** AUDIO caps of the current negotiation, built at the first request after it. */
  #audioCaps: { remote: string | undefined; caps: SinkAudioCaps } | undefined;

  /**
   * What our peer takes for AUDIO (the transcoder reads it): the negotiated audio codecs, Opus first. Undefined
   * before negotiation. Browsers keep their own RTP flowing rules, so no keep-alive silence (continuous: false).
   */
  override audioSinkCaps(): SinkAudioCaps | undefined {
    const t = this.#ice.peer;
    if (t === undefined || !this.#negotiated) {
      return undefined;
    }
    const remote = t.remoteSdp; // the same string object until the next negotiation
    if (this.#audioCaps === undefined || this.#audioCaps.remote !== remote) {
      const codecs = t.negotiated("AUDIO");
      const formats = this.#recvonly
        ? []
        : codecs
            .filter((c) => c.name.toLowerCase() !== "telephone-event")
            .map((c) => ({
              codec: c.name.toLowerCase(),
              clockRate: c.clockRate,
              channels: c.name.toLowerCase() === "opus" ? 2 : 1,
            }))
            .sort((a, b) => (a.codec === "opus" ? 0 : 1) - (b.codec === "opus" ? 0 : 1));
      const telephoneEvents = codecs.filter((c) => c.name.toLowerCase() === "telephone-event").map((c) => c.clockRate);
      this.#audioCaps = { remote, caps: { formats, telephoneEvents, ptimeMs: undefined, continuous: false } };
    }
    return this.#audioCaps.caps;
  }

  /** A packet from a source pad → our peer, on the negotiated codec, with continuous numbering. */
  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    const t = this.#ice.peer;
    if (t === undefined || !this.#negotiated || this.#recvonly) {
      return;
    }
    let rw = this.#rewriters.get(packet.kind);
    if (rw === undefined) {
      rw = new StreamRewriter();
      this.#rewriters.set(packet.kind, rw);
    }
    const now = performance.now();
    if (packet.kind === "VIDEO" && !this.#passVideoGate(packet, conn, t.dtlsState === "connected", now)) {
      return;
    }
    rw.rewrite(conn.source, packet.ssrc, packet.sequenceNumber, packet.timestamp, packet.clockRate, now);
    const res = t.sendRtp(packet.kind, packet.codec, rw.seq, rw.timestamp, packet.marker, packet.payload);
    const out = this.#outboundFor(packet.kind);
    if (res === "sent") {
      if (packet.kind === "VIDEO") {
        this.#videoGate.open = true;
      }
      if (out !== undefined) {
        out.packets++;
        out.bytes += packet.payload.byteLength;
      }
      const prev = this.#e2e.get(packet.kind);
      const lat = now - packet.arrivalMs;
      this.#e2e.set(packet.kind, prev === undefined ? lat : prev + (lat - prev) / 16);
    } else if (res === "no-codec") {
      if (out !== undefined) {
        out.dropped++;
      }
      this.#drops.warn(
        `codec-${packet.codec}`,
        `dropping ${packet.kind} ${packet.codec}: not negotiated with the peer (no transcoding)`,
        {
          elementId: this.id,
          negotiated: t
            .negotiated(packet.kind)
            .map((c) => c.name)
            .join(","),
        },
      );
    }
  }

  /**
   * Video to our peer starts on a keyframe, as in KMS: after connect, after a source switch, and until our DTLS is
   * up, delta frames would only show as corruption (or nothing) at the receiver. While the gate is closed, delta
   * frames are dropped and a keyframe is asked upstream (at most once a second); the first keyframe packet that
   * is actually sent (on a negotiated codec) opens it.
   */
  #passVideoGate(packet: MediaPacket, conn: Connection, ready: boolean, now: number): boolean {
    const g = this.#videoGate;
    if (g.source !== conn.source || g.ssrc !== packet.ssrc) {
      g.source = conn.source;
      g.ssrc = packet.ssrc;
      g.open = false;
      g.lastAskMs = -Infinity;
    }
    if (g.open) {
      return true;
    }
    if (ready && packet.keyframe) {
      return true; // opens the gate once it is actually sent (see onMedia)
    }
    if (ready && now - g.lastAskMs >= 1000) {
      g.lastAskMs = now;
      this.requestKeyframeUpstream();
    }
    g.dropped++;
    return false;
  }

  #outboundFor(kind: RtpMediaKind): OutboundCounters | undefined {
    let out = this.#outbound.get(kind);
    if (out === undefined) {
      const ssrc = this.#ice.peer?.localSsrc(kind);
      if (ssrc === undefined) {
        return undefined;
      }
      out = new OutboundCounters(ssrc, kind);
      this.#outbound.set(kind, out);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------- keyframes

  /** A sink of ours needs a keyframe: ask our peer (PLI, or FIR when only that was negotiated). */
  protected override askPeerForKeyframe(): void {
    const now = performance.now();
    if (now - this.#lastKeyframeRequest < KEYFRAME_REQUEST_MIN_MS) {
      return;
    }
    const sent = this.#ice.peer?.requestKeyframe();
    if (sent === undefined) {
      this.#keyframePending = true; // not connected or no video received yet
      return;
    }
    this.#lastKeyframeRequest = now;
    for (const c of this.#inbound.values()) {
      if (c.kind === "VIDEO") {
        if (sent === "pli") {
          c.pliSent++;
        } else {
          c.firSent++;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- stats

  /**
   * getStats (kurento-protocol.md §8): an inboundrtp record per SSRC received from the peer (our counters, RFC 3550
   * loss and jitter; firCount/pliCount/nackCount are the requests *we* sent for it), an outboundrtp record per kind
   * we send (counts, the peer's RR loss, werift's RTT, and the PLI/FIR/NACK/REMB the peer sent us), and the
   * EndpointStats record. Records are keyed by SSRC string, as KMS does.
   */
  protected override stats(kind: MediaKind | undefined): Record<string, JsonObject> {
    const now = Date.now();
    const records: Record<string, JsonObject> = {};
    const t = this.#ice.peer;
    const transportId = t?.dtlsTransportId ?? "";
    for (const c of this.#inbound.values()) {
      if (kind !== undefined && c.kind !== kind) {
        continue;
      }
      records[String(c.ssrc)] = {
        ...rtpStreamRecord(c.ssrc, "inboundrtp", now, transportId),
        packetsReceived: c.packets,
        bytesReceived: c.bytes,
        jitter: c.jitterSeconds,
        packetsLost: c.packetsLost,
        fractionLost: c.takeFractionLost(),
        firCount: c.firSent,
        pliCount: c.pliSent,
        nackCount: c.nackSent,
      };
    }
    for (const kindKey of ["AUDIO", "VIDEO"] as const) {
      if (kind !== undefined && kind !== kindKey) {
        continue;
      }
      const o = this.#outboundFor(kindKey);
      if (o === undefined) {
        continue;
      }
      o.roundTripTime = t?.roundTripTime(kindKey) ?? o.roundTripTime;
      records[String(o.ssrc)] = {
        ...rtpStreamRecord(o.ssrc, "outboundrtp", now, transportId),
        packetsSent: o.packets,
        bytesSent: o.bytes,
        targetBitrate: o.remb,
        roundTripTime: o.roundTripTime,
        packetsLost: o.packetsLost,
        fractionLost: o.fractionLost,
        firCount: o.firReceived,
        pliCount: o.pliReceived,
        nackCount: o.nackReceived,
        remb: o.remb,
      };
    }
    // E2E latency: from arrival at the source element's edge to the hand-off to our peer.
    const e2e: JsonObject[] = [];
    for (const [k, avgMs] of this.#e2e) {
      if (kind === undefined || kind === k) {
        e2e.push(latencyStat(k, avgMs));
      }
    }
    records[this.id] = endpointRecord(this.id, now, e2e);
    return records;
  }

  // ---------------------------------------------------------------------------------------------- operations

  protected override operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      ...super.operations(),
      ...this.#ice.operations(),
    };
    return ops;
  }

  // ---------------------------------------------------------------------------------------------- release

  /** Closes the peer connection, returns the port pair, drops queued state. Idempotent; never throws. */
  protected override releaseResources(): void {
    this.#ice.close();
    this.#rewriters.clear();
  }
}

// ------------------------------------------------------------------------------------------------ helpers

/**
 * A remote offer or answer, read by Korus's own parser before werift sees it: the size limits of sdp/limits.ts
 * (length, lines, m= sections, candidates) in one cheap scan, then the SDP grammar and port ranges. werift parses
 * only what passed, so a hostile description costs the worker microseconds and never reaches werift's parser.
 * @throws MediaOperationError SDP_PARSE_ERROR with Korus's message naming the line or the limit.
 */
function remoteSdp(v: unknown, what: "offer" | "answer"): string {
  if (typeof v === "string" && v.trim() !== "") {
    let parsed: SessionDescription;
    try {
      parsed = SessionDescription.parse(v);
    } catch (err) {
      if (err instanceof SdpParseError) {
        throw new MediaOperationError("SDP_PARSE_ERROR", `invalid SDP ${what}: ${err.message}`);
      }
      throw err;
    }
    // ICE is mandatory in WebRTC (RFC 8829 §5.8); werift dereferences the credentials without checking them.
    const index = parsed.media.findIndex((m) => m.port !== 0 && m.ice === undefined);
    if (index !== -1) {
      throw new MediaOperationError(
        "SDP_PARSE_ERROR",
        `invalid SDP ${what}: m= section ${index} has no a=ice-ufrag/a=ice-pwd (ICE is mandatory in WebRTC)`,
      );
    }
  }
  return validateSdp(v, what === "offer" ? "processOffer" : "processAnswer");
}

/**
 * An error of werift (sdpOperationError keeps our named ones) never reaches the client as it is (issue 9, item 10: its internal text
 * leaked as 40205). Its text is logged at debug; the client gets Korus's message: SDP_PARSE_ERROR when werift
 * tripped over the description (a TypeError/RangeError from its parser), else the operation's error.
 */
function weriftError(err: unknown, type: SdpOperationError, logger: Logger): Error {
  logger.debug("werift refused the session description", { operation: type, error: String(err) });
  const what = type === "SDP_END_POINT_PROCESS_ANSWER_ERROR" ? "answer" : "offer";
  if (type !== "SDP_END_POINT_GENERATE_OFFER_ERROR" && (err instanceof TypeError || err instanceof RangeError)) {
    return new MediaOperationError("SDP_PARSE_ERROR", `invalid SDP ${what}: the WebRTC stack cannot use it`);
  }
  return new MediaOperationError(
    type,
    type === "SDP_END_POINT_GENERATE_OFFER_ERROR"
      ? "SDP negotiation failed: the WebRTC stack could not create an offer"
      : `SDP negotiation failed: the WebRTC stack refused the ${what}`,
  );
}

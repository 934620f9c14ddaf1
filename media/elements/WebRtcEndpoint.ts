/**
 * WebRtcEndpoint (Kurento elements module, kurento-protocol.md §7.1 SdpEndpoint/BaseRtpEndpoint and §7.2, §14.2):
 * one browser (or any WebRTC peer) attached to the pipeline, SFU style: media from the peer goes to the sinks as
 * MediaPackets; media from the source pads goes to the peer on the codec negotiated for it, with SSRC, sequence
 * number and timestamp rewritten so the peer plays across source switches. No transcoding: a packet whose codec
 * was not negotiated is dropped (rate-limited log, counted in stats).
 *
 * Negotiation: {@link SdpEndpoint}'s state machine (no re-offer: processOffer once NEGOTIATED is
 * SDP_END_POINT_ALREADY_NEGOTIATED, as in KMS). Transport: {@link IceDtlsTransport} (werift, KMS's app-driven
 * trickle ICE, lazily created so the per-endpoint network setters still apply). Receive stages: keyframe requests.
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { DataMessage, MediaPacket } from "../core/types.js";
import { BaseRtpEndpoint } from "../endpoint/BaseRtpEndpoint.js";
import { DataSession } from "../endpoint/DataSession.js";
import { IceDtlsTransport } from "../endpoint/IceDtlsTransport.js";
import { newDiagnostics, RecvStream, type RtpDiagnostics } from "../endpoint/RecvStream.js";
import { KeyframeRequestStage } from "../endpoint/stages/KeyframeRequestStage.js";
import { StageChain } from "../endpoint/stages/RtpStage.js";
import { remoteSdp, weriftError } from "../endpoint/iceConfig.js";
import { NegotiationState, type SdpOperationError } from "../endpoint/SdpEndpoint.js";
import { RateLimitedLog } from "../logger.js";
import type { RecvStreamStats } from "../rtp/RtpStreamStats.js";
import { endpointRecord, latencyStat, streamRecord } from "../rtp/kurentoStats.js";
import { isKeyframe } from "../rtp/keyframe.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import type { GuardCounters } from "../webrtc/InboundGuard.js";
import { type IncomingRtp, type MediaDirection, type PeerConnectionState } from "../webrtc/WebRtcTransport.js";
import { rejectingAnswer } from "../webrtc/plainOffer.js";
import { SessionDescription } from "../../sdp/index.js";

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
  /** An offer with no WebRTC media, and our answer rejecting each of its m-lines (see applyOffer). */
  #rejected: { readonly offer: string; readonly answer: string } | undefined;
  /** A keyframe was wanted before the peer's video SSRC was known: ask as soon as its first packet arrives. */
  /** The receive stages (one chain: the peer's streams share one BUNDLEd transport). */
  readonly #keyframe = new KeyframeRequestStage(() => this.askPeerForKeyframe());
  readonly #chain = new StageChain([this.#keyframe]);
  /** Outgoing video waits for a keyframe from its current source (see #passVideoGate). */
  readonly #videoGate = {
    source: undefined as object | undefined,
    ssrc: 0,
    open: false,
    lastAskMs: -Infinity,
    dropped: 0,
  };
  /** Bad input and anomalies of the peer's streams (SSRC changes, sequence resets, timestamp jumps). */
  readonly diagnostics: RtpDiagnostics = newDiagnostics();
  /** The peer's streams, by SSRC (one map: SSRCs are unique across the BUNDLE group). */
  readonly #inbound = new Map<number, RecvStreamStats>();
  /** What we receive per kind (fields, read per packet). */
  readonly #audioIn: RecvStream;
  readonly #videoIn: RecvStream;
  /** useDataChannels: SCTP data channels ↔ DATA connections (see DataSession). */
  readonly #data: DataSession;

  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.#recvonly = ctor["recvonly"] === true;
    this.#sendonly = ctor["sendonly"] === true;
    this.#drops = new RateLimitedLog(ctx.logger);
    const owner = { elementId: this.id, diagnostics: this.diagnostics, log: this.#drops, logger: ctx.logger };
    this.#audioIn = new RecvStream("AUDIO", owner, this.#chain, this.#inbound);
    this.#videoIn = new RecvStream("VIDEO", owner, this.#chain, this.#inbound);
    this.#data = new DataSession(
      ctor["useDataChannels"] === true,
      () => this.#ice.peer?.data,
      (event, data) => this.ctx.emit(event, data),
      (msg) => {
        if (!this.released) {
          this.sendDataToSinks(msg);
        }
      },
    );
    this.#ice = new IceDtlsTransport(ctx.settings.webrtc, {
      logger: ctx.logger,
      ports: ctx.ports,
      emit: (event, data) => this.ctx.emit(event, data),
      negotiating: () => this.negotiating,
      connectionState: (st) => this.#onConnectionState(st),
      rtp: (p) => this.#onPeerRtp(p),
      keyframeRequested: () => this.requestKeyframeUpstream(),
      nackSent: (ssrc) => {
        const c = this.#inbound.get(ssrc);
        if (c !== undefined) {
          c.feedback.nack++;
        }
      },
      receivers: () => this.#inbound,
      dataChannels: this.#data.handlers,
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
   * @throws MediaOperationError SDP_END_POINT_PROCESS_OFFER_ERROR when werift refuses it (e.g. no common codec).
   */
  protected override async applyOffer(sdp: string): Promise<void> {
    const rejecting = rejectingAnswer(SessionDescription.parse(sdp), `${Date.now()}`);
    if (rejecting !== undefined) {
      // No WebRTC m-line (a plain RTP/AVP offer): answered as KMS does, every m-line rejected; werift never sees it.
      this.#rejected = { offer: sdp, answer: rejecting };
      return;
    }
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
    if (this.#rejected !== undefined) {
      return this.#rejected.answer;
    }
    const sdp = this.#ice.peer?.localSdp;
    return sdp === undefined ? undefined : this.#ice.present(sdp);
  }

  protected override remoteDescriptor(): string | undefined {
    if (this.#rejected !== undefined) {
      return this.#rejected.offer;
    }
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
   * Peer connection state → ConnectionStateChanged and MediaSessionStarted (ICE+DTLS up the first time) /
   * MediaSessionTerminated (failed or closed; a transient "disconnected" only flips the states).
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
    // Counted per SSRC. Unlike a UDP m-line, a packet held back by a sequence jump is forwarded all the same
    // (werift's receiver has already accepted it).
    const recv = p.kind === "AUDIO" ? this.#audioIn : this.#videoIn;
    recv.countPacket(p.ssrc, p.sequenceNumber, p.timestamp, p.payload.byteLength, p.clockRate, p.arrivalMs);
    const keyframe = p.kind === "VIDEO" && isKeyframe(p.codec, p.payload);
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
      sender: recv.sender,
    };
    if (this.#chain.run(packet)) {
      this.sendToSinks(packet);
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

  /**
   * A packet from a source pad → our peer, on the negotiated codec, through the kind's `SendStream`
   * (continuous numbering, counting, E2E latency) and the ICE/DTLS transport.
   */
  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    const t = this.#ice.peer;
    if (t === undefined || !this.#negotiated || this.#recvonly) {
      return;
    }
    const video = packet.kind === "VIDEO";
    if (video && !this.#passVideoGate(packet, conn, t.dtlsState === "connected", performance.now())) {
      return;
    }
    const s = this.#ice.sendStream(packet.kind);
    if (s === undefined) {
      return; // no m-line of this kind
    }
    const res = s.send(this.#ice, 0, packet.marker, conn.source, packet, packet.arrivalMs);
    if (res === "sent") {
      if (video) {
        this.#videoGate.open = true;
      }
    } else if (res === "no-codec") {
      s.stats.dropped++;
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

  /** A data-channel message from a DATA source → our peer's channel (useDataChannels; else dropped). */
  protected override onData(msg: DataMessage, _conn: Connection): void {
    this.#data.send(msg);
  }

  /**
   * Video to our peer starts on a keyframe, as in KMS (after connect, a source switch, until DTLS is up): delta
   * frames are dropped and a keyframe asked upstream (once a second) until a keyframe packet is actually sent.
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

  // ---------------------------------------------------------------------------------------------- keyframes

  /** A sink of ours needs a keyframe: ask our peer (PLI, or FIR when only that was negotiated). */
  protected override askPeerForKeyframe(): void {
    const now = performance.now();
    if (now - this.#lastKeyframeRequest < KEYFRAME_REQUEST_MIN_MS) {
      return;
    }
    const sent = this.#ice.peer?.requestKeyframe();
    if (sent === undefined) {
      this.#keyframe.pending = true; // not connected or no video received yet
      return;
    }
    this.#lastKeyframeRequest = now;
    for (const c of this.#inbound.values()) {
      if (c.kind === "VIDEO") {
        if (sent === "pli") {
          c.feedback.pli++;
        } else {
          c.feedback.fir++;
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- stats

  /**
   * getStats (kurento-protocol.md §8), keyed by SSRC string as KMS does: inboundrtp per peer SSRC (RFC 3550 loss,
   * jitter; fir/pli/nackCount are the requests *we* sent), outboundrtp per kind we send (the peer's RR loss,
   * werift's RTT, the PLI/FIR/NACK/REMB the peer sent us), and the EndpointStats record.
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
      records[String(c.ssrc)] = streamRecord(c, now, transportId, { fractionLost: c.takeFractionLost() });
    }
    for (const kindKey of ["AUDIO", "VIDEO"] as const) {
      if (kind !== undefined && kind !== kindKey) {
        continue;
      }
      const s = this.#ice.sendStream(kindKey);
      if (s === undefined) {
        continue;
      }
      const o = s.stats;
      o.roundTripTime = t?.roundTripTime(kindKey) ?? o.roundTripTime;
      records[String(o.ssrc)] = streamRecord(o, now, transportId);
    }
    // E2E latency: from arrival at the source element's edge to the hand-off to our peer.
    const e2e: JsonObject[] = [];
    for (const kindKey of ["AUDIO", "VIDEO"] as const) {
      const s = this.#ice.sendStream(kindKey);
      if (s?.e2eMs !== undefined && (kind === undefined || kind === kindKey)) {
        e2e.push(latencyStat(kindKey, s.e2eMs));
      }
    }
    records[this.id] = endpointRecord(this.id, now, e2e);
    if (kind === undefined || kind === "DATA") {
      Object.assign(records, this.#data.stats(now));
    }
    return records;
  }

  protected override operations(): Record<string, Operation> {
    return { ...super.operations(), ...this.#ice.operations(), ...this.#data.operations() };
  }

  // ---------------------------------------------------------------------------------------------- release

  /** Closes the peer connection, returns the port pair, drops queued state. Idempotent; never throws. */
  protected override dispose(): void {
    this.#ice.close();
    try {
      this.#chain.close();
    } catch (err) {
      this.ctx.logger.warn("closing the receive stages failed", { error: String(err) });
    }
  }
}

/**
 * RtpEndpoint (Kurento elements module, kurento-protocol.md §7.1 BaseRtpEndpoint/SdpEndpoint and §7.2): plain RTP
 * or SDES-SRTP towards one peer (a SIP phone or trunk, ffmpeg, another media server), SFU style like
 * WebRtcEndpoint: media from the peer goes to the sinks as MediaPackets; media from the source pads goes to the
 * peer on the codec negotiated for it, with SSRC, sequence number and timestamp rewritten (StreamRewriter). No
 * transcoding here: a packet whose codec the peer did not negotiate is dropped (counted, rate-limited log).
 *
 * Negotiation: {@link SdpEndpoint}'s state machine, with re-offers accepted once NEGOTIATED (hold, resume, a new
 * address or codec set, on the same ports); entering NEGOTIATED arms the RTCP timer, the release stops it.
 *
 * Transport: one {@link UdpTransport} per audio/video m-line (latching, SDES-SRTP when the ctor has `crypto`,
 * RTCP SR/RR + SDES every ~5 s, RFC 3550 §6.2, randomised 0.5–1.5×, and a BYE on release). Packets from the peer run
 * through the stage chain of their m-line ({@link UdpStages}); DTMF towards the peer is {@link DtmfSender}'s.
 *
 * Events: MediaStateChanged (CONNECTED at the first valid RTP, DISCONNECTED after the media timeout, CONNECTED again
 * when RTP resumes), ConnectionStateChanged (CONNECTED once negotiated with a usable remote address), OnKeySoftLimit,
 * DtmfReceived{digit, durationMs} (korus module) for RFC 4733 digits from the peer, and MediaFlowIn/Out from the
 * graph. Bad input from the network (malformed packets, unknown payload types, failed SRTP authentication, SSRC
 * changes, sequence resets, timestamp jumps) is counted in {@link RtpEndpoint.diagnostics} and logged at a bounded
 * rate; nothing from a socket can throw out of the receive path.
 */
import { randomBytes } from "node:crypto";
import { SessionDescription, createAnswer, createOffer, processAnswer, sends } from "../../sdp/index.js";
import type { NegotiatedMedia } from "../../sdp/index.js";
import type { JsonObject, MediaKind } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import { BaseRtpEndpoint } from "../endpoint/BaseRtpEndpoint.js";
import { DtmfSender, type DtmfMode } from "../endpoint/DtmfSender.js";
import { newDiagnostics, type RtpDiagnostics } from "../endpoint/RecvStream.js";
import { UdpStages } from "../endpoint/UdpStages.js";
import { UdpTransport, type UdpTransportOwner } from "../endpoint/UdpTransport.js";
import {
  CAPABILITIES,
  withAnswerCrypto,
  localAddresses,
  nonNegative,
  parseSdes,
  parseSdpArg,
  positive,
} from "../endpoint/udpConfig.js";
import { InvalidStateError, MediaOperationError } from "../errors.js";
import { RateLimitedLog } from "../logger.js";
import { dtmfPackets } from "../rtp/dtmf.js";
import { endpointRecord } from "../rtp/kurentoStats.js";
import type { SrtpSuite } from "../srtp/SrtpSuite.js";
import type { SinkAudioCaps } from "../transcode/format.js";

export type { DtmfMode } from "../endpoint/DtmfSender.js";
export type { RtpDiagnostics } from "../endpoint/RecvStream.js";

/** No RTP for this long after negotiation → MediaStateChanged DISCONNECTED (ctor `mediaTimeoutMs` overrides). */
export const DEFAULT_MEDIA_TIMEOUT_MS = 30_000;
/** RTCP report interval (RFC 3550 §6.2 minimum 5 s), randomised 0.5–1.5×. */
export const RTCP_INTERVAL_MS = 5_000;

export class RtpEndpoint extends BaseRtpEndpoint<SessionDescription> {
  readonly #useIpv6: boolean;
  readonly #suite: SrtpSuite | undefined;
  readonly #localKey: Buffer | undefined;
  readonly #mediaTimeoutMs: number;
  readonly #rtcpIntervalMs: number;
  readonly #keyLifetime: number | undefined;
  readonly #log: RateLimitedLog;
  readonly #address: string;
  readonly #bindAddress: string;
  readonly #cname = `korus-${randomBytes(6).toString("hex")}`;
  readonly #sessionId = String(Date.now());
  #sessionVersion = 0;
  #localSdp: string | undefined;
  #remoteSdp: string | undefined;
  /** Our offer while OFFERED, to read the answer against. */
  #offer: SessionDescription | undefined;
  readonly #streams = new Map<number, UdpTransport>();
  #audio: UdpTransport | undefined;
  #video: UdpTransport | undefined;
  #rtcpTimer: NodeJS.Timeout | undefined;
  readonly diagnostics: RtpDiagnostics = newDiagnostics();
  /** What the transports read and call per packet; `negotiated` is kept current by the negotiation hooks. */
  readonly #owner: UdpTransportOwner;
  readonly #dtmf: DtmfSender;
  readonly #stages: UdpStages;

  /**
   * @param ctor Kurento ctor params: `crypto` (SDES), `useIpv6`; plus Korus's `mediaTimeoutMs` (0 disables),
   *   `rtcpIntervalMs` (default 5000) and `keyLifetime` (packets our SRTP key may protect; default 2^48).
   * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for an unusable SDES (unknown suite, bad key).
   */
  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.#useIpv6 = ctor["useIpv6"] === true;
    this.#log = new RateLimitedLog(ctx.logger);
    this.#mediaTimeoutMs = nonNegative(ctor["mediaTimeoutMs"]) ?? DEFAULT_MEDIA_TIMEOUT_MS;
    this.#rtcpIntervalMs = positive(ctor["rtcpIntervalMs"]) ?? RTCP_INTERVAL_MS;
    this.#keyLifetime = positive(ctor["keyLifetime"]);
    [this.#suite, this.#localKey] = parseSdes(ctor["crypto"]);
    [this.#address, this.#bindAddress] = localAddresses(ctx, this.#useIpv6);
    const owner: UdpTransportOwner = {
      elementId: this.id,
      diagnostics: this.diagnostics,
      log: this.#log,
      logger: ctx.logger,
      negotiated: false,
      cname: this.#cname,
      mediaFlowing: () => this.setMediaState("CONNECTED"),
      deliver: (p) => this.sendToSinks(p),
      keyframeWanted: () => this.requestKeyframeUpstream(),
      mediaTimeout: (kind) => {
        this.#log.warn("media-timeout", `no ${kind} RTP for ${this.#mediaTimeoutMs} ms`, { elementId: this.id });
        this.setMediaState("DISCONNECTED");
      },
    };
    this.#owner = owner;
    this.#dtmf = new DtmfSender({
      elementId: this.id,
      log: this.#log,
      get negotiated() {
        return owner.negotiated;
      },
      audio: () => this.#audio,
      emit: (event, data) => this.ctx.emit(event, data),
      inbandStopped: () => this.#stages.inband.reset(),
    });
    this.#stages = new UdpStages({
      elementId: this.id,
      log: this.#log,
      digit: (digit, durationMs) => {
        this.diagnostics.dtmfDigits++;
        this.ctx.emit("DtmfReceived", { digit, durationMs });
      },
      askKeyframe: () => this.askPeerForKeyframe(),
      toSinks: (p) => this.sendToSinks(p),
      formatOf: (pt) => this.#audio?.recv.byRecvPt.get(pt),
      inbandUnavailable: () => this.setDtmfMode("rfc4733"),
    });
  }

  /** Whether this endpoint speaks SDES-SRTP. */
  get secure(): boolean {
    return this.#suite !== undefined;
  }

  // ---------------------------------------------------------------------------------------------- negotiation

  /** A re-offer once NEGOTIATED (hold, resume, a new address or codec set) reuses the ports. */
  protected override acceptsReoffer(): boolean {
    return true;
  }

  /** The RTCP timer runs from the first negotiation to the release. */
  protected override onNegotiated(): void {
    this.#owner.negotiated = true;
    if (this.#rtcpTimer === undefined) {
      this.#scheduleRtcp();
    }
  }

  #scheduleRtcp(): void {
    const delay = this.#rtcpIntervalMs * (0.5 + Math.random());
    this.#rtcpTimer = setTimeout(() => {
      this.#rtcpTimer = undefined;
      if (this.#owner.negotiated) {
        this.#sendReports();
        this.#scheduleRtcp();
      }
    }, delay);
    this.#rtcpTimer.unref();
  }

  protected override readRemote(sdp: unknown, what: "offer" | "answer"): SessionDescription {
    return parseSdpArg(sdp, what);
  }

  protected override localDescriptor(): string | undefined {
    return this.#localSdp;
  }

  protected override remoteDescriptor(): string | undefined {
    return this.#remoteSdp;
  }

  #sdes(): Record<string, string> | undefined {
    return this.#suite === undefined || this.#localKey === undefined
      ? undefined
      : { [this.#suite.name]: this.#localKey.toString("base64") };
  }

  /** Opens (or reuses, on a re-offer) the transport of m-line `index`. */
  async #socketFor(index: number, kind: RtpMediaKind): Promise<UdpTransport> {
    const existing = this.#streams.get(index);
    if (existing?.kind === kind) {
      return existing;
    }
    existing?.close();
    const t = await UdpTransport.open(
      {
        kind,
        index,
        ports: this.ctx.ports,
        bindAddress: this.#bindAddress,
        ipv6: this.#useIpv6,
        mediaTimeoutMs: this.#mediaTimeoutMs,
        chain: this.#stages.chainFor(kind),
      },
      this.#owner,
    );
    if (this.released) {
      t.close();
      throw new InvalidStateError(`Object '${this.id}' is released`);
    }
    this.#streams.set(index, t);
    this.#streamsChanged();
    return t;
  }

  /**
   * SdpEndpoint.processOffer: answers the peer's offer (RFC 3264) from our codec list, opens one port pair per
   * audio/video m-line and starts sending to the offered address. A second offer once NEGOTIATED is a re-offer
   * (hold, resume, a new address or codec set) and reuses the ports.
   * @throws MediaOperationError SDP_END_POINT_PROCESS_OFFER_ERROR (no common codec, SRTP mismatch, no free port).
   */
  protected override async applyOffer(offer: SessionDescription): Promise<void> {
    const opened: UdpTransport[] = [];
    try {
      if (this.#suite !== undefined && !offer.media.some((m) => m.proto === "RTP/SAVP" || m.proto === "RTP/SAVPF")) {
        throw new MediaOperationError(
          "SDP_END_POINT_PROCESS_OFFER_ERROR",
          "this RtpEndpoint was created with SDES crypto but the offer has no RTP/SAVP stream",
        );
      }
      const ports = new Map<number, number>();
      for (const [index, m] of offer.media.entries()) {
        if (!m.isRejected && (m.kind === "audio" || m.kind === "video")) {
          const had = this.#streams.has(index);
          const s = await this.#socketFor(index, m.kind === "audio" ? "AUDIO" : "VIDEO");
          if (!had) {
            opened.push(s);
          }
          ports.set(index, s.socket.port);
        }
      }
      const answer = createAnswer(offer, CAPABILITIES, {
        address: this.#address,
        port: (index) => ports.get(index) ?? 9,
        sessionId: this.#sessionId,
        sessionVersion: String(this.#sessionVersion++),
        sessionName: "Kurento Media Server",
        rtcpMux: true,
        bundle: false,
        ...(this.#sdes() === undefined ? {} : { sdes: this.#sdes() }),
        sources: {},
      });
      this.#apply(answer.media, true, offer);
      this.#remoteSdp = offer.toString();
      this.#localSdp = answer.sdp.toString();
    } catch (err) {
      for (const s of opened) {
        this.#closeStream(s);
      }
      throw err;
    }
  }

  /**
   * SdpEndpoint.generateOffer: RTP/AVP (RTP/SAVP with crypto) with one audio and one video m-line;
   * OfferOptions{offerToReceiveAudio, offerToReceiveVideo} (default true) leave a kind out when false.
   * @throws MediaOperationError SDP_END_POINT_GENERATE_OFFER_ERROR.
   */
  protected override async makeOffer(o: JsonObject): Promise<void> {
    const media = (["audio", "video"] as const).filter(
      (k) => o[k === "audio" ? "offerToReceiveAudio" : "offerToReceiveVideo"] !== false,
    );
    try {
      if (media.length === 0) {
        throw new MediaOperationError("SDP_END_POINT_GENERATE_OFFER_ERROR", "the offer would have no media");
      }
      const ports: number[] = [];
      for (const [index, kind] of media.entries()) {
        ports.push((await this.#socketFor(index, kind === "audio" ? "AUDIO" : "VIDEO")).socket.port);
      }
      const sdes = this.#sdes();
      const offer = createOffer(CAPABILITIES, {
        address: this.#address,
        port: (index) => ports[index] ?? 9,
        sessionId: this.#sessionId,
        sessionVersion: String(this.#sessionVersion++),
        sessionName: "Kurento Media Server",
        media,
        rtcpMux: false,
        bundle: false,
        ...(sdes === undefined ? {} : { sdes }),
      });
      this.#offer = offer;
      this.#localSdp = offer.toString();
    } catch (err) {
      for (const s of [...this.#streams.values()]) {
        this.#closeStream(s);
      }
      throw err;
    }
  }

  /**
   * SdpEndpoint.processAnswer: reads the peer's answer to our offer; media starts at once.
   * @throws MediaOperationError SDP_END_POINT_NOT_OFFER_GENERATED or SDP_END_POINT_PROCESS_ANSWER_ERROR.
   */
  protected override applyAnswer(answer: SessionDescription): void {
    const offer = this.#offer;
    if (offer === undefined) {
      throw new MediaOperationError("SDP_END_POINT_NOT_OFFER_GENERATED", "no offer to match the answer with");
    }
    const media = withAnswerCrypto(processAnswer(offer, answer), answer, this.#suite, this.#localKey);
    this.#apply(media, false, answer);
    this.#remoteSdp = answer.toString();
    this.#offer = undefined;
  }

  /**
   * Applies negotiated streams to the sockets: codecs both ways, direction, remote address (hold addresses send
   * nothing), rtcp-mux and SRTP sessions. Streams that were rejected close their socket.
   * @throws MediaOperationError when SRTP is required but a stream has no usable crypto.
   */
  #apply(media: readonly NegotiatedMedia[], answering: boolean, remoteSdp: SessionDescription): void {
    for (const m of media) {
      const stream = this.#streams.get(m.index);
      if (stream === undefined) {
        continue;
      }
      if (!m.accepted || m.codecs.length === 0) {
        this.#closeStream(stream);
        continue;
      }
      if (this.#suite !== undefined && this.#localKey !== undefined) {
        stream.applySdes(m, {
          suite: this.#suite,
          localKey: this.#localKey,
          keyLifetime: this.#keyLifetime,
          error: answering ? "SDP_END_POINT_PROCESS_OFFER_ERROR" : "SDP_END_POINT_PROCESS_ANSWER_ERROR",
          onSoftLimit: (mediaType) => this.ctx.emit("OnKeySoftLimit", { mediaType }),
        });
      }
      if (stream.apply(m, remoteSdp.media[m.index]?.ptime)) {
        this.setConnectionState("CONNECTED");
      }
    }
  }

  #closeStream(s: UdpTransport): void {
    s.close();
    if (this.#streams.get(s.index) === s) {
      this.#streams.delete(s.index);
      this.#streamsChanged();
    }
  }

  /** The first m-line of `kind` (fields, not a search per packet: kept current as m-lines open and close). */
  #streamOf(kind: RtpMediaKind): UdpTransport | undefined {
    return kind === "AUDIO" ? this.#audio : this.#video;
  }

  #streamsChanged(): void {
    const all = [...this.#streams.values()];
    this.#audio = all.find((s) => s.kind === "AUDIO");
    this.#video = all.find((s) => s.kind === "VIDEO");
  }

  // ---------------------------------------------------------------------------------------------- media out

  /** The AMR mode our peer asked for (CMR), for the transcoder that encodes towards it. */
  override amrModeRequest(): number | undefined {
    return this.#stages.amr.modeRequest;
  }

  /** What our peer takes for AUDIO (the transcoder reads it); undefined before negotiation. */
  override audioSinkCaps(): SinkAudioCaps | undefined {
    return this.#dtmf.sinkCaps(this.#owner.negotiated ? this.#audio?.send.caps : undefined);
  }

  protected override audioSourceParameters(payloadType: number): string | undefined {
    return this.#audio?.recv.byRecvPt.get(payloadType)?.parameters;
  }

  /** A packet from a source pad → our peer, on the negotiated payload type, with continuous numbering. */
  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    if (!this.#owner.negotiated) {
      return;
    }
    const s = this.#streamOf(packet.kind);
    if (s === undefined) {
      // Never silent (issue 13): the peer negotiated no m-line of this kind (an audio-only phone behind video).
      this.diagnostics.droppedNoCodec++;
      this.#log.warn(
        `no-${packet.kind}`,
        `dropping ${packet.kind} ${packet.codec}: the peer negotiated no such m-line`,
        {
          elementId: this.id,
        },
      );
      return;
    }
    if (!sends(s.direction)) {
      return;
    }
    if (packet.codec === "telephone-event" && this.#dtmf.mode !== "rfc4733") {
      this.#dtmf.relay(packet, conn);
      return;
    }
    const codec = s.send.codecFor(packet.codec, packet.clockRate);
    if (codec === undefined) {
      this.diagnostics.droppedNoCodec++;
      this.#log.warn(
        `codec-${packet.codec}`,
        `dropping ${packet.kind} ${packet.codec}/${packet.clockRate}: not negotiated with the peer (no transcoding)`,
        { elementId: this.id, negotiated: [...s.send.bySendKey.keys()].join(",") },
      );
      return;
    }
    if (packet.kind === "AUDIO" && this.#dtmf.sending) {
      return; // our own DTMF event is on the wire: the source's audio yields to it (RFC 4733 §2.5.1.2)
    }
    s.send.send(s, codec.sendPt, packet.marker, conn.source, packet, packet.arrivalMs);
  }

  // ---------------------------------------------------------------------------------------------- DTMF

  /** The endpoint's DTMF mode (SipEndpoint sets it from the trunk); switching drops tones still queued. */
  protected setDtmfMode(mode: DtmfMode): void {
    this.#dtmf.setMode(mode);
    this.#stages.inband.enabled = mode === "inband";
  }

  /** A digit the peer sent out of band (a SIP INFO), into the pipeline (DtmfInjectStage). @throws DtmfParseError */
  protected injectDtmf(digit: string, durationMs: number): void {
    if (this.#owner.negotiated) {
      this.#stages.inject.inject(digit, durationMs);
    } else {
      dtmfPackets(digit, 100, 8000); // validates the digit: a bad one throws even before negotiation
    }
  }

  // ---------------------------------------------------------------------------------------------- RTCP, keyframes

  /** Per stream: SR or RR with a block per remote SSRC, + SDES CNAME (+ BYE). */
  #sendReports(bye = false): void {
    for (const s of this.#streams.values()) {
      try {
        s.sendReport(bye);
      } catch (err) {
        this.#log.warn("rtcp-send", "building RTCP failed", { elementId: this.id, error: String(err) });
      }
    }
  }

  /** A sink of ours needs a keyframe: ask our peer with a PLI (RFC 4585 §6.3.1) on the video stream. */
  protected override askPeerForKeyframe(): void {
    const s = this.#video;
    if (s === undefined || !this.#owner.negotiated || s.requestKeyframe() === undefined) {
      this.#stages.keyframe.pending = true;
    }
  }

  // ---------------------------------------------------------------------------------------------- stats

  /** getStats in Kurento's shape (kurento-protocol.md §8): each m-line's records, then the EndpointStats record. */
  protected override stats(kind: MediaKind | undefined): Record<string, JsonObject> {
    const now = Date.now();
    const records: Record<string, JsonObject> = {};
    const e2e: JsonObject[] = [];
    for (const s of this.#streams.values()) {
      if (kind === undefined || kind === s.kind) {
        s.addStats(records, e2e, now);
      }
    }
    records[this.id] = endpointRecord(this.id, now, e2e);
    return records;
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      sendDtmf: (a) => this.#dtmf.sendDtmf(a),
    };
  }

  // ---------------------------------------------------------------------------------------------- release

  /** Sends RTCP BYE, stops the timers and stages, closes the sockets and returns the ports. Never throws. */
  protected override dispose(): void {
    // Each step is guarded: the sockets close whatever the BYE threw (issue 9, defect 2: a BYE to port 65536).
    const guarded = (what: string, step: () => void): void => {
      try {
        step();
      } catch (err) {
        this.ctx.logger.warn(`${what} on release failed`, { elementId: this.id, error: String(err) });
      }
    };
    if (this.#owner.negotiated) {
      guarded("RTCP BYE", () => this.#sendReports(true));
    }
    this.#owner.negotiated = false;
    clearTimeout(this.#rtcpTimer);
    this.#rtcpTimer = undefined;
    guarded("stopping DTMF", () => this.#dtmf.close());
    guarded("closing the stages", () => this.#stages.close());
    for (const s of [...this.#streams.values()]) {
      guarded("closing a stream", () => this.#closeStream(s));
    }
    this.#offer = undefined;
  }
}

/**
 * RtpEndpoint (Kurento elements module, kurento-protocol.md §7.1 BaseRtpEndpoint/SdpEndpoint and §7.2): plain RTP
 * or SDES-SRTP towards one peer (a SIP phone or trunk, ffmpeg, another media server), SFU style like
 * WebRtcEndpoint: media from the peer goes to the sinks as MediaPackets; media from the source pads goes to the
 * peer on the codec negotiated for it, with SSRC, sequence number and timestamp rewritten (StreamRewriter). No
 * transcoding here: a packet whose codec the peer did not negotiate is dropped (counted, rate-limited log).
 *
 * Negotiation state (one validated transition function, which also owns the RTCP timer):
 *
 *     NEW ──processOffer──▶ NEGOTIATED ──processOffer (re-offer: hold, resume, new address)──▶ NEGOTIATED
 *      └──generateOffer──▶ OFFERED ──processAnswer──▶ NEGOTIATED
 *     any ──release──▶ RELEASED
 *
 * generateOffer outside NEW → SDP_END_POINT_ALREADY_NEGOTIATED; processOffer while OFFERED → the same;
 * processAnswer in NEW → SDP_END_POINT_NOT_OFFER_GENERATED, in NEGOTIATED → SDP_END_POINT_ANSWER_ALREADY_PROCCESED.
 *
 * Transport: one {@link RtpSocket} per audio/video m-line (even port, RTCP on +1 or rtcp-mux), symmetric RTP with
 * latching, RTCP SR/RR + SDES every ~5 s (RFC 3550 §6.2, randomised 0.5–1.5×) and a BYE on release.
 * `crypto` (Kurento SDES{key | keyBase64, crypto}) turns the offer/answer into RTP/SAVP with one a=crypto line
 * (RFC 4568); the peer's key unprotects what we receive, ours protects what we send; OnKeySoftLimit{mediaType} is
 * raised when our key nears its limit.
 *
 * Events: MediaStateChanged (CONNECTED at the first valid RTP, DISCONNECTED after the media timeout, CONNECTED again
 * when RTP resumes), ConnectionStateChanged (CONNECTED once negotiated with a usable remote address), OnKeySoftLimit,
 * DtmfReceived{digit, durationMs} (korus module) for RFC 4733 digits from the peer, and MediaFlowIn/Out from the
 * graph. Bad input from the network (malformed packets, unknown payload types, failed SRTP authentication, SSRC
 * changes, sequence resets, timestamp jumps) is counted in {@link RtpEndpoint.diagnostics} and logged at a bounded
 * rate; nothing from a socket can throw out of the receive path.
 */
import { randomBytes, randomInt } from "node:crypto";
import os from "node:os";
import {
  SessionDescription,
  createAnswer,
  createOffer,
  parseInlineKey,
  processAnswer,
  sends,
  receives,
  type CodecCapability,
  type Capabilities,
  type Direction,
  type NegotiatedMedia,
} from "../../sdp/index.js";
import { DTMF_OUT_EVENT, type JsonObject, type MediaKind } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import { InvalidStateError, MediaOperationError } from "../errors.js";
import { RateLimitedLog } from "../logger.js";
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
import { RtpReceiverStats, RtpSenderStats } from "../rtp/RtpStats.js";
import { endpointRecord, latencyStat, rtpStreamRecord } from "../rtp/kurentoStats.js";
import { StreamRewriter } from "../rtp/StreamRewriter.js";
import { DtmfDetector, dtmfPackets } from "../rtp/dtmf.js";
import { isKeyframe } from "../rtp/keyframe.js";
import { SrtpSession } from "../srtp/SrtpSession.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import { InbandDtmfReceiver } from "../transcode/InbandDtmfReceiver.js";
import { InbandDtmfSender, type InbandFormat } from "../transcode/InbandDtmfSender.js";
import { BaseRtpEndpoint } from "../endpoint/BaseRtpEndpoint.js";
import { SrtpConfigError, decodeKeySalt, findSuite, parseLifetime, type SrtpSuite } from "../srtp/SrtpSuite.js";

/** No RTP for this long after negotiation → MediaStateChanged DISCONNECTED (ctor `mediaTimeoutMs` overrides). */
export const DEFAULT_MEDIA_TIMEOUT_MS = 30_000;
/** RTCP report interval (RFC 3550 §6.2 minimum 5 s), randomised 0.5–1.5×. */
export const RTCP_INTERVAL_MS = 5_000;
/** Remote SSRCs tracked per stream; older ones are forgotten (bounded memory against SSRC floods). */
const MAX_REMOTE_SSRCS = 8;

/** Codecs offered and accepted, in preference order (issue 4 §3): audio, then pass-through video. */
const AUDIO_CAPABILITIES: readonly CodecCapability[] = [
  { name: "opus", clockRate: 48000, channels: 2, parameters: "minptime=10;useinbandfec=1", preferredPayloadType: 111 },
  { name: "PCMU", clockRate: 8000 },
  { name: "PCMA", clockRate: 8000 },
  { name: "G722", clockRate: 8000 },
  { name: "AMR-WB", clockRate: 16000, parameters: "octet-align=1", preferredPayloadType: 97 },
  { name: "AMR-WB", clockRate: 16000, preferredPayloadType: 98 },
  { name: "AMR", clockRate: 8000, parameters: "octet-align=1", preferredPayloadType: 99 },
  { name: "AMR", clockRate: 8000, preferredPayloadType: 100 },
  { name: "telephone-event", clockRate: 8000, parameters: "0-15", preferredPayloadType: 101 },
  { name: "telephone-event", clockRate: 48000, parameters: "0-15", preferredPayloadType: 110 },
];
const VIDEO_CAPABILITIES: readonly CodecCapability[] = [
  { name: "VP8", clockRate: 90000, rtcpFeedback: ["nack", "nack pli", "ccm fir"], preferredPayloadType: 96 },
  {
    name: "H264",
    clockRate: 90000,
    parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    rtcpFeedback: ["nack", "nack pli", "ccm fir"],
    preferredPayloadType: 102,
  },
];

/** RFC 4733 §2.5.1.2: updates of a long event every 50 ms. */
const DTMF_INTERVAL_MS = 50;
/** Payload formats that travel next to the audio codec rather than being one. */
const AUX_CODECS = new Set(["telephone-event", "cn", "red"]);

/**
 * How DTMF travels between this endpoint and its peer: RFC 4733 telephone-events (the default, and Kurento's), tones
 * in the audio (`inband`), or SIP INFO (`info`: the control plane sends and receives the INFO requests; the worker
 * hands it the digits to send as `korus:DtmfOut` events).
 */
export type DtmfMode = "rfc4733" | "inband" | "info";

/** Gap after a digit relayed from the pipeline (RFC 4733 event in, tones or INFO out). */
const RELAY_GAP_MS = 50;

/** One queued packet of a generated DTMF event (payload undefined: the end of a digit's slot). */
interface DtmfOut {
  readonly stream: RtpStream;
  readonly pt: number;
  readonly rate: number;
  readonly ts: number;
  readonly marker: boolean;
  readonly payload: Buffer | undefined;
  /** Offset from the start of the digit's slot. */
  readonly atMs: number;
}

/** A codec of a negotiated stream, keyed for the hot path. */
interface StreamCodec {
  /** Lower-case name, as in MediaPacket.codec. */
  readonly codec: string;
  readonly clockRate: number;
  readonly recvPt: number;
  readonly sendPt: number;
  /** The peer's fmtp for this codec (ours when it sent none). */
  readonly parameters: string | undefined;
  readonly channels: number;
}

/** Counters of bad input and anomalies, per endpoint (tests and logs read them). */
export interface RtpDiagnostics {
  malformedRtp: number;
  malformedRtcp: number;
  unknownPayloadType: number;
  srtpFailures: number;
  ssrcChanges: number;
  seqResets: number;
  /** 16-bit sequence wraps (normal in long calls; counted, logged at debug level). */
  seqWraps: number;
  timestampJumps: number;
  /** Packets from the pipeline not sent because the peer did not negotiate their codec. */
  droppedNoCodec: number;
  dtmfDigits: number;
}

/** One audio or video m-line: its socket, codecs, SRTP sessions and stats. */
class RtpStream {
  readonly kind: RtpMediaKind;
  readonly index: number;
  readonly socket: RtpSocket;
  readonly localSsrc = randomInt(1, 0xffff_ffff);
  byRecvPt = new Map<number, StreamCodec>();
  bySendKey = new Map<string, StreamCodec>();
  direction: Direction = "inactive";
  srtpIn: SrtpSession | undefined;
  /** The remote key parameter srtpIn was made from. */
  srtpInKey: string | undefined;
  srtpOut: SrtpSession | undefined;
  readonly receivers = new Map<number, RtpReceiverStats>();
  currentRemoteSsrc: number | undefined;
  sender: RtpSenderStats | undefined;
  readonly rewriter = new StreamRewriter();
  readonly dtmf = new DtmfDetector();
  /** E2E latency EWMA (ms) from a source element's edge to our socket. */
  e2eMs: number | undefined;
  /** What the peer takes on this (audio) stream, for the transcoder; rebuilt at each negotiation. */
  caps: SinkAudioCaps | undefined;

  constructor(kind: RtpMediaKind, index: number, socket: RtpSocket) {
    this.kind = kind;
    this.index = index;
    this.socket = socket;
  }
}

export class RtpEndpoint extends BaseRtpEndpoint<SessionDescription> {
  readonly #useIpv6: boolean;
  readonly #suite: SrtpSuite | undefined;
  readonly #localKey: Buffer | undefined;
  readonly #mediaTimeoutMs: number;
  /** CMR of the last AMR packet from the peer (15 = no request). */
  #peerCmr: number | undefined;
  readonly #rtcpIntervalMs: number;
  readonly #keyLifetime: number | undefined;
  readonly #log: RateLimitedLog;
  readonly #address: string;
  readonly #bindAddress: string;
  readonly #cname = `korus-${randomBytes(6).toString("hex")}`;
  readonly #sessionId = String(Date.now());
  #sessionVersion = 0;
  /** NEGOTIATED and not released: media flows (a field, read per packet). */
  #negotiated = false;
  #localSdp: string | undefined;
  #remoteSdp: string | undefined;
  /** Our offer while OFFERED, to read the answer against. */
  #offer: SessionDescription | undefined;
  readonly #streams = new Map<number, RtpStream>();
  #rtcpTimer: NodeJS.Timeout | undefined;
  /** Generated DTMF (sendDtmf): the packets still to send, the generator's own numbering and timer. */
  readonly #dtmfQueue: DtmfOut[] = [];
  /** The generator counts as its own source for the StreamRewriter, so numbering stays continuous around it. */
  readonly #dtmfSource = {};
  #dtmfSeq = 0;
  #dtmfTs = 0;
  #dtmfSending = false;
  #dtmfTimer: NodeJS.Timeout | undefined;
  #dtmfMode: DtmfMode = "rfc4733";
  /** inband/info: what the peer's caps become (telephone-events accepted from the pipeline), per negotiated caps. */
  #relayCaps: { readonly of: SinkAudioCaps; readonly caps: SinkAudioCaps } | undefined;
  /** inband/info: RFC 4733 events from each source turned back into digits. */
  readonly #relayDetectors = new WeakMap<object, DtmfDetector>();
  #inbandOut: InbandDtmfSender | undefined;
  #inbandIn: InbandDtmfReceiver | undefined;
  #inbandTimer: NodeJS.Timeout | undefined;
  /** When the next in-band payload is due (performance.now() ms). */
  #inbandDue = 0;
  /**
   * Digits the peer signalled out of band (SIP INFO), forwarded into the pipeline as RFC 4733 events on a stream of
   * their own (sinks see a source switch, so numbering stays continuous); the peer's audio is held back meanwhile.
   */
  readonly #inject: {
    readonly ssrc: number;
    queue: { digit: string; durationMs: number }[];
    timer: NodeJS.Timeout | undefined;
    seq: number;
    /** The 8 kHz timestamp of the last event, and when it was taken. */
    ts: number;
    tsAtMs: number;
    active: boolean;
  } = {
    ssrc: randomInt(1, 0xffff_ffff),
    queue: [],
    timer: undefined,
    seq: randomInt(0, 0xffff),
    ts: randomInt(0, 0x7fff_ffff),
    tsAtMs: 0,
    active: false,
  };
  /** The peer's last audio packet on an 8 kHz clock (timestamp, arrival), to place injected events in its timeline. */
  #lastAudio8k: { ts: number; atMs: number } | undefined;
  /** A keyframe was wanted before the peer's video SSRC was known: ask at its first non-key packet. */
  #keyframePending = false;
  readonly #reader = new RtpHeaderReader();
  readonly diagnostics: RtpDiagnostics = {
    malformedRtp: 0,
    malformedRtcp: 0,
    unknownPayloadType: 0,
    srtpFailures: 0,
    ssrcChanges: 0,
    seqResets: 0,
    seqWraps: 0,
    timestampJumps: 0,
    droppedNoCodec: 0,
    dtmfDigits: 0,
  };

  /**
   * @param ctor Kurento ctor params: `crypto` (SDES), `useIpv6`; plus Korus's `mediaTimeoutMs` (0 disables),
   *   `rtcpIntervalMs` (default 5000) and `keyLifetime` (packets our SRTP key may protect; default 2^48).
   * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for an unusable SDES (unknown suite, bad key).
   */
  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    this.#useIpv6 = ctor["useIpv6"] === true;
    this.#log = new RateLimitedLog(ctx.logger);
    const timeout = ctor["mediaTimeoutMs"];
    this.#mediaTimeoutMs =
      typeof timeout === "number" && Number.isFinite(timeout) && timeout >= 0 ? timeout : DEFAULT_MEDIA_TIMEOUT_MS;
    this.#rtcpIntervalMs = positive(ctor["rtcpIntervalMs"]) ?? RTCP_INTERVAL_MS;
    this.#keyLifetime = positive(ctor["keyLifetime"]);
    [this.#suite, this.#localKey] = parseSdes(ctor["crypto"]);
    [this.#address, this.#bindAddress] = localAddresses(ctx, this.#useIpv6);
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
    this.#negotiated = true;
    if (this.#rtcpTimer === undefined) {
      this.#scheduleRtcp();
    }
  }

  /** Stops every timer of the endpoint (release). */
  #stopTimers(): void {
    this.#negotiated = false;
    clearTimeout(this.#rtcpTimer);
    this.#rtcpTimer = undefined;
    clearTimeout(this.#dtmfTimer);
    this.#dtmfTimer = undefined;
    this.#dtmfQueue.length = 0;
    this.#stopInband();
    clearTimeout(this.#inject.timer);
    this.#inject.timer = undefined;
    this.#inject.queue.length = 0;
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

  #scheduleRtcp(): void {
    const delay = this.#rtcpIntervalMs * (0.5 + Math.random());
    this.#rtcpTimer = setTimeout(() => {
      this.#rtcpTimer = undefined;
      if (this.#negotiated) {
        this.#sendReports();
        this.#scheduleRtcp();
      }
    }, delay);
    this.#rtcpTimer.unref();
  }

  // ---------------------------------------------------------------------------------------------- signalling

  #capabilities(): Capabilities {
    return { audio: AUDIO_CAPABILITIES, video: VIDEO_CAPABILITIES };
  }

  #sdes(): Record<string, string> | undefined {
    return this.#suite === undefined || this.#localKey === undefined
      ? undefined
      : { [this.#suite.name]: this.#localKey.toString("base64") };
  }

  /** Opens (or reuses, on a re-offer) the socket of m-line `index`. */
  async #socketFor(index: number, kind: RtpMediaKind): Promise<RtpStream> {
    const existing = this.#streams.get(index);
    if (existing?.kind === kind) {
      return existing;
    }
    existing?.socket.close();
    const stream: { s?: RtpStream } = {};
    const socket = await RtpSocket.open({
      ports: this.ctx.ports,
      bindAddress: this.#bindAddress,
      ipv6: this.#useIpv6,
      logger: this.ctx.logger,
      mediaTimeoutMs: this.#mediaTimeoutMs,
      onRtp: (data) => (stream.s === undefined ? false : this.#onRtp(stream.s, data)),
      onRtcp: (data) => (stream.s === undefined ? false : this.#onRtcp(stream.s, data)),
      onTimeout: () => this.#onMediaTimeout(kind),
      onResume: () => this.setMediaState("CONNECTED"),
    });
    if (this.released) {
      socket.close();
      throw new InvalidStateError(`Object '${this.id}' is released`);
    }
    stream.s = new RtpStream(kind, index, socket);
    this.#streams.set(index, stream.s);
    return stream.s;
  }

  /**
   * SdpEndpoint.processOffer: answers the peer's offer (RFC 3264) from our codec list, opens one port pair per
   * audio/video m-line and starts sending to the offered address. A second offer once NEGOTIATED is a re-offer
   * (hold, resume, a new address or codec set) and reuses the ports.
   * @throws MediaOperationError SDP_END_POINT_PROCESS_OFFER_ERROR (no common codec, SRTP mismatch, no free port).
   */
  protected override async applyOffer(offer: SessionDescription): Promise<void> {
    const opened: RtpStream[] = [];
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
      const answer = createAnswer(offer, this.#capabilities(), {
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
      const offer = createOffer(this.#capabilities(), {
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
    const media = processAnswer(offer, answer).map((m) => {
      // processAnswer reads no SDES: take the answer's crypto line for our offered suite (RFC 4568 §7.1.3).
      const crypto = answer.media[m.index]?.crypto.find((c) => c.suite === this.#suite?.name);
      return crypto === undefined || this.#suite === undefined || this.#localKey === undefined
        ? m
        : {
            ...m,
            crypto: {
              remote: crypto,
              local: {
                tag: crypto.tag,
                suite: crypto.suite,
                keyParams: [`inline:${this.#localKey.toString("base64")}`],
                sessionParams: [],
              },
            },
          };
    });
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
      if (this.#suite !== undefined) {
        const remote = m.crypto?.remote;
        const key = remote === undefined ? undefined : parseInlineKey(remote.keyParams[0] ?? "");
        if (remote === undefined || key === undefined || this.#localKey === undefined) {
          throw new MediaOperationError(
            answering ? "SDP_END_POINT_PROCESS_OFFER_ERROR" : "SDP_END_POINT_PROCESS_ANSWER_ERROR",
            `m-line ${m.index}: SDES-SRTP required but the peer sent no usable a=crypto for ${this.#suite.name}`,
          );
        }
        if (key.mki !== undefined) {
          throw new MediaOperationError(
            answering ? "SDP_END_POINT_PROCESS_OFFER_ERROR" : "SDP_END_POINT_PROCESS_ANSWER_ERROR",
            `m-line ${m.index}: SRTP MKI is not supported`,
          );
        }
        const suite = this.#suite;
        const kind = stream.kind;
        // A re-offer that keeps the keys keeps the sessions: their rollover counters and replay windows must
        // survive (a long call has wrapped its sequence numbers; starting over at ROC 0 would fail every packet).
        if (stream.srtpIn === undefined || stream.srtpInKey !== remote.keyParams[0]) {
          stream.srtpIn = new SrtpSession(suite, decodeKeySalt(suite, key.key), {
            lifetime: parseLifetime(key.lifetime),
          });
          stream.srtpInKey = remote.keyParams[0];
        }
        stream.srtpOut ??= new SrtpSession(suite, this.#localKey, {
          ...(this.#keyLifetime === undefined ? {} : { lifetime: this.#keyLifetime }),
          onSoftLimit: () => this.ctx.emit("OnKeySoftLimit", { mediaType: kind }),
        });
      }
      const byRecv = new Map<number, StreamCodec>();
      const bySend = new Map<string, StreamCodec>();
      for (const c of m.codecs) {
        const sc: StreamCodec = {
          codec: c.name.toLowerCase(),
          clockRate: c.clockRate,
          recvPt: c.payloadType,
          sendPt: c.sendPayloadType,
          parameters: c.remoteParameters ?? c.parameters,
          channels: c.channels ?? 1,
        };
        byRecv.set(sc.recvPt, sc);
        const key = `${sc.codec}/${sc.clockRate}`;
        if (!bySend.has(key)) {
          bySend.set(key, sc);
        }
      }
      stream.byRecvPt = byRecv;
      stream.bySendKey = bySend;
      stream.direction = m.direction;
      if (stream.kind === "AUDIO") {
        const send = [...bySend.values()];
        stream.caps = {
          formats: sends(m.direction)
            ? send
                .filter((c) => !AUX_CODECS.has(c.codec))
                .map((c) => ({
                  codec: c.codec,
                  clockRate: c.clockRate,
                  channels: c.channels,
                  ...(c.parameters !== undefined ? { parameters: c.parameters } : {}),
                }))
            : [],
          telephoneEvents: send.filter((c) => c.codec === "telephone-event").map((c) => c.clockRate),
          ptimeMs: remoteSdp.media[m.index]?.ptime,
          continuous: true,
        };
      }
      const addr = m.remote.address;
      stream.socket.setRemote(
        addr === undefined ? undefined : { address: addr, port: m.remote.port },
        addr === undefined ? undefined : { address: addr, port: m.remote.rtcpPort },
        m.rtcpMux,
      );
      if (addr !== undefined && stream.socket.rtpTarget !== undefined) {
        this.setConnectionState("CONNECTED");
      }
    }
  }

  #closeStream(s: RtpStream): void {
    s.socket.close();
    if (this.#streams.get(s.index) === s) {
      this.#streams.delete(s.index);
    }
  }

  #streamOf(kind: RtpMediaKind): RtpStream | undefined {
    for (const s of this.#streams.values()) {
      if (s.kind === kind) {
        return s;
      }
    }
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------- media in

  /** One datagram of RTP from the peer (the socket already checked the source address). Never throws. */
  #onRtp(s: RtpStream, data: Buffer): boolean {
    if (!this.#negotiated) {
      return false;
    }
    let plain: Buffer = data;
    if (s.srtpIn !== undefined) {
      const hdr = rtpHeaderLength(data);
      if (hdr < 0) {
        return this.#malformed(data.length, "short header");
      }
      const r = s.srtpIn.unprotectRtp(data, hdr);
      if (typeof r === "string") {
        this.diagnostics.srtpFailures++;
        this.#log.warn(`srtp-${r}`, `dropping an SRTP packet: ${r}`, { elementId: this.id, kind: s.kind });
        return false;
      }
      plain = r;
    }
    const rd = this.#reader;
    const status = rd.read(plain);
    if (status !== "ok") {
      return this.#malformed(plain.length, status);
    }
    const codec = s.byRecvPt.get(rd.payloadType);
    if (codec === undefined) {
      this.diagnostics.unknownPayloadType++;
      this.#log.warn(`pt-${rd.payloadType}`, `dropping RTP with payload type ${rd.payloadType}: not negotiated`, {
        elementId: this.id,
        kind: s.kind,
      });
      return false; // not usable, so it must not latch (or keep alive) a source address either
    }
    if (!receives(s.direction)) {
      return true;
    }
    const now = performance.now();
    const ssrc = rd.ssrc;
    let st = s.receivers.get(ssrc);
    if (st === undefined) {
      if (s.currentRemoteSsrc !== undefined) {
        this.diagnostics.ssrcChanges++;
        this.#log.warn("ssrc-change", "the peer changed SSRC mid-stream", {
          elementId: this.id,
          from: s.currentRemoteSsrc,
          to: ssrc,
        });
      }
      if (s.receivers.size >= MAX_REMOTE_SSRCS) {
        const oldest = s.receivers.keys().next();
        if (oldest.done !== true) {
          s.receivers.delete(oldest.value);
        }
      }
      st = new RtpReceiverStats(ssrc, codec.clockRate);
      s.receivers.set(ssrc, st);
    }
    s.currentRemoteSsrc = ssrc;
    st.clockRate = codec.clockRate;
    const resets = st.seqResets;
    const jumps = st.timestampJumps;
    const wraps = st.seqWraps;
    const verdict = st.update(rd.sequenceNumber, rd.timestamp, rd.payloadLength, now);
    if (st.seqResets !== resets) {
      this.diagnostics.seqResets++;
      this.#log.warn("seq-reset", "RTP sequence number jumped; stream re-synchronised", { elementId: this.id });
    }
    if (st.seqWraps !== wraps) {
      this.diagnostics.seqWraps++;
      this.ctx.logger.debug("RTP sequence number wrapped", { elementId: this.id, ssrc });
    }
    if (st.timestampJumps !== jumps) {
      this.diagnostics.timestampJumps++;
      this.#log.warn("ts-jump", "RTP timestamp jumped", { elementId: this.id, ssrc });
    }
    if (verdict === "jump-pending") {
      return true; // held back until the next packet confirms the new numbering (RFC 3550 A.1)
    }
    this.setMediaState("CONNECTED");
    const payload = plain.subarray(rd.payloadOffset, rd.payloadOffset + rd.payloadLength);
    const keyframe = s.kind === "VIDEO" && isKeyframe(codec.codec, payload);
    if (this.#keyframePending && s.kind === "VIDEO") {
      this.#keyframePending = false;
      if (!keyframe) {
        this.#sendPli();
      }
    }
    if (codec.codec === "telephone-event") {
      this.#onDtmf(s, rd.timestamp, payload, codec.clockRate);
    } else if (this.#dtmfMode === "inband" && s.kind === "AUDIO" && !AUX_CODECS.has(codec.codec)) {
      this.#onInbandAudio(codec, payload);
    }
    if ((codec.codec === "amr" || codec.codec === "amr-wb") && payload.length > 0) {
      this.#peerCmr = payload[0]! >> 4; // the first 4 bits in both packings (RFC 4867 §4.3.1, §4.4.1)
    }
    const packet: MediaPacket = {
      kind: s.kind,
      codec: codec.codec,
      clockRate: codec.clockRate,
      payloadType: rd.payloadType,
      ssrc,
      sequenceNumber: rd.sequenceNumber,
      timestamp: rd.timestamp,
      marker: rd.marker,
      payload,
      keyframe,
      arrivalMs: now,
    };
    if (s.kind === "AUDIO" && codec.codec !== "telephone-event") {
      if (codec.clockRate === 8000) {
        this.#lastAudio8k ??= { ts: 0, atMs: 0 };
        this.#lastAudio8k.ts = rd.timestamp;
        this.#lastAudio8k.atMs = now;
      }
      if (this.#inject.active) {
        return true; // an injected DTMF event is playing: the peer's audio yields to it (RFC 4733 §2.5.1.2)
      }
    }
    this.sendToSinks(packet);
    return true;
  }

  #malformed(bytes: number, why: string): false {
    this.diagnostics.malformedRtp++;
    this.#log.warn("rtp-malformed", `dropping a malformed RTP datagram (${why})`, { elementId: this.id, bytes });
    return false;
  }

  #onDtmf(s: RtpStream, timestamp: number, payload: Uint8Array, clockRate: number): void {
    if (payload.length < 4) {
      this.#log.warn("dtmf-short", "short telephone-event payload", { elementId: this.id });
      return;
    }
    for (const d of s.dtmf.push(timestamp, payload, clockRate)) {
      this.diagnostics.dtmfDigits++;
      this.ctx.emit("DtmfReceived", { digit: d.digit, durationMs: d.durationMs });
    }
  }

  /** A (compound) RTCP datagram from the peer: SR/RR feed the stats, PLI/FIR ask upstream for a keyframe. */
  #onRtcp(s: RtpStream, data: Buffer): boolean {
    if (!this.#negotiated) {
      return false;
    }
    let plain: Buffer = data;
    if (s.srtpIn !== undefined) {
      const r = s.srtpIn.unprotectRtcp(data);
      if (typeof r === "string") {
        this.diagnostics.srtpFailures++;
        this.#log.warn(`srtcp-${r}`, `dropping an SRTCP packet: ${r}`, { elementId: this.id });
        return false;
      }
      plain = r;
    }
    let packets;
    try {
      packets = parseRtcp(plain);
    } catch (err) {
      this.diagnostics.malformedRtcp++;
      this.#log.warn("rtcp-malformed", "dropping a malformed RTCP datagram", {
        elementId: this.id,
        error: String(err),
      });
      return false;
    }
    const now = performance.now();
    const wall = Date.now();
    for (const p of packets) {
      if (p.type === "sr" || p.type === "rr") {
        if (p.type === "sr") {
          s.receivers.get(p.ssrc)?.onSenderReport(p.ntpSeconds, p.ntpFraction, now);
        }
        for (const b of p.reports) {
          if (b.ssrc === s.localSsrc) {
            s.sender?.onReportBlock(b, wall);
          }
        }
      } else if (p.type === "other" && p.packetType === RTCP_PSFB && (p.count === 1 || p.count === 4)) {
        if (s.kind === "VIDEO") {
          this.requestKeyframeUpstream();
        }
      }
    }
    return true;
  }

  #onMediaTimeout(kind: RtpMediaKind): void {
    this.#log.warn("media-timeout", `no ${kind} RTP for ${this.#mediaTimeoutMs} ms`, { elementId: this.id });
    this.setMediaState("DISCONNECTED");
  }

  // ---------------------------------------------------------------------------------------------- media out

  /** What our peer takes for AUDIO (the transcoder reads it); undefined before negotiation. */
  override amrModeRequest(): number | undefined {
    return this.#peerCmr === undefined || this.#peerCmr === 15 ? undefined : this.#peerCmr;
  }

  override audioSinkCaps(): SinkAudioCaps | undefined {
    const caps = this.#negotiated ? this.#streamOf("AUDIO")?.caps : undefined;
    if (caps === undefined || this.#dtmfMode === "rfc4733" || caps.telephoneEvents.length > 0) {
      return caps;
    }
    // inband/info: telephone-events from the pipeline are welcome (they become tones or INFO requests here).
    if (this.#relayCaps?.of !== caps) {
      this.#relayCaps = { of: caps, caps: { ...caps, telephoneEvents: [8000] } };
    }
    return this.#relayCaps.caps;
  }

  protected override audioSourceParameters(payloadType: number): string | undefined {
    return this.#streamOf("AUDIO")?.byRecvPt.get(payloadType)?.parameters;
  }

  /** A packet from a source pad → our peer, on the negotiated payload type, with continuous numbering. */
  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    if (!this.#negotiated) {
      return;
    }
    const s = this.#streamOf(packet.kind);
    if (s === undefined || !sends(s.direction)) {
      return;
    }
    if (packet.codec === "telephone-event" && this.#dtmfMode !== "rfc4733") {
      this.#relayDtmf(packet, conn);
      return;
    }
    const codec = s.bySendKey.get(`${packet.codec}/${packet.clockRate}`);
    if (codec === undefined) {
      this.diagnostics.droppedNoCodec++;
      this.#log.warn(
        `codec-${packet.codec}`,
        `dropping ${packet.kind} ${packet.codec}/${packet.clockRate}: not negotiated with the peer (no transcoding)`,
        { elementId: this.id, negotiated: [...s.bySendKey.keys()].join(",") },
      );
      return;
    }
    if (packet.kind === "AUDIO" && this.#dtmfSending) {
      return; // our own DTMF event is on the wire: the source's audio yields to it (RFC 4733 §2.5.1.2)
    }
    this.#sendOut(s, codec.sendPt, packet.marker, conn.source, packet, packet.arrivalMs);
  }

  /** Rewrites numbering for `source`, builds, protects and sends one RTP packet on stream `s`. */
  #sendOut(
    s: RtpStream,
    pt: number,
    marker: boolean,
    source: object,
    p: Pick<MediaPacket, "ssrc" | "sequenceNumber" | "timestamp" | "clockRate" | "payload">,
    arrivalMs: number,
  ): void {
    const now = performance.now();
    s.rewriter.rewrite(source, p.ssrc, p.sequenceNumber, p.timestamp, p.clockRate, now);
    let out: Buffer = buildRtp(pt, marker, s.rewriter.seq, s.rewriter.timestamp, s.localSsrc, p.payload);
    if (s.srtpOut !== undefined) {
      const r = s.srtpOut.protectRtp(out, 12);
      if (typeof r === "string") {
        this.#log.warn("srtp-expired", "SRTP key exhausted: not sending", { elementId: this.id });
        return;
      }
      out = r;
    }
    if (s.socket.sendRtp(out)) {
      s.sender ??= new RtpSenderStats(s.localSsrc, p.clockRate);
      s.sender.clockRate = p.clockRate;
      s.sender.sent(s.rewriter.timestamp, p.payload.byteLength, now);
      const lat = now - arrivalMs;
      s.e2eMs = s.e2eMs === undefined ? lat : s.e2eMs + (lat - s.e2eMs) / 16;
    }
  }

  // ---------------------------------------------------------------------------------------------- DTMF out

  /**
   * Korus `sendDtmf(digits, durationMs = 100, gapMs = 50)`: sends each digit as an RFC 4733 event on the
   * negotiated telephone-event payload type whose clock matches the audio codec's (the event shares the audio
   * stream's SSRC and timestamp clock, §2.1): marker on the first packet, updates every 50 ms, the end packet three
   * times. Audio from the pipeline is held back from the first event until the last digit's gap is over (the
   * digits of one call form a single keypad sequence). Digits queue behind those still being sent.
   * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for digits outside 0-9 * # A-D or durations out of
   *   range; SDP_END_POINT_NO_REMOTE_SDP_ERROR before negotiation; MEDIA_OBJECT_OPERATION_NOT_SUPPORTED when the
   *   peer did not negotiate telephone-event.
   */
  #sendDtmf(a: JsonObject): null {
    const digits = a["digits"];
    const duration = a["durationMs"] ?? 100;
    const gap = a["gapMs"] ?? 50;
    if (typeof digits !== "string" || !/^[0-9*#A-Da-d]{1,64}$/.test(digits)) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "digits must be 1-64 of 0-9 * # A-D");
    }
    if (typeof duration !== "number" || duration < 40 || duration > 5000) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "durationMs must be 40..5000");
    }
    if (typeof gap !== "number" || gap < 0 || gap > 5000) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "gapMs must be 0..5000");
    }
    if (!this.#negotiated) {
      throw new MediaOperationError("SDP_END_POINT_NO_REMOTE_SDP_ERROR", "sendDtmf before negotiation");
    }
    if (this.#dtmfMode !== "rfc4733") {
      for (const digit of digits.toUpperCase()) {
        this.#sendDigitByMode(digit, duration, gap);
      }
      return null;
    }
    const s = this.#streamOf("AUDIO");
    const events = s === undefined ? [] : [...s.bySendKey.values()].filter((c) => c.codec === "telephone-event");
    const primary = primaryCodec(s);
    const te = events.find((c) => c.clockRate === primary?.clockRate) ?? events[0];
    if (s === undefined || te === undefined) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
        "the peer did not negotiate telephone-event",
      );
    }
    const rate = te.clockRate;
    for (const digit of digits.toUpperCase()) {
      const startTs = this.#dtmfTs;
      for (const p of dtmfPackets(digit, duration, rate, DTMF_INTERVAL_MS)) {
        this.#dtmfQueue.push({
          stream: s,
          pt: te.sendPt,
          rate,
          ts: startTs,
          marker: p.marker,
          payload: p.payload,
          atMs: p.offsetMs,
        });
      }
      this.#dtmfTs = (startTs + Math.round(((duration + gap) * rate) / 1000)) >>> 0;
      this.#dtmfQueue.push({
        stream: s,
        pt: te.sendPt,
        rate,
        ts: startTs,
        marker: false,
        payload: undefined,
        atMs: duration + gap,
      });
    }
    if (this.#dtmfTimer === undefined) {
      this.#dtmfTick(performance.now());
    }
    return null;
  }

  /** Sends the queued DTMF packets that are due and re-arms the timer for the next. Entries without payload mark the
   * end of a digit's slot (its gap). */
  #dtmfTick(digitStart: number): void {
    this.#dtmfTimer = undefined;
    const now = performance.now();
    for (;;) {
      const next = this.#dtmfQueue[0];
      if (next === undefined) {
        this.#dtmfSending = false;
        return;
      }
      const due = digitStart + next.atMs;
      if (due > now + 1) {
        this.#dtmfTimer = setTimeout(() => this.#dtmfTick(digitStart), due - now);
        this.#dtmfTimer.unref();
        return;
      }
      this.#dtmfQueue.shift();
      if (next.payload === undefined) {
        digitStart = due; // the next digit's offsets count from the end of this one's gap
        continue;
      }
      this.#dtmfSending = true;
      if (this.#negotiated && sends(next.stream.direction)) {
        this.#sendOut(
          next.stream,
          next.pt,
          next.marker,
          this.#dtmfSource,
          {
            ssrc: 0,
            sequenceNumber: this.#dtmfSeq,
            timestamp: next.ts,
            clockRate: next.rate,
            payload: next.payload,
          },
          now,
        );
        this.#dtmfSeq = (this.#dtmfSeq + 1) & 0xffff;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- DTMF modes

  /** The endpoint's DTMF mode (SipEndpoint sets it from the trunk); switching drops tones still queued. */
  protected setDtmfMode(mode: DtmfMode): void {
    if (mode !== this.#dtmfMode) {
      this.#dtmfMode = mode;
      this.#relayCaps = undefined;
      this.#stopInband();
    }
  }

  /** One digit out in inband or info mode. */
  #sendDigitByMode(digit: string, durationMs: number, gapMs: number): void {
    if (this.#dtmfMode === "info") {
      this.ctx.emit(DTMF_OUT_EVENT, { digit, durationMs, gapMs });
      return;
    }
    const sender = this.#inbandSender();
    if (sender === undefined) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
        "in-band DTMF needs a negotiated audio codec Korus can encode",
      );
    }
    sender.queue(digit, durationMs, gapMs);
    if (this.#inbandTimer === undefined) {
      this.#inbandDue = performance.now();
      this.#inbandTick();
    }
  }

  /** An RFC 4733 event from a source while the peer wants tones or INFO: one digit per key press, once it ends. */
  #relayDtmf(packet: MediaPacket, conn: Connection): void {
    if (packet.payload.length < 4) {
      return;
    }
    let detector = this.#relayDetectors.get(conn.source);
    if (detector === undefined) {
      detector = new DtmfDetector();
      this.#relayDetectors.set(conn.source, detector);
    }
    for (const d of detector.push(packet.timestamp, packet.payload, packet.clockRate)) {
      try {
        this.#sendDigitByMode(d.digit, Math.max(40, d.durationMs), RELAY_GAP_MS);
      } catch (err) {
        this.#log.warn("dtmf-relay", "a DTMF digit from the pipeline could not be sent", {
          elementId: this.id,
          error: String(err),
        });
      }
    }
  }

  /** The in-band sender for the primary negotiated audio codec (made again when the negotiation changed it). */
  #inbandSender(): InbandDtmfSender | undefined {
    const s = this.#streamOf("AUDIO");
    const primary = primaryCodec(s);
    if (primary === undefined) {
      return undefined;
    }
    const cur = this.#inbandOut;
    if (cur !== undefined && sameFormat(cur.format, primary)) {
      return cur;
    }
    cur?.close();
    this.#inbandOut = undefined;
    try {
      this.#inbandOut = new InbandDtmfSender(primary);
    } catch (err) {
      this.#log.warn("dtmf-inband-codec", "no encoder for in-band DTMF", { elementId: this.id, error: String(err) });
    }
    return this.#inbandOut;
  }

  /** Sends the in-band payloads that are due (catching up after a late timer) and re-arms the 20 ms timer. */
  #inbandTick(): void {
    this.#inbandTimer = undefined;
    const sender = this.#inbandOut;
    const s = this.#streamOf("AUDIO");
    const primary = primaryCodec(s);
    if (sender === undefined || s === undefined || primary === undefined || !sameFormat(sender.format, primary)) {
      this.#dtmfSending = false;
      return;
    }
    const now = performance.now();
    if (now - this.#inbandDue > 200) {
      this.#inbandDue = now; // a stalled loop does not burst out what it missed
    }
    while (this.#inbandDue <= now + 1) {
      const payload = sender.nextFrame();
      if (payload === undefined) {
        this.#dtmfSending = false;
        return;
      }
      const first = !this.#dtmfSending;
      this.#dtmfSending = true;
      if (sends(s.direction)) {
        this.#sendOut(
          s,
          primary.sendPt,
          first,
          this.#dtmfSource,
          { ssrc: 0, sequenceNumber: this.#dtmfSeq, timestamp: this.#dtmfTs, clockRate: primary.clockRate, payload },
          now,
        );
      }
      this.#dtmfSeq = (this.#dtmfSeq + 1) & 0xffff;
      this.#dtmfTs = (this.#dtmfTs + sender.ticksPerFrame) >>> 0;
      this.#inbandDue += 20;
    }
    this.#inbandTimer = setTimeout(() => this.#inbandTick(), this.#inbandDue - now);
    this.#inbandTimer.unref();
  }

  /** Audio from the peer in inband mode: Goertzel detection on the decoded payload. */
  #onInbandAudio(codec: StreamCodec, payload: Uint8Array): void {
    let rx = this.#inbandIn;
    if (rx === undefined || !sameFormat(rx.format, codec)) {
      rx?.close();
      this.#inbandIn = rx = undefined;
      try {
        this.#inbandIn = rx = new InbandDtmfReceiver(codec);
      } catch (err) {
        this.#log.warn("dtmf-inband-codec", "no decoder for in-band DTMF detection", {
          elementId: this.id,
          error: String(err),
        });
        this.setDtmfMode("rfc4733");
        return;
      }
    }
    for (const d of rx.push(payload)) {
      this.diagnostics.dtmfDigits++;
      this.ctx.emit("DtmfReceived", { digit: d.digit, durationMs: d.durationMs });
    }
  }

  #stopInband(): void {
    clearTimeout(this.#inbandTimer);
    this.#inbandTimer = undefined;
    this.#inbandOut?.close();
    this.#inbandOut = undefined;
    this.#inbandIn?.close();
    this.#inbandIn = undefined;
    this.#dtmfSending = this.#dtmfQueue.length > 0;
  }

  /**
   * A digit the peer signalled out of band (SipEndpoint: an INFO), sent on into the pipeline as an RFC 4733 event
   * (8 kHz clock, updates every 50 ms, the end three times), so sinks that take telephone-events (a bridged RFC 4733
   * trunk) or relay them (an INFO or inband trunk) get it. Digits queue behind each other.
   * @throws DtmfParseError for something that is not a DTMF digit.
   */
  protected injectDtmf(digit: string, durationMs: number): void {
    const duration = Math.min(5000, Math.max(40, durationMs > 0 ? durationMs : 100));
    dtmfPackets(digit, duration, 8000); // validates the digit before it is queued
    if (!this.#negotiated) {
      return;
    }
    this.#inject.queue.push({ digit, durationMs: duration });
    if (this.#inject.timer === undefined && !this.#inject.active) {
      this.#injectNext();
    }
  }

  #injectNext(): void {
    const inj = this.#inject;
    const next = inj.queue.shift();
    if (next === undefined || this.released) {
      inj.active = false;
      return;
    }
    const start = performance.now();
    // In the peer's timeline when its audio runs on 8 kHz (transcoders anchor events to it), else our own clock.
    const last = this.#lastAudio8k;
    const ts =
      last !== undefined && start - last.atMs < 1000
        ? (last.ts + Math.round((start - last.atMs) * 8)) >>> 0
        : (inj.ts + Math.max(1, Math.round((start - inj.tsAtMs) * 8))) >>> 0;
    inj.ts = ts;
    inj.tsAtMs = start;
    inj.active = true;
    const packets = dtmfPackets(next.digit, next.durationMs, 8000, DTMF_INTERVAL_MS);
    let i = 0;
    const tick = (): void => {
      inj.timer = undefined;
      const now = performance.now();
      while (i < packets.length && start + packets[i]!.offsetMs <= now + 1) {
        const p = packets[i++]!;
        this.sendToSinks({
          kind: "AUDIO",
          codec: "telephone-event",
          clockRate: 8000,
          payloadType: 101,
          ssrc: inj.ssrc,
          sequenceNumber: inj.seq,
          timestamp: ts,
          marker: p.marker,
          payload: p.payload,
          keyframe: false,
          arrivalMs: now,
        });
        inj.seq = (inj.seq + 1) & 0xffff;
      }
      if (i < packets.length) {
        inj.timer = setTimeout(tick, start + packets[i]!.offsetMs - now);
        inj.timer.unref();
        return;
      }
      this.#injectNext();
    };
    tick();
  }

  // ---------------------------------------------------------------------------------------------- RTCP out

  /** Per stream: SR (if we sent since negotiation) or RR, with a block per remote SSRC, + SDES CNAME. */
  #sendReports(bye = false): void {
    const now = performance.now();
    for (const s of this.#streams.values()) {
      try {
        const blocks: ReportBlock[] = [...s.receivers.values()].map((r) => r.reportBlock(now));
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
        parts.push(buildSdes([cnameChunk(s.localSsrc, this.#cname)]));
        if (bye) {
          parts.push(buildBye([s.localSsrc]));
        }
        let pkt: Buffer = Buffer.concat(parts);
        if (s.srtpOut !== undefined) {
          const r = s.srtpOut.protectRtcp(pkt);
          if (typeof r === "string") {
            continue;
          }
          pkt = r;
        }
        s.socket.sendRtcp(pkt);
      } catch (err) {
        this.#log.warn("rtcp-send", "building RTCP failed", { elementId: this.id, error: String(err) });
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- keyframes

  /** A sink of ours needs a keyframe: ask our peer with a PLI (RFC 4585 §6.3.1) on the video stream. */
  protected override askPeerForKeyframe(): void {
    this.#sendPli();
  }

  #sendPli(): void {
    const s = this.#streamOf("VIDEO");
    if (s?.currentRemoteSsrc === undefined || !this.#negotiated) {
      this.#keyframePending = true;
      return;
    }
    const pli = Buffer.alloc(12);
    pli[0] = 0x81;
    pli[1] = RTCP_PSFB;
    pli.writeUInt16BE(2, 2);
    pli.writeUInt32BE(s.localSsrc, 4);
    pli.writeUInt32BE(s.currentRemoteSsrc, 8);
    const rr = buildReceiverReport({ ssrc: s.localSsrc, reports: [] });
    let pkt: Buffer = Buffer.concat([rr, pli]);
    if (s.srtpOut !== undefined) {
      const r = s.srtpOut.protectRtcp(pkt);
      if (typeof r === "string") {
        return;
      }
      pkt = r;
    }
    s.socket.sendRtcp(pkt);
  }

  // ---------------------------------------------------------------------------------------------- stats

  /**
   * getStats in Kurento's shape (kurento-protocol.md §8), like WebRtcEndpoint: an inboundrtp record per remote
   * SSRC (RFC 3550 loss and jitter from our own counters), an outboundrtp record per stream we send on (counts,
   * the peer's RR loss, RTT from LSR/DLSR), and the EndpointStats record.
   */
  protected override stats(kind: MediaKind | undefined): Record<string, JsonObject> {
    const now = Date.now();
    const records: Record<string, JsonObject> = {};
    const e2e: JsonObject[] = [];
    for (const s of this.#streams.values()) {
      if (kind !== undefined && kind !== s.kind) {
        continue;
      }
      for (const r of s.receivers.values()) {
        records[String(r.ssrc)] = {
          ...rtpStreamRecord(r.ssrc, "inboundrtp", now),
          packetsReceived: r.packets,
          bytesReceived: r.bytes,
          jitter: r.jitterSeconds,
          packetsLost: r.cumulativeLost,
          fractionLost: r.fractionLost,
        };
      }
      const tx = s.sender;
      if (tx !== undefined) {
        records[String(tx.ssrc)] = {
          ...rtpStreamRecord(tx.ssrc, "outboundrtp", now),
          packetsSent: tx.packets,
          bytesSent: tx.octets,
          targetBitrate: 0,
          roundTripTime: tx.roundTripTime,
          packetsLost: tx.remoteCumulativeLost,
          fractionLost: tx.remoteFractionLost,
        };
      }
      if (s.e2eMs !== undefined) {
        e2e.push(latencyStat(s.kind, s.e2eMs));
      }
    }
    records[this.id] = endpointRecord(this.id, now, e2e);
    return records;
  }

  // ---------------------------------------------------------------------------------------------- operations

  protected override operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      ...super.operations(),
      sendDtmf: (a) => this.#sendDtmf(a),
    };
    return ops;
  }

  // ---------------------------------------------------------------------------------------------- release

  /** Sends RTCP BYE, closes the sockets and returns the ports. Idempotent; never throws. */
  protected override releaseResources(): void {
    // Each step is guarded: the timers stop, the sockets close and the ports return whatever the RTCP BYE threw
    // (issue 9, defect 2: a BYE to port 65536 threw before the sockets closed).
    const guarded = (what: string, step: () => void): void => {
      try {
        step();
      } catch (err) {
        this.ctx.logger.warn(`${what} on release failed`, { elementId: this.id, error: String(err) });
      }
    };
    if (this.#negotiated) {
      guarded("RTCP BYE", () => this.#sendReports(true));
    }
    guarded("stopping timers", () => this.#stopTimers());
    for (const s of [...this.#streams.values()]) {
      guarded("closing a stream", () => this.#closeStream(s));
    }
    this.#offer = undefined;
  }
}

// ------------------------------------------------------------------------------------------------ helpers

/** The audio codec (not telephone-event, CN or RED) we send on a stream: the first negotiated one. */
function primaryCodec(s: RtpStream | undefined): StreamCodec | undefined {
  if (s !== undefined) {
    for (const c of s.bySendKey.values()) {
      if (!AUX_CODECS.has(c.codec)) {
        return c;
      }
    }
  }
  return undefined;
}

function sameFormat(a: InbandFormat, b: InbandFormat): boolean {
  return a.codec === b.codec && a.clockRate === b.clockRate && a.parameters === b.parameters;
}

function positive(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Kurento's SDES ctor value → (suite, our key+salt). An empty SDES (the default) means plain RTP. `key` is the
 * raw key‖salt as a string (30 or 46 bytes), `keyBase64` its base64; neither → a random key.
 * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for an unknown suite or a key of the wrong length.
 */
function parseSdes(v: unknown): [SrtpSuite | undefined, Buffer | undefined] {
  if (!isObject(v) || v["crypto"] === undefined || v["crypto"] === null) {
    if (isObject(v) && (typeof v["key"] === "string" || typeof v["keyBase64"] === "string")) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "SDES key given without a crypto suite");
    }
    return [undefined, undefined];
  }
  const name = v["crypto"];
  const suite = typeof name === "string" ? findSuite(name) : undefined;
  if (suite === undefined) {
    throw new MediaOperationError(
      "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
      `unsupported SDES crypto suite ${JSON.stringify(name)}`,
    );
  }
  const want = suite.keyLength + suite.saltLength;
  let key: Buffer;
  if (typeof v["keyBase64"] === "string" && v["keyBase64"] !== "") {
    try {
      key = decodeKeySalt(suite, v["keyBase64"]);
    } catch (err) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        err instanceof SrtpConfigError ? err.message : String(err),
      );
    }
  } else if (typeof v["key"] === "string" && v["key"] !== "") {
    key = Buffer.from(v["key"], "latin1");
    if (key.length !== want) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `SDES key for ${suite.kurentoName} must be ${want} bytes, got ${key.length}`,
      );
    }
  } else {
    key = randomBytes(want);
  }
  return [suite, key];
}

/**
 * The address we announce in SDP and the one we bind: the configured external IPv4, else the first configured
 * interface, else the first non-internal interface address of the family (loopback as the last resort). With
 * configured interfaces we bind that address; otherwise the wildcard.
 */
function localAddresses(ctx: ElementContext, ipv6: boolean): [string, string] {
  const w = ctx.settings.webrtc;
  const configured = w.interfaces.find((a) => a.includes(":") === ipv6);
  const wildcard = ipv6 ? "::" : "0.0.0.0";
  if (configured !== undefined) {
    return [!ipv6 && w.externalIPv4 !== "" ? w.externalIPv4 : configured, configured];
  }
  if (!ipv6 && w.externalIPv4 !== "") {
    return [w.externalIPv4, wildcard];
  }
  for (const list of Object.values(os.networkInterfaces())) {
    for (const i of list ?? []) {
      if (!i.internal && i.family === (ipv6 ? "IPv6" : "IPv4") && !i.address.startsWith("fe80")) {
        return [i.address, wildcard];
      }
    }
  }
  return [ipv6 ? "::1" : "127.0.0.1", wildcard];
}

/** @throws MediaOperationError SDP_PARSE_ERROR for a non-string or unparsable SDP. */
function parseSdpArg(v: unknown, what: string): SessionDescription {
  if (typeof v !== "string" || v.trim() === "") {
    throw new MediaOperationError("SDP_PARSE_ERROR", `${what} must be a non-empty SDP string`);
  }
  try {
    return SessionDescription.parse(v);
  } catch (err) {
    throw new MediaOperationError(
      "SDP_PARSE_ERROR",
      `invalid SDP ${what}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

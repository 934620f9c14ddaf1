/**
 * The only werift user in Korus (architecture.md §5.8): wraps one `RTCPeerConnection` and exposes what a
 * WebRtcEndpoint needs in plain terms: offer/answer as SDP strings, local candidates, ICE/DTLS/connection states,
 * incoming RTP as MediaPacket-ready fields, outgoing RTP from raw fields, keyframe requests and RTCP feedback.
 *
 * Hot path (libraries.md §3/§4). What this adapter avoids and what it cannot:
 *
 * - IN: werift decrypts SRTP and parses each packet once (`RtpPacket.deSerialize`) inside its DTLS transport; that
 *   parse also feeds werift's receiver (RR reports, NACK generation), so it cannot be skipped without losing those.
 *   We subscribe to `RTCDtlsTransport.onRtp`, i.e. to that single parsed packet, and read its fields directly; we do
 *   not use `track.onReceiveRtp`, whose packets werift clones, and we never re-serialize. The payload we hand on is a
 *   view into werift's decrypted buffer (no copy). What remains unavoidable: werift's own `packet.clone()` for its
 *   receiver track (when the remote signalled the SSRC) and its header-extension map per packet.
 * - OUT: we build one werift `RtpHeader`/`RtpPacket` per packet from the raw fields (werift's ESM build uses native
 *   class fields, not the `Object.defineProperty` constructor that made the CJS build slow) and hand it to
 *   `RTCRtpSender.sendRtp`, which serializes the header exactly once inside SRTP encryption and keeps the packet in
 *   its retransmission cache for NACKs. The payload is wrapped as a Buffer view, not copied. No parse on this path.
 * - RTX/RED/FEC are not negotiated, so retransmissions arrive as plain packets and feed straight through.
 *
 * Nothing here throws out of a werift callback: every subscription catches and reports through the logger.
 */
import { isIP } from "node:net";
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtpHeader,
  RtpPacket,
  useAbsSendTime,
  useFIR,
  useH264,
  useNACK,
  useOPUS,
  usePCMU,
  usePLI,
  useREMB,
  useSdesMid,
  useVP8,
  type RTCDtlsTransport,
  type RTCIceServer,
  type RTCRtpTransceiver,
} from "werift";
import type { Logger } from "../logger.js";
import { RtcpSession } from "../rtp/RtcpSession.js";
import type { RecvStreamStats, SendStreamStats } from "../rtp/RtpStreamStats.js";
import { FastRtpPath } from "./FastRtpPath.js";
import {
  InboundGuard,
  type DtlsSocketLike,
  type GuardCounters,
  type IceConnectionLike as GuardedConnection,
} from "./InboundGuard.js";
import type { RtpHeaderFields } from "../srtp/rtpHeader.js";
import { DataChannels, type DataChannelHandlers } from "./DataChannels.js";
import {
  rejectApplicationSections,
  restoreRejectedSections,
  retargetCandidate,
  type RejectedSection,
} from "./rejectedSections.js";

export type MediaDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";
export type RtpKind = "AUDIO" | "VIDEO";

/** ICE transport states as werift reports them. */
export type IceTransportState = "new" | "checking" | "connected" | "completed" | "disconnected" | "failed" | "closed";
export type DtlsTransportState = "new" | "connecting" | "connected" | "closed" | "failed";
export type PeerConnectionState = "new" | "connecting" | "connected" | "disconnected" | "failed" | "closed";

export interface LocalCandidate {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
}

/** One incoming RTP packet, already decrypted, with the codec its payload type maps to. */
export interface IncomingRtp {
  kind: RtpKind;
  /** Lower-case encoding name. */
  codec: string;
  clockRate: number;
  payloadType: number;
  ssrc: number;
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
  arrivalMs: number;
}

export interface TransportHandlers {
  candidate(c: LocalCandidate): void;
  gatheringDone(): void;
  iceState(state: IceTransportState): void;
  dtlsState(state: DtlsTransportState, transportId: string): void;
  connectionState(state: PeerConnectionState): void;
  rtp(p: IncomingRtp): void;
  /** The peer asked for a keyframe (PLI or FIR) of what we send it. */
  keyframeRequested(): void;
  /** We asked the peer to retransmit (one NACK packet) on its stream `ssrc`. */
  nackSent(ssrc: number): void;
  /** RFC 3550 statistics of the peer's streams by SSRC, for our receiver reports. */
  receivers(): ReadonlyMap<number, RecvStreamStats>;
  /**
   * The statistics of the streams we send (the endpoint's SendStreams count them), for our sender reports and
   * what the peer reports about them.
   */
  senders(): Iterable<SendStreamStats>;
}

export interface TurnServer {
  host: string;
  port: number;
  username: string;
  password: string;
  transport: "udp" | "tcp" | "tls";
}

export interface WebRtcTransportOptions {
  /** Addresses to gather host candidates on; empty = every non-internal IPv4 interface. */
  interfaces: readonly string[];
  /** Inclusive UDP/TCP port range for ICE sockets (this endpoint's reservation). */
  portRange: [number, number] | undefined;
  stun: { host: string; port: number } | undefined;
  turn: TurnServer | undefined;
  iceTcp: boolean;
  logger: Logger;
  /** useDataChannels: the data channels' handlers; absent, an offer's m=application is rejected (port 0) as KMS does. */
  dataChannels?: DataChannelHandlers | undefined;
}

export interface NegotiatedCodec {
  kind: RtpKind;
  name: string;
  payloadType: number;
  clockRate: number;
}

/** Outcome of {@link WebRtcTransport.sendRtp}. */
export type SendResult = "sent" | "not-ready" | "not-sending" | "no-codec";

const VIDEO_FEEDBACK = (): ReturnType<typeof useNACK>[] => [useNACK(), usePLI(), useFIR(), useREMB()];

/** Codec preferences: Opus first (PCMU/PCMA as fallbacks a browser may pick), VP8 first, H.264 when offered. */
function codecConfig(): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  return {
    audio: [
      useOPUS({ payloadType: 111 }),
      usePCMU(),
      new RTCRtpCodecParameters({ mimeType: "audio/PCMA", clockRate: 8000, channels: 1, payloadType: 8 }),
    ],
    video: [
      useVP8({ payloadType: 96, rtcpFeedback: VIDEO_FEEDBACK() }),
      useH264({ payloadType: 102, rtcpFeedback: VIDEO_FEEDBACK() }),
    ],
  };
}

/** Sender SSRC of the keyframe requests we send (see {@link WebRtcTransport.requestKeyframe}). */
const FEEDBACK_SENDER_SSRC = 1;
/** Sender/receiver report interval on the fast path (RFC 3550 §6.2 minimum is 5 s; browsers send every ~1 s). */
const REPORT_INTERVAL_MS = 1000;

const toKind = (k: string): RtpKind => (k === "audio" ? "AUDIO" : "VIDEO");

/** Minimal shape of werift's ICE connection we touch (its d.ts types are internal). */
interface IceConnectionLike {
  stunServer?: unknown;
}

export class WebRtcTransport {
  readonly #opts: WebRtcTransportOptions;
  readonly #h: TransportHandlers;
  readonly #log: Logger;
  readonly #pc: RTCPeerConnection;
  /** Payload type → codec, over every negotiated m-line (BUNDLE: PTs are unique per session). */
  readonly #byPt = new Map<number, NegotiatedCodec>();
  /** DTLS transports and receivers already subscribed to (werift objects, hooked once each). */
  readonly #hooked = new WeakSet<object>();
  /** Last SSRC seen from the peer per kind, the target of keyframe requests. */
  readonly #remoteSsrc = new Map<RtpKind, number>();
  #closed = false;
  #dtlsState: DtlsTransportState = "new";
  #iceState: IceTransportState = "new";
  readonly #stunPatched = new WeakSet<object>();
  /** The socket-edge filter of each ICE connection (one with BUNDLE), see InboundGuard. */
  readonly #guards = new Map<object, InboundGuard>();
  /** The RTP hot path beside werift, once DTLS-SRTP is up (see FastRtpPath). */
  #fast: FastRtpPath | undefined;
  readonly #rtcp: RtcpSession;
  #reportTimer: NodeJS.Timeout | undefined;
  /** The SCTP data channels (useDataChannels), see DataChannels. */
  readonly #data: DataChannels | undefined;
  /** The offer's m=application sections rejected without useDataChannels, and our answer with them put back. */
  #rejected: RejectedSection[] = [];
  #answer: { werift: string; shown: string } | undefined;
  #offer = "";

  constructor(opts: WebRtcTransportOptions, handlers: TransportHandlers) {
    this.#opts = opts;
    this.#h = handlers;
    this.#log = opts.logger;
    const ifaces = opts.interfaces.filter((a) => isIP(a) !== 0);
    const v4 = ifaces.filter((a) => isIP(a) === 4);
    const iceServers: RTCIceServer[] = [];
    if (opts.stun !== undefined) {
      iceServers.push({ urls: `stun:${opts.stun.host}:${opts.stun.port}` });
    }
    if (opts.turn !== undefined) {
      const t = opts.turn;
      iceServers.push({
        urls: `turn:${t.host}:${t.port}?transport=${t.transport}`,
        username: t.username,
        credential: t.password,
      });
    }
    this.#pc = new RTCPeerConnection({
      codecs: codecConfig(),
      headerExtensions: { audio: [useSdesMid()], video: [useSdesMid(), useAbsSendTime()] },
      iceServers,
      icePortRange: opts.portRange,
      // With explicit interfaces werift must not add the machine's other addresses: turning its own host-address
      // discovery off and listing ours as "additional" hosts yields exactly our candidates (loopback included,
      // libraries.md §3). A single IPv4 interface also pins the socket's bind address.
      iceUseIpv4: ifaces.length === 0,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: ifaces.length > 0 ? [...ifaces] : undefined,
      iceInterfaceAddresses: v4.length === 1 && v4[0] !== undefined ? { udp4: v4[0] } : undefined,
      iceUseTcp: opts.iceTcp,
      bundlePolicy: "max-bundle",
    });
    this.#rtcp = new RtcpSession(
      {
        send: (packet) => this.#sendRtcp(packet),
        cname: () => this.#cname(),
        receivers: () => this.#h.receivers(),
        senders: () => this.#h.senders(),
        keyframeRequested: () => this.#safe(() => this.#h.keyframeRequested()),
        resend: (packet) => this.#fast?.resend(packet),
        nackSent: (ssrc) => this.#safe(() => this.#h.nackSent(ssrc)),
      },
      { reporterSsrc: FEEDBACK_SENDER_SSRC, reducedSize: true, reportWhenIdle: false },
    );
    this.#subscribePeer();
    this.#data = opts.dataChannels === undefined ? undefined : new DataChannels(this.#pc, opts.dataChannels, this.#log);
  }

  /** The data channels, with useDataChannels. */
  get data(): DataChannels | undefined {
    return this.#data;
  }

  // ------------------------------------------------------------------------------------------- signalling

  /** Applies a remote offer and returns our answer (after werift has gathered its candidates). */
  async processOffer(offer: string, direction: MediaDirection): Promise<string> {
    let sdp = offer;
    if (this.#data === undefined) {
      ({ sdp, rejected: this.#rejected } = rejectApplicationSections(offer));
      this.#offer = offer;
    }
    const sub = this.#pc.onRemoteTransceiverAdded.subscribe((t) => {
      // werift creates answering transceivers as recvonly; a forwarding endpoint also sends unless told not to.
      t.setDirection(direction);
    });
    try {
      await this.#pc.setRemoteDescription({ type: "offer", sdp: withoutPrematureEnd(sdp) });
    } finally {
      sub.unSubscribe();
    }
    this.#prepareTransports();
    const answer = await this.#pc.createAnswer();
    await this.#pc.setLocalDescription(answer);
    this.#indexCodecs();
    return this.localSdp ?? answer.sdp;
  }

  /** Creates our offer with one audio and/or video m-line in the given directions and applies it locally. */
  async createOffer(audio: MediaDirection | undefined, video: MediaDirection | undefined): Promise<string> {
    if (audio !== undefined) {
      this.#pc.addTransceiver("audio", { direction: audio });
    }
    if (video !== undefined) {
      this.#pc.addTransceiver("video", { direction: video });
    }
    this.#prepareTransports();
    const offer = await this.#pc.createOffer();
    await this.#pc.setLocalDescription(offer);
    return this.localSdp ?? offer.sdp;
  }

  async processAnswer(sdp: string): Promise<void> {
    await this.#pc.setRemoteDescription({ type: "answer", sdp: withoutPrematureEnd(sdp) });
    this.#prepareTransports();
    this.#indexCodecs();
  }

  /** Hands a remote candidate to werift (which queues it itself if the remote description is not yet set). */
  async addIceCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void> {
    const to = retargetCandidate(c, this.#rejected, this.#pc.getTransceivers()[0]?.mid ?? undefined);
    await this.#pc.addIceCandidate({ candidate: to.candidate, sdpMid: to.sdpMid, sdpMLineIndex: to.sdpMLineIndex });
  }

  /** Our description: werift's, with the offer's rejected m=application sections put back (port 0). */
  get localSdp(): string | undefined {
    const sdp = this.#pc.localDescription?.sdp;
    if (sdp === undefined || this.#rejected.length === 0) {
      return sdp;
    }
    if (this.#answer?.werift !== sdp) {
      this.#answer = { werift: sdp, shown: restoreRejectedSections(sdp, this.#rejected) };
    }
    return this.#answer.shown;
  }

  get remoteSdp(): string | undefined {
    const sdp = this.#pc.remoteDescription?.sdp;
    return sdp !== undefined && this.#rejected.length > 0 ? this.#offer : sdp; // the offer as the peer sent it
  }

  get iceState(): IceTransportState {
    return this.#iceState;
  }

  get dtlsState(): DtlsTransportState {
    return this.#dtlsState;
  }

  get dtlsTransportId(): string {
    return this.#pc.dtlsTransports[0]?.id ?? "";
  }

  /** The nominated candidate pair as SDP candidate strings, once ICE connected. */
  selectedPair(): { local: string; remote: string } | undefined {
    const ice = this.#pc.iceTransports[0];
    const pair = ice?.getSelectedCandidatePair();
    if (pair === null || pair === undefined) {
      return undefined;
    }
    return { local: pair.local.candidate, remote: pair.remote.candidate };
  }

  /** Codecs negotiated for `kind`, in the order of preference. */
  negotiated(kind: RtpKind): NegotiatedCodec[] {
    return [...this.#byPt.values()].filter((c) => c.kind === kind);
  }

  /** Our sending SSRC for `kind`, if that m-line exists. */
  localSsrc(kind: RtpKind): number | undefined {
    return this.#transceiver(kind)?.sender.ssrc;
  }

  /** The clock rate of our `kind` sender's current codec, if that m-line exists. */
  localClockRate(kind: RtpKind): number | undefined {
    const sender = this.#transceiver(kind)?.sender;
    return sender === undefined ? undefined : (sender.codec?.clockRate ?? (kind === "AUDIO" ? 48_000 : 90_000));
  }

  /** Round-trip time (s) werift measured from SR/RR on our `kind` stream, if any. */
  roundTripTime(kind: RtpKind): number | undefined {
    const sender = this.#transceiver(kind)?.sender;
    if (sender === undefined) {
      return undefined;
    }
    const own = this.#rtcp.roundTripTime(sender.ssrc);
    if (own !== undefined) {
      return own;
    }
    for (const s of sender.collectStats(Date.now())) {
      const r = s as { type?: string; roundTripTime?: number };
      if (r.type === "remote-inbound-rtp" && typeof r.roundTripTime === "number") {
        return r.roundTripTime;
      }
    }
    return undefined;
  }

  // ------------------------------------------------------------------------------------------- media

  /**
   * Sends one RTP packet to the peer on the negotiated payload type of `codec`, with our SSRC of `kind`. Sequence
   * number and timestamp are the wire numbering (continuous, with the send stream's random offsets); the send
   * stream counts what was sent. On werift's own path (before the fast path is up) werift adds its offsets too.
   */
  sendRtp(
    kind: RtpKind,
    codec: string,
    seq: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): SendResult {
    if (this.#closed || this.#dtlsState !== "connected") {
      return "not-ready";
    }
    const t = this.#transceiver(kind);
    if (t === undefined || (t.direction !== "sendrecv" && t.direction !== "sendonly")) {
      return "not-sending";
    }
    const sender = t.sender;
    let target = sender.codec;
    if (target?.name.toLowerCase() !== codec) {
      target = t.codecs.find((c) => c.name.toLowerCase() === codec);
      if (target === undefined) {
        return "no-codec";
      }
      // werift writes `sender.codec.payloadType` into every packet: point it at the codec of this packet.
      sender.codec = target;
    }
    const fast = this.#fast;
    if (fast !== undefined) {
      const packet = fast.send(sender.ssrc, target.payloadType, seq, timestamp, marker, payload);
      if (packet !== undefined) {
        if (kind === "VIDEO") {
          this.#rtcp.keepForNack(sender.ssrc, seq, packet);
        }
        return "sent";
      }
    }
    const header = new RtpHeader();
    header.sequenceNumber = seq;
    header.timestamp = timestamp;
    header.marker = marker;
    header.payloadType = target.payloadType;
    const buf = Buffer.isBuffer(payload)
      ? payload
      : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    sender.sendRtp(new RtpPacket(header, buf)).catch((err: unknown) => {
      this.#log.debug("sendRtp failed", { error: String(err) });
    });
    return "sent";
  }

  /** Asks the peer for a keyframe on its video stream: PLI when negotiated, FIR when only that is. */
  requestKeyframe(): "pli" | "fir" | undefined {
    const ssrc = this.#remoteSsrc.get("VIDEO");
    const t = this.#transceiver("VIDEO");
    const dtls = t?.dtlsTransport;
    if (ssrc === undefined || t === undefined || dtls === undefined || this.#dtlsState !== "connected") {
      return undefined;
    }
    const fb = t.codecs[0]?.rtcpFeedback ?? [];
    const pli = fb.some((f) => f.type === "nack" && f.parameter === "pli");
    const fir = fb.some((f) => f.type === "ccm" && f.parameter === "fir");
    // Sent from FEEDBACK_SENDER_SSRC (1), as Chrome's receive-only RTCP does: peers that register our signalled
    // SSRCs as *their* receivers (werift) would otherwise route the request to a receiver, not the sender.
    const how = pli || !fir ? "pli" : "fir";
    this.#rtcp.requestKeyframe(ssrc, how);
    return how;
  }

  /** Closes the peer connection; idempotent, never throws. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#data?.close();
    clearInterval(this.#reportTimer);
    this.#fast?.close();
    this.#fast = undefined;
    // werift's DTLS flight loops (up to 10 retransmissions over ~33 s) only stop when the handshake's flight counter
    // has moved past them; a close resets nothing, so a released endpoint would keep a timer (and the worker's
    // event loop) busy for half a minute. Moving the counters to the end stops each loop at its next wake-up.
    const contexts = this.#pc.dtlsTransports.map(
      (t) => (t as unknown as { dtls?: { dtls?: { flight: number } } }).dtls?.dtls,
    );
    this.#pc
      .close()
      .catch((err: unknown) => this.#log.debug("close failed", { error: String(err) }))
      .finally(() => {
        for (const c of contexts) {
          if (c !== undefined) {
            c.flight = Number.MAX_SAFE_INTEGER;
          }
        }
      });
  }

  // ------------------------------------------------------------------------------------------- internals

  /** The live transceiver of `kind`; one per kind, as KMS negotiates one audio and one video m-line. */
  #transceiver(kind: RtpKind): RTCRtpTransceiver | undefined {
    const k = kind === "AUDIO" ? "audio" : "video";
    return this.#pc.getTransceivers().find((t) => t.kind === k && !t.stopped);
  }

  /** Rebuilds the PT → codec table from the negotiated transceivers. */
  #indexCodecs(): void {
    this.#byPt.clear();
    for (const t of this.#pc.getTransceivers()) {
      for (const c of t.codecs) {
        this.#byPt.set(c.payloadType, {
          kind: toKind(t.kind),
          name: c.name.toLowerCase(),
          payloadType: c.payloadType,
          clockRate: c.clockRate,
        });
      }
    }
  }

  /**
   * Hooks every DTLS transport once (RTP/RTCP taps and state) and, when no STUN server is configured, stops werift
   * from querying its built-in default (stun.l.google.com), which would delay gathering by its 5 s timeout.
   */
  #prepareTransports(): void {
    for (const dtls of this.#pc.dtlsTransports) {
      const conn = dtls.iceTransport.connection as unknown as IceConnectionLike;
      if (this.#opts.stun === undefined && !this.#stunPatched.has(conn)) {
        conn.stunServer = undefined;
        this.#stunPatched.add(conn);
      }
      if (!this.#guards.has(conn)) {
        const socket = (): DtlsSocketLike | undefined => (dtls as unknown as { dtls?: DtlsSocketLike }).dtls;
        this.#guards.set(conn, new InboundGuard(conn as unknown as GuardedConnection, socket, this.#log));
      }
      if (this.#hooked.has(dtls)) {
        continue;
      }
      this.#hooked.add(dtls);
      dtls.onRtp.subscribe((rtp) => this.#onRtp(rtp));
      dtls.onStateChange.subscribe((s) => {
        this.#dtlsState = s;
        if (s === "connected") {
          this.#tapRtcp(dtls);
          this.#startFastPath(dtls);
        } else if (s === "closed" || s === "failed") {
          this.#fast?.close();
          this.#fast = undefined;
        }
        this.#safe(() => this.#h.dtlsState(s, dtls.id));
      });
      dtls.iceTransport.onStateChange.subscribe((s) => {
        this.#iceState = s;
        this.#hookGuards();
        this.#safe(() => this.#h.iceState(s));
      });
    }
    for (const t of this.#pc.getTransceivers()) {
      if (!this.#hooked.has(t.receiver)) {
        this.#hooked.add(t.receiver);
        t.receiver.onPacketLost.subscribe((nack) => this.#safe(() => this.#h.nackSent(nack.mediaSourceSsrc)));
      }
    }
  }

  /** Filters the sockets werift opened since the last call (see InboundGuard.hook). */
  #hookGuards(): void {
    for (const g of this.#guards.values()) {
      g.hook();
    }
  }

  /** Inbound datagrams refused at the socket edge, summed over this transport's ICE connections. */
  get dropped(): GuardCounters {
    const sum: GuardCounters = { foreign: this.#fast?.foreign ?? 0, unknown: 0, stun: 0, badRecord: 0 };
    for (const g of this.#guards.values()) {
      sum.foreign += g.counters.foreign;
      sum.unknown += g.counters.unknown;
      sum.stun += g.counters.stun;
      sum.badRecord += g.counters.badRecord;
    }
    return sum;
  }

  /** Peer-level events: local candidates (already carrying sdpMid/sdpMLineIndex), gathering end, connection state. */
  #subscribePeer(): void {
    this.#pc.onIceCandidate.subscribe((c) => {
      this.#hookGuards(); // werift adds a protocol (socket) before it announces that socket's candidate
      if (c === undefined) {
        return;
      }
      this.#safe(() =>
        this.#h.candidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? "0", sdpMLineIndex: c.sdpMLineIndex ?? 0 }),
      );
    });
    this.#pc.iceGatheringStateChange.subscribe((s) => {
      this.#hookGuards();
      if (s === "complete") {
        this.#safe(() => this.#h.gatheringDone());
      }
    });
    this.#pc.connectionStateChange.subscribe((s) => this.#safe(() => this.#h.connectionState(s)));
  }

  /**
   * Switches RTP to the fast path once werift has the SRTP keys. Reports start with it: werift's sender and
   * receiver no longer see our packets, so their SR/RR and NACKs would be wrong.
   */
  #startFastPath(dtls: RTCDtlsTransport): void {
    if (this.#closed || this.#fast !== undefined) {
      return;
    }
    const guard = this.#guards.get(dtls.iceTransport.connection);
    const fast = FastRtpPath.create(
      dtls,
      (h, payload, arrivalMs) => this.#onFastRtp(h, payload, arrivalMs),
      this.#log,
      guard === undefined ? undefined : (protocol, addr) => guard.isPeer(protocol, addr),
      (plain) => this.#rtcpIn(plain),
    );
    if (fast === undefined) {
      this.#log.info("SRTP profile without a fast path: RTP stays on werift's path");
      return;
    }
    this.#fast = fast;
    this.#reportTimer ??= setInterval(
      () =>
        this.#safe(() => {
          void this.#fast?.active; // follows a newly nominated pair even when we only receive
          this.#rtcp.report();
        }),
      REPORT_INTERVAL_MS,
    );
    this.#reportTimer.unref();
  }

  /** Incoming RTP from the fast path: already authenticated and decrypted; our RtcpSession reports on it. */
  #onFastRtp(h: RtpHeaderFields, payload: Buffer, arrivalMs: number): void {
    this.#deliver(h, payload, arrivalMs, true);
  }

  /**
   * Hands one decrypted packet to the endpoint with the codec its payload type maps to. Packets of an unknown PT or
   * of an m-line we do not receive on are dropped.
   */
  #deliver(
    h: Pick<RtpHeaderFields, "payloadType" | "ssrc" | "sequenceNumber" | "timestamp" | "marker">,
    payload: Uint8Array,
    arrivalMs: number,
    fast: boolean,
  ): void {
    try {
      const codec = this.#byPt.get(h.payloadType);
      if (codec === undefined) {
        return;
      }
      const t = this.#transceiver(codec.kind);
      if (t === undefined || t.direction === "sendonly" || t.direction === "inactive") {
        return;
      }
      this.#remoteSsrc.set(codec.kind, h.ssrc);
      if (fast) {
        this.#rtcp.onReceived(h.ssrc, h.sequenceNumber, codec.kind === "VIDEO");
      }
      this.#h.rtp({
        kind: codec.kind,
        codec: codec.name,
        clockRate: codec.clockRate,
        payloadType: h.payloadType,
        ssrc: h.ssrc,
        sequenceNumber: h.sequenceNumber,
        timestamp: h.timestamp,
        marker: h.marker,
        payload,
        arrivalMs,
      });
    } catch (err) {
      this.#log.debug("RTP handler failed", { error: String(err) });
    }
  }

  /** The CNAME werift put in our SDP (a=ssrc … cname:), so that SDES matches it. */
  #cname(): string {
    for (const kind of ["AUDIO", "VIDEO"] as const) {
      const sender = this.#transceiver(kind)?.sender as unknown as { cname?: unknown } | undefined;
      if (typeof sender?.cname === "string") {
        return sender.cname;
      }
    }
    return "korus";
  }

  /** The RTCP session's transport: SRTCP-protects a compound packet with werift's keys and sends it. */
  #sendRtcp(packet: Buffer): void {
    const dtls = this.#pc.dtlsTransports[0];
    if (dtls === undefined || this.#closed || this.#dtlsState !== "connected") {
      return;
    }
    try {
      const enc = dtls.srtcp.encrypt(packet);
      dtls.iceTransport.connection.send(enc).catch((err: unknown) => {
        this.#log.debug("sendRtcp failed", { error: String(err) });
      });
    } catch (err) {
      this.#log.debug("SRTCP protect failed", { error: String(err) });
    }
  }

  /**
   * Hands every SRTCP packet werift decrypts (on its path: TCP/TURN pairs, or before the fast path is up; the fast
   * path unprotects its own through SrtpStage and hands them to #rtcpIn) to our RTCP session as plain
   * bytes, before werift parses it for itself: one RTCP parser (media/rtp/Rtcp.ts) for every endpoint. werift
   * makes a new SRTCP session at each DTLS start, hence the hook per session object.
   */
  #tapRtcp(dtls: RTCDtlsTransport): void {
    const srtcp = dtls.srtcp as typeof dtls.srtcp | undefined;
    if (srtcp === undefined || this.#hooked.has(srtcp)) {
      return;
    }
    this.#hooked.add(srtcp);
    const decrypt = srtcp.decrypt;
    srtcp.decrypt = (buf: Buffer): Buffer => {
      const plain = decrypt(buf);
      this.#rtcpIn(plain);
      return plain;
    };
  }

  /** Plain RTCP from the peer (werift's path, tapped; or the fast path's SrtpStage) to our RTCP session. */
  #rtcpIn(plain: Buffer): void {
    if (!this.#closed) {
      try {
        this.#rtcp.receive(plain);
      } catch (err) {
        this.#log.debug("RTCP from the peer dropped", { error: String(err) });
      }
    }
  }

  /** The RTP tap on werift's path (TCP/TURN pairs): one parsed packet, read field by field, never re-serialized. */
  #onRtp(rtp: RtpPacket): void {
    this.#deliver(rtp.header, rtp.payload, performance.now(), false);
  }

  /** Runs a handler from a werift callback: nothing after close, and never an exception back into werift. */
  #safe(f: () => void): void {
    if (this.#closed) {
      return;
    }
    try {
      f();
    } catch (err) {
      this.#log.warn("transport handler failed", { error: String(err) });
    }
  }
}

/**
 * Drops `a=end-of-candidates` from a description that carries no candidate at all. Some clients write it into an
 * SDP whose candidates they then trickle; werift takes it literally, finds an empty check list and fails ICE at
 * once, which no later addIceCandidate revives. KMS (libnice) waits for the trickled candidates instead.
 */
function withoutPrematureEnd(sdp: string): string {
  if (!sdp.includes("a=end-of-candidates") || /^a=candidate:/m.test(sdp)) {
    return sdp;
  }
  return sdp
    .split(/\r?\n/)
    .filter((l) => l !== "a=end-of-candidates")
    .join("\r\n");
}

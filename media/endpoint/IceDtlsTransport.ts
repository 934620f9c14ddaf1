/**
 * The ICE/DTLS {@link Transport} of a WebRtcEndpoint: the werift peer connection behind media/webrtc/WebRtcTransport
 * (BUNDLE, rtcp-mux, DTLS-SRTP, with its FastRtpPath for media), created lazily at the first offer/answer so that
 * the per-endpoint network setters (STUN, TURN, interfaces, ICE-TCP, external addresses) still apply, plus ICE the
 * Kurento way:
 *
 * - app-driven trickle: werift gathers while producing our description, but candidates are raised as
 *   IceCandidateFound only once gatherCandidates() has been called (buffered until then), and descriptions
 *   produced before that carry no candidates; remote candidates are accepted any time and queued until the remote
 *   description is applied;
 * - werift's ICE and DTLS states mapped onto KMS's IceComponentStateChanged, NewCandidatePairSelected and
 *   DtlsConnectionStateChange;
 * - the WebRtcEndpoint network properties and ICE operations ({@link IceDtlsTransport.operations});
 * - the endpoint's {@link SendStream}s, one per kind it sends, keyed by the SSRC of that m-line's werift sender
 *   ({@link IceDtlsTransport.sendStream}); their statistics are the senders of the peer connection's RTCP.
 */
import type { EmitElementEvent } from "../core/events.js";
import type { JsonObject } from "../channel/protocol.js";
import type { Operation } from "../core/MediaObject.js";
import type { RtpMediaKind } from "../core/types.js";
import { MediaOperationError } from "../errors.js";
import { SDP_LIMITS } from "../../sdp/index.js";
import type { Logger } from "../logger.js";
import type { PortAllocator } from "../net/PortAllocator.js";
import type { WebRtcSettings } from "../channel/protocol.js";
import { isValidCandidate, presentSdp, rewriteCandidate } from "../webrtc/sdpText.js";
import {
  WebRtcTransport,
  type DtlsTransportState,
  type IceTransportState,
  type LocalCandidate,
  type TransportHandlers,
} from "../webrtc/WebRtcTransport.js";
import type { SendStreamStats } from "../rtp/RtpStreamStats.js";
import type { DataChannelHandlers } from "../webrtc/DataChannels.js";
import { SendStream } from "./SendStream.js";
import type { SendResult, Transport } from "./Transport.js";
import { isObject } from "./SdpEndpoint.js";
import { intArg, parseTurnUrl, splitHostPort, strArg, turnUrlFromSettings } from "./iceConfig.js";

type IceComponentState = "DISCONNECTED" | "GATHERING" | "CONNECTING" | "CONNECTED" | "READY" | "FAILED";

/** KMS numbers the (single, BUNDLEd) ICE stream 1 and its RTP component 1. */
const STREAM_ID = 1;
const COMPONENT_ID = 1;

/** The endpoint as its ICE/DTLS transport sees it; media and feedback go straight to werift's handlers. */
export interface IceDtlsHooks extends Pick<
  TransportHandlers,
  "connectionState" | "rtp" | "keyframeRequested" | "nackSent" | "receivers"
> {
  readonly logger: Logger;
  readonly ports: PortAllocator;
  readonly emit: EmitElementEvent;
  /** A negotiation step is running (remote candidates wait for it). */
  negotiating(): boolean;
  /** useDataChannels: the data channels' handlers (absent: an offered m=application is rejected). */
  readonly dataChannels?: DataChannelHandlers | undefined;
}

export class IceDtlsTransport implements Transport {
  readonly #h: IceDtlsHooks;
  #transport: WebRtcTransport | undefined;
  #port: number | undefined;
  #gatherRequested = false;
  #gatheringDone = false;
  #gatheringDoneEmitted = false;
  readonly #bufferedCandidates: LocalCandidate[] = [];
  readonly #pendingRemote: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }[] = [];
  /** Remote candidates taken through addIceCandidate; capped at SDP_LIMITS.maxTrickledCandidates. */
  #trickled = 0;
  #iceState: IceComponentState = "DISCONNECTED";
  /** werift has started connectivity checks / has connected at least once. */
  #iceChecking = false;
  #iceEverConnected = false;
  #dtlsState: DtlsTransportState = "new";
  readonly #selectedPairs: JsonObject[] = [];
  // Network settings (per endpoint, defaulting to the worker's webrtc settings).
  #stunAddress: string;
  #stunPort: number;
  #turnUrl: string;
  #networkInterfaces: string;
  #externalIPv4: string;
  #externalIPv6 = "";
  #iceTcp = false;
  /** What we send per kind (fields: read per packet), made once that m-line's sender exists. */
  #audioOut: SendStream | undefined;
  #videoOut: SendStream | undefined;
  /** Their statistics, for the RTCP session's sender reports. */
  #senders: SendStreamStats[] = [];

  constructor(w: WebRtcSettings, hooks: IceDtlsHooks) {
    this.#h = hooks;
    const [stunHost, stunPort] = splitHostPort(w.stunServer);
    this.#stunAddress = stunHost;
    this.#stunPort = stunPort;
    this.#turnUrl = turnUrlFromSettings(w.turnServer, w.turnUsername, w.turnPassword);
    this.#networkInterfaces = w.interfaces.join(",");
    this.#externalIPv4 = w.externalIPv4;
  }

  /** Reserves the ICE port pair from the worker's slice. */
  reservePorts(): void {
    this.#port = this.#h.ports.allocatePair();
  }

  /** The peer connection, once created. */
  get peer(): WebRtcTransport | undefined {
    return this.#transport;
  }

  get dtlsState(): DtlsTransportState {
    return this.#dtlsState;
  }

  /** werift's SDP as KMS would show it (see sdpText.presentSdp); candidates only once gathering was requested. */
  present(sdp: string): string {
    return presentSdp(sdp, {
      stripCandidates: !this.#gatherRequested,
      externalIPv4: this.#externalIPv4,
      externalIPv6: this.#externalIPv6,
    });
  }

  /**
   * Creates the werift peer connection on first use, with the network settings in force at that moment: the
   * reserved port pair, interfaces, STUN/TURN (per-endpoint setters over worker settings) and ICE-TCP.
   */
  ensure(): WebRtcTransport {
    if (this.#transport !== undefined) {
      return this.#transport;
    }
    const port = this.#port;
    const stun =
      this.#stunAddress !== "" && this.#stunPort > 0 ? { host: this.#stunAddress, port: this.#stunPort } : undefined;
    this.#transport = new WebRtcTransport(
      {
        interfaces: this.#networkInterfaces
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
        portRange: port === undefined ? undefined : [port, port + 1],
        stun,
        turn: parseTurnUrl(this.#turnUrl),
        iceTcp: this.#iceTcp,
        logger: this.#h.logger,
        dataChannels: this.#h.dataChannels,
      },
      {
        candidate: (c) => this.#onLocalCandidate(c),
        gatheringDone: () => this.#onGatheringDone(),
        iceState: (s) => this.#onIceState(s),
        dtlsState: (s, id) => this.#onDtlsState(s, id),
        connectionState: this.#h.connectionState,
        rtp: this.#h.rtp,
        keyframeRequested: this.#h.keyframeRequested,
        nackSent: this.#h.nackSent,
        receivers: this.#h.receivers,
        senders: () => this.#senders,
      },
    );
    return this.#transport;
  }

  // ---------------------------------------------------------------------------------------------- ICE

  /**
   * WebRtcEndpoint.gatherCandidates: from now on local candidates are raised as IceCandidateFound, starting with
   * those werift already gathered, then IceGatheringDone. Idempotent, as in KMS.
   */
  gatherCandidates(): null {
    if (this.#gatherRequested) {
      return null;
    }
    this.#gatherRequested = true;
    this.#setIceState("GATHERING");
    if (this.#iceChecking && !this.#iceEverConnected) {
      this.#setIceState("CONNECTING"); // werift started its checks with the answer; KMS shows them after gathering
    }
    this.#flushLocalCandidates();
    return null;
  }

  /** After our description exists: werift has gathered; release what gatherCandidates() asked for. */
  afterLocalDescription(): void {
    if (this.#gatherRequested) {
      this.#flushLocalCandidates();
    }
  }

  #onLocalCandidate(c: LocalCandidate): void {
    this.#bufferedCandidates.push(c);
    if (this.#gatherRequested) {
      this.#flushLocalCandidates();
    }
  }

  #onGatheringDone(): void {
    this.#gatheringDone = true;
    if (this.#gatherRequested) {
      this.#flushLocalCandidates();
    }
  }

  #flushLocalCandidates(): void {
    for (const c of this.#bufferedCandidates.splice(0)) {
      this.#h.emit("IceCandidateFound", {
        candidate: {
          __module__: "kurento",
          __type__: "IceCandidate",
          candidate: rewriteCandidate(c.candidate, {
            externalIPv4: this.#externalIPv4,
            externalIPv6: this.#externalIPv6,
          }),
          sdpMid: c.sdpMid,
          sdpMLineIndex: c.sdpMLineIndex,
        },
      });
    }
    if (this.#gatheringDone && !this.#gatheringDoneEmitted) {
      this.#gatheringDoneEmitted = true;
      this.#h.emit("IceGatheringDone", {});
    }
  }

  /**
   * WebRtcEndpoint.addIceCandidate: validates the IceCandidate and applies it, or queues it until the remote SDP is
   * in place (browsers often trickle before the app has called processOffer).
   * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for anything that is not a candidate,
   *   ICE_ADD_CANDIDATE_ERROR beyond SDP_LIMITS.maxTrickledCandidates remote candidates.
   */
  async addIceCandidate(arg: unknown): Promise<null> {
    const c = isObject(arg) ? arg : undefined;
    const candidate = c?.["candidate"];
    const sdpMid = c?.["sdpMid"];
    const index = c?.["sdpMLineIndex"];
    if (
      typeof candidate !== "string" ||
      !isValidCandidate(candidate) ||
      (sdpMid !== undefined && sdpMid !== null && typeof sdpMid !== "string") ||
      (index !== undefined && index !== null && (typeof index !== "number" || !Number.isInteger(index) || index < 0))
    ) {
      throw new MediaOperationError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `Invalid IceCandidate: ${JSON.stringify(arg)?.slice(0, 200) ?? "undefined"}`,
      );
    }
    if (candidate === "") {
      return null; // End of candidates: nothing to do for a full-ICE agent that keeps checking.
    }
    if (this.#trickled >= SDP_LIMITS.maxTrickledCandidates) {
      throw new MediaOperationError(
        "ICE_ADD_CANDIDATE_ERROR",
        `addIceCandidate refused: this endpoint already has ${SDP_LIMITS.maxTrickledCandidates} remote candidates`,
      );
    }
    this.#trickled++;
    const entry = {
      candidate,
      sdpMid: typeof sdpMid === "string" ? sdpMid : undefined,
      sdpMLineIndex: typeof index === "number" ? index : undefined,
    };
    if (this.#transport?.remoteSdp === undefined || this.#h.negotiating()) {
      this.#pendingRemote.push(entry);
      return null;
    }
    await this.#applyRemoteCandidate(entry);
    return null;
  }

  async flushRemoteCandidates(): Promise<void> {
    for (const c of this.#pendingRemote.splice(0)) {
      await this.#applyRemoteCandidate(c);
    }
  }

  async #applyRemoteCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void> {
    try {
      await this.#transport?.addIceCandidate(c);
    } catch (err) {
      // KMS logs a candidate libnice refuses and carries on; so do we.
      this.#h.logger.warn("remote candidate refused", { candidate: c.candidate, error: String(err) });
    }
  }

  #setIceState(state: IceComponentState): void {
    if (state === this.#iceState) {
      return;
    }
    this.#iceState = state;
    this.#h.emit("IceComponentStateChanged", { streamId: STREAM_ID, componentId: COMPONENT_ID, state });
  }

  /**
   * Maps werift's ICE transport states onto KMS's IceComponentState, in KMS's order: GATHERING (gatherCandidates),
   * CONNECTING, CONNECTED, READY.
   *
   * - werift reports "completed" when its *gathering* ends (Connection.gatherCandidates), not for connectivity:
   *   ignored.
   * - werift starts checking as soon as the answer is set, before the application asked to gather; KMS shows no
   *   ICE state until gatherCandidates(), so CONNECTING waits for GATHERING.
   * - werift reports "connected" once a pair is nominated, which is KMS's CONNECTED immediately followed by READY;
   *   the nominated pair is announced in between.
   */
  #onIceState(s: IceTransportState): void {
    switch (s) {
      case "checking":
        this.#iceChecking = true;
        if (this.#gatherRequested) {
          this.#setIceState("CONNECTING");
        }
        break;
      case "connected": {
        if (!this.#iceEverConnected && this.#iceState !== "CONNECTING") {
          this.#setIceState("CONNECTING");
        }
        this.#iceEverConnected = true;
        this.#setIceState("CONNECTED");
        const pair = this.#transport?.selectedPair();
        if (pair !== undefined) {
          const candidatePair: JsonObject = {
            __module__: "kurento",
            __type__: "IceCandidatePair",
            streamId: String(STREAM_ID),
            componentId: COMPONENT_ID,
            localCandidate: rewriteCandidate(pair.local, {
              externalIPv4: this.#externalIPv4,
              externalIPv6: this.#externalIPv6,
            }),
            remoteCandidate: pair.remote,
          };
          this.#selectedPairs.splice(0, this.#selectedPairs.length, candidatePair);
          this.#h.emit("NewCandidatePairSelected", { candidatePair });
        }
        this.#setIceState("READY");
        break;
      }
      case "failed":
        this.#setIceState("FAILED");
        break;
      case "disconnected":
      case "closed":
        this.#setIceState("DISCONNECTED");
        break;
      default:
        break;
    }
  }

  #onDtlsState(s: DtlsTransportState, connectionId: string): void {
    this.#dtlsState = s;
    this.#h.emit("DtlsConnectionStateChange", {
      streamId: String(STREAM_ID),
      componentId: String(COMPONENT_ID),
      connectionId,
      state: s.toUpperCase(),
    });
  }

  // ---------------------------------------------------------------------------------------------- Transport

  /**
   * The stream we send on `kind`: one field read, or made the first time once the peer connection has that
   * m-line's sender (its SSRC is the stream's; it never changes). Undefined before.
   */
  sendStream(kind: RtpMediaKind): SendStream | undefined {
    return (kind === "AUDIO" ? this.#audioOut : this.#videoOut) ?? this.#openSendStream(kind);
  }

  #openSendStream(kind: RtpMediaKind): SendStream | undefined {
    const ssrc = this.#transport?.localSsrc(kind);
    if (ssrc === undefined) {
      return undefined;
    }
    const s = new SendStream(kind, { ssrc, clockRate: this.#transport?.localClockRate(kind), randomOffsets: true });
    if (kind === "AUDIO") {
      this.#audioOut = s;
    } else {
      this.#videoOut = s;
    }
    this.#senders = [this.#audioOut?.stats, this.#videoOut?.stats].filter((x) => x !== undefined);
    return s;
  }

  sendRtp(
    kind: RtpMediaKind,
    _payloadType: number,
    codec: string,
    seq: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): SendResult {
    return this.#transport === undefined
      ? "not-ready"
      : this.#transport.sendRtp(kind, codec, seq, timestamp, marker, payload);
  }

  requestKeyframe(): "pli" | "fir" | undefined {
    return this.#transport?.requestKeyframe();
  }

  /** Closes the peer connection, returns the port pair, drops queued state. Idempotent; never throws. */
  close(): void {
    try {
      this.#transport?.close();
    } catch (err) {
      this.#h.logger.warn("closing the peer connection failed", { error: String(err) });
    }
    this.#transport = undefined;
    if (this.#port !== undefined) {
      this.#h.ports.release(this.#port);
      this.#port = undefined;
    }
    this.#bufferedCandidates.length = 0;
    this.#pendingRemote.length = 0;
  }

  /** The ICE operations and network properties of WebRtcEndpoint (elements.kmd.json). */
  operations(): Record<string, Operation> {
    return {
      gatherCandidates: () => this.gatherCandidates(),
      addIceCandidate: (a) => this.addIceCandidate(a["candidate"]),
      getICECandidatePairs: () => [...this.#selectedPairs],
      getIceConnectionState: () =>
        this.#transport === undefined
          ? []
          : [
              {
                __module__: "kurento",
                __type__: "IceConnection",
                streamId: String(STREAM_ID),
                componentId: COMPONENT_ID,
                state: this.#iceState,
              },
            ],
      getDtlsConnectionState: () =>
        this.#transport === undefined
          ? []
          : [
              {
                __module__: "kurento",
                __type__: "DtlsConnection",
                streamId: String(STREAM_ID),
                componentId: String(COMPONENT_ID),
                connectionId: this.#transport.dtlsTransportId,
                state: this.#dtlsState.toUpperCase(),
              },
            ],
      getStunServerAddress: () => this.#stunAddress,
      setStunServerAddress: (a) => {
        this.#stunAddress = strArg(a, "stunServerAddress");
        return null;
      },
      getStunServerPort: () => this.#stunPort,
      setStunServerPort: (a) => {
        this.#stunPort = intArg(a, "stunServerPort");
        return null;
      },
      getTurnUrl: () => this.#turnUrl,
      setTurnUrl: (a) => {
        const url = strArg(a, "turnUrl");
        if (url !== "" && parseTurnUrl(url) === undefined) {
          throw new MediaOperationError(
            "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
            `turnUrl '${url}' is not user:pass@ip:port`,
          );
        }
        this.#turnUrl = url;
        return null;
      },
      getNetworkInterfaces: () => this.#networkInterfaces,
      setNetworkInterfaces: (a) => {
        this.#networkInterfaces = strArg(a, "networkInterfaces");
        return null;
      },
      getExternalIPv4: () => this.#externalIPv4,
      setExternalIPv4: (a) => {
        this.#externalIPv4 = strArg(a, "externalIPv4");
        return null;
      },
      getExternalIPv6: () => this.#externalIPv6,
      setExternalIPv6: (a) => {
        this.#externalIPv6 = strArg(a, "externalIPv6");
        return null;
      },
      getIceTcp: () => this.#iceTcp,
      setIceTcp: (a) => {
        this.#iceTcp = a["iceTcp"] === true;
        return null;
      },
    };
  }
}

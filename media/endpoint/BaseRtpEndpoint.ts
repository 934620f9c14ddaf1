/**
 * BaseRtpEndpoint (Kurento core module, kurento-protocol.md §7.1): what every RTP endpoint has on top of its SDP
 * negotiation, once for RtpEndpoint, WebRtcEndpoint and SipEndpoint:
 *
 * - mediaState (CONNECTED while RTP arrives, DISCONNECTED before it and after a media timeout) with
 *   MediaStateChanged, and connectionState (CONNECTED once the transport can carry media) with
 *   ConnectionStateChanged; both raised only on a change;
 * - requestKeyframe, and the keyframe requests from the pipeline (a sink's peer lost the picture, a video sink was
 *   attached), all ending in the subclass' {@link BaseRtpEndpoint.askPeerForKeyframe};
 * - the BaseRtpEndpoint properties Korus stores and reports but does not enforce (bandwidths, mtu, rembParams).
 */
import type { JsonValue } from "../channel/protocol.js";
import type { Operation } from "../core/MediaObject.js";
import { SdpEndpoint, addStoredProperties } from "./SdpEndpoint.js";

/** Kurento's MediaState and ConnectionState share these two values. */
export type ConnState = "CONNECTED" | "DISCONNECTED";

/** BaseRtpEndpoint properties Korus stores and reports but does not enforce (core.kmd.json; KMS defaults). */
const RTP_PROPERTY_DEFAULTS: Record<string, JsonValue> = {
  minVideoRecvBandwidth: 0,
  minVideoSendBandwidth: 100,
  maxVideoSendBandwidth: 500,
  mtu: 1200,
  rembParams: {
    __module__: "kurento",
    __type__: "RembParams",
    packetsRecvIntervalTop: 100,
    exponentialFactor: 0.04,
    linealFactorMin: 50000,
    linealFactorGrade: 30,
    decrementFactor: 0.5,
    thresholdFactor: 0.8,
    upLosses: 12,
    rembOnConnect: 300000,
  },
};

export abstract class BaseRtpEndpoint<R> extends SdpEndpoint<R> {
  #mediaState: ConnState = "DISCONNECTED";
  #connectionState: ConnState = "DISCONNECTED";
  readonly #props = new Map<string, JsonValue>();

  get mediaState(): ConnState {
    return this.#mediaState;
  }

  get connectionState(): ConnState {
    return this.#connectionState;
  }

  /** Sets mediaState; raises MediaStateChanged on a change. Cheap when unchanged (called per packet). */
  protected setMediaState(state: ConnState): void {
    if (state !== this.#mediaState) {
      const oldState = this.#mediaState;
      this.#mediaState = state;
      this.ctx.emit("MediaStateChanged", { oldState, newState: state });
    }
  }

  /** Sets connectionState; raises ConnectionStateChanged on a change. */
  protected setConnectionState(state: ConnState): void {
    if (state !== this.#connectionState) {
      const oldState = this.#connectionState;
      this.#connectionState = state;
      this.ctx.emit("ConnectionStateChanged", { oldState, newState: state });
    }
  }

  /** Asks the peer for a keyframe (PLI/FIR), or remembers to ask once it can. */
  protected abstract askPeerForKeyframe(): void;

  /** A sink of ours needs a keyframe: ask our peer. */
  override handleKeyframeRequest(): void {
    this.askPeerForKeyframe();
  }

  protected override onKeyframeNeededFromPeer(): void {
    this.askPeerForKeyframe();
  }

  protected override operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      ...super.operations(),
      getMediaState: () => this.#mediaState,
      getConnectionState: () => this.#connectionState,
      requestKeyframe: () => {
        this.askPeerForKeyframe();
        return null;
      },
    };
    addStoredProperties(ops, RTP_PROPERTY_DEFAULTS, this.#props);
    return ops;
  }
}

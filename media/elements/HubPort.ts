/**
 * HubPort (Kurento core): one participant of a hub (Composite). Audio connected INTO the port is mixed for the
 * other participants; the port's output (connect port → endpoint) is the mix of everyone else, produced every
 * 20 ms while the port has an AUDIO sink, silence when nobody else talks.
 *
 * The output leaves in the format its (first) AUDIO sink negotiated with its peer (media/mixer/MixFormat.ts): the
 * port reads the sink's `audioSinkCaps()` once per tick (a field compare; the caps object changes only at the
 * sink's next negotiation), so a PCMU RtpEndpoint gets µ-law encoded once for every PCMU listener of the room, and
 * forwards it untouched. Without caps (a sink that takes anything, or not negotiated yet) it is Opus at 48 kHz RTP
 * clock (payload type 111); a further sink of another codec gets it through the automatic transcoding of
 * MediaElement. Video into a port is dropped (Korus mixes audio only).
 *
 * Releasing the port removes the participant from the mix; releasing the hub releases its ports.
 *
 * On a routing hub (Dispatcher, DispatcherOneToMany) the port mixes nothing: its input goes to the hub, which
 * forwards it to the ports routed from it, and its output is the input of the port it is routed from; a keyframe
 * request from its sinks goes to that port's source.
 */
import type { JsonObject } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { MediaPacket } from "../core/types.js";
import { InvalidStateError } from "../errors.js";
import { isHub, isRoutingHub, type Hub, type HubMember, type RouteLink, type RoutedPort } from "../mixer/hub.js";
import { mixFormatFor, OPUS_MIX_FORMAT, type MixFormat } from "../mixer/MixFormat.js";
import type { SinkAudioCaps } from "../transcode/format.js";

export class HubPort extends MediaElement implements HubMember, RoutedPort {
  /** The mixing hub (Composite); undefined on a routing hub. */
  readonly hub: Hub | undefined;
  readonly #leave: () => void;
  /** The routing hub's link (Dispatcher, DispatcherOneToMany); undefined on a Composite. */
  readonly #route: RouteLink | undefined;
  /** Video into a mixing port is dropped: said once per port, never silently (issue 13). */
  #videoDropLogged = false;
  /** The AUDIO sink whose format the mix is encoded in, its caps as last seen, and that format. */
  #audioSink: MediaElement | undefined;
  #caps: SinkAudioCaps | undefined;
  #format: MixFormat = OPUS_MIX_FORMAT;

  /** @throws InvalidStateError when `hub` is not a live Composite of this pipeline. */
  constructor(ctx: ElementContext, ctor: JsonObject) {
    super(ctx);
    const id = ctor["hub"];
    const hub = typeof id === "string" ? ctx.lookup?.(id) : undefined;
    if (isRoutingHub(hub) && hub.pipelineId === ctx.pipelineId) {
      this.hub = undefined;
      const route = hub.attach(this);
      this.#route = route;
      this.#leave = () => route.leave();
      return;
    }
    if (!isHub(hub) || hub.pipelineId !== ctx.pipelineId) {
      const label = typeof id === "string" ? id : JSON.stringify(id ?? null);
      throw new InvalidStateError(`Hub '${label}' not found in pipeline '${ctx.pipelineId}'`);
    }
    this.hub = hub;
    this.#route = undefined;
    this.#leave = hub.join(this);
  }

  wantsOutput(): boolean {
    return !this.released && this.hasSinks("AUDIO");
  }

  /** The format of the mix for this port's sink (called by the mixer once per tick). */
  outputFormat(): MixFormat {
    const caps = this.#audioSink?.audioSinkCaps();
    if (caps !== this.#caps) {
      this.#caps = caps;
      this.#format = mixFormatFor(caps);
    }
    return this.#format;
  }

  protected override onSinkAttached(conn: Connection): void {
    if (conn.kind === "AUDIO" && this.#audioSink === undefined) {
      this.#audioSink = conn.sink;
    }
  }

  protected override onSinkDetached(conn: Connection): void {
    if (conn.sink === this.#audioSink && conn.kind === "AUDIO") {
      this.#audioSink = this.sinkConnections("AUDIO")[0]?.sink;
    }
  }

  deliver(packet: MediaPacket): void {
    if (!this.released) {
      this.sendToSinks(packet);
    }
  }

  /** Counters of this participant's input (decode, jitter, concealment). */
  get inputStats(): ReturnType<Hub["mixer"]["inputStats"]> {
    return this.hub?.mixer.inputStats(this.id);
  }

  /** RoutedPort: asks the element connected into this port for a keyframe. */
  requestSourceKeyframe(): void {
    this.requestKeyframeUpstream();
  }

  /** A sink needs a keyframe: on a routing hub, from the port this one is routed from. */
  override handleKeyframeRequest(): void {
    if (this.#route !== undefined) {
      this.#route.keyframe();
      return;
    }
    super.handleKeyframeRequest();
  }

  protected override onMedia(packet: MediaPacket, _conn: Connection): void {
    if (this.#route !== undefined) {
      this.#route.input(packet);
      return;
    }
    if (packet.kind === "AUDIO") {
      this.hub?.mixer.input(this.id, packet);
    } else if (packet.kind === "VIDEO" && !this.#videoDropLogged) {
      this.#videoDropLogged = true;
      this.ctx.logger.warn("video into a Composite's HubPort is dropped: Korus's Composite mixes audio only", {
        elementId: this.id,
        codec: packet.codec,
      });
    }
  }

  protected override dispose(): void {
    this.#leave();
  }
}

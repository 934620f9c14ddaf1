/**
 * Composite (Kurento Hub): an audio MCU. Every HubPort created on it is one participant: the media connected into
 * the port is the participant's voice, and the port's output carries the mix of all the OTHER participants
 * (minus-self), encoded in the codec the port's sink negotiated (Opus at 48 kHz RTP clock when it takes anything),
 * one encoder per format for all the listeners of that format (media/mixer/AudioMixer.ts, MixFormat.ts). Video is
 * not mixed: video connected into a port is dropped and ports send no video.
 *
 * In Kurento a Hub is a MediaObject, not a MediaElement; here it is a MediaElement that takes no media (the
 * control plane never lets a client connect it, as its kmd type has no `connect`), so that the worker's element
 * factory builds it like any other element and its HubPorts find it through their context's `lookup(id)`. Releasing the Composite releases its ports.
 */
import type { JsonObject } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { MediaPacket } from "../core/types.js";
import { AudioMixer } from "../mixer/AudioMixer.js";
import type { Hub, HubMember } from "../mixer/hub.js";

export class Composite extends MediaElement implements Hub {
  readonly mixer: AudioMixer;
  readonly #ports = new Map<string, HubMember>();

  constructor(ctx: ElementContext, _ctor: JsonObject) {
    super(ctx);
    this.mixer = new AudioMixer(ctx.id, ctx.logger);
  }

  join(port: HubMember): () => void {
    this.assertAlive();
    this.#ports.set(port.id, port);
    this.mixer.add(port);
    return () => {
      this.#ports.delete(port.id);
      this.mixer.remove(port.id);
    };
  }

  /** Live ports (tests, diagnostics). */
  get portCount(): number {
    return this.#ports.size;
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A hub takes no media itself: its ports do.
  }

  protected override dispose(): void {
    for (const p of [...this.#ports.values()]) {
      p.release();
    }
    this.#ports.clear();
    this.mixer.close();
  }
}

/**
 * PassThrough (Kurento core): forwards every packet it receives to its sinks unchanged.
 */
import type { Connection } from "../core/MediaElement.js";
import { MediaElement } from "../core/MediaElement.js";
import type { MediaPacket } from "../core/types.js";

export class PassThrough extends MediaElement {
  protected override onMedia(packet: MediaPacket, _conn: Connection): void {
    this.sendToSinks(packet);
  }

  protected override dispose(): void {
    // Nothing of its own.
  }
}

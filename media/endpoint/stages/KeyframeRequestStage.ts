/**
 * Keyframe requests that could not be sent yet: a sink wanted a keyframe before the peer's video SSRC was known
 * (nothing to address a PLI to). The endpoint marks the request {@link KeyframeRequestStage.pending}; at the first
 * video packet from the peer the stage asks again, unless that packet already starts a keyframe.
 */
import type { MediaPacket } from "../../core/types.js";
import type { RtpStage } from "./RtpStage.js";

export class KeyframeRequestStage implements RtpStage {
  /** A keyframe is wanted from the peer and was not asked for yet. */
  pending = false;
  readonly #ask: () => void;

  /** @param ask sends the request to the peer (PLI/FIR). */
  constructor(ask: () => void) {
    this.#ask = ask;
  }

  onRtp(packet: MediaPacket): boolean {
    if (this.pending && packet.kind === "VIDEO") {
      this.pending = false;
      if (!packet.keyframe) {
        this.#ask();
      }
    }
    return true;
  }

  close(): void {
    this.pending = false;
  }
}

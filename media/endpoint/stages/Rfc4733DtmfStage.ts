/**
 * RFC 4733 DTMF from the peer: telephone-event packets are turned into digits (one per key press, once its end
 * packet arrives; retransmitted ends are ignored, §2.5.1.4) and reported through `onDigit` (the endpoint raises
 * DtmfReceived{digit, durationMs}). The events still travel on to the sinks, which may relay them.
 */
import type { MediaPacket } from "../../core/types.js";
import { DtmfDetector } from "../../rtp/dtmf.js";
import type { RtpStage } from "./RtpStage.js";

export interface Rfc4733DtmfHooks {
  onDigit(digit: string, durationMs: number): void;
  /** A telephone-event payload shorter than its 4 bytes (logged at a bounded rate by the endpoint). */
  onShortPayload(): void;
}

export class Rfc4733DtmfStage implements RtpStage {
  readonly #detector = new DtmfDetector();
  readonly #hooks: Rfc4733DtmfHooks;

  constructor(hooks: Rfc4733DtmfHooks) {
    this.#hooks = hooks;
  }

  onRtp(packet: MediaPacket): boolean {
    if (packet.codec !== "telephone-event") {
      return true;
    }
    if (packet.payload.length < 4) {
      this.#hooks.onShortPayload();
      return true;
    }
    for (const d of this.#detector.push(packet.timestamp, packet.payload, packet.clockRate)) {
      this.#hooks.onDigit(d.digit, d.durationMs);
    }
    return true;
  }

  close(): void {
    // Nothing to free.
  }
}

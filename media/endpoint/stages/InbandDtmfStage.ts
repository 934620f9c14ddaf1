/**
 * In-band DTMF from the peer (trunks in `inband` mode): Goertzel detection on the decoded audio of the peer's
 * primary codec (InbandDtmfReceiver). Active only while {@link InbandDtmfStage.enabled}; the decoder is made at the
 * first audio packet and made again when the format changes (another payload type, or a renegotiation: see
 * {@link InbandDtmfStage.reset}). Auxiliary payloads (telephone-event, CN, RED) are not audio.
 */
import type { MediaPacket } from "../../core/types.js";
import { InbandDtmfReceiver } from "../../transcode/InbandDtmfReceiver.js";
import type { InbandFormat } from "../../transcode/InbandDtmfSender.js";
import type { RtpStage } from "./RtpStage.js";

/** Payload formats that travel next to the audio codec rather than being one. */
export const AUX_CODECS: ReadonlySet<string> = new Set(["telephone-event", "cn", "red"]);

export interface InbandDtmfHooks {
  /** The negotiated format of a payload type (its fmtp included); called when the format changes, not per packet. */
  formatOf(payloadType: number): InbandFormat | undefined;
  onDigit(digit: string, durationMs: number): void;
  /** No decoder for the peer's codec: the endpoint falls back to RFC 4733 (and disables this stage). */
  onUnavailable(err: unknown): void;
}

export class InbandDtmfStage implements RtpStage {
  /** Detection runs only in `inband` DTMF mode. */
  enabled = false;
  readonly #hooks: InbandDtmfHooks;
  #rx: InbandDtmfReceiver | undefined;
  /** The payload type #rx decodes. */
  #pt = -1;

  constructor(hooks: InbandDtmfHooks) {
    this.#hooks = hooks;
  }

  onRtp(packet: MediaPacket): boolean {
    if (!this.enabled || packet.kind !== "AUDIO" || AUX_CODECS.has(packet.codec)) {
      return true;
    }
    let rx = this.#rx;
    if (rx === undefined || this.#pt !== packet.payloadType) {
      rx = this.#open(packet.payloadType);
      if (rx === undefined) {
        return true;
      }
    }
    for (const d of rx.push(packet.payload)) {
      this.#hooks.onDigit(d.digit, d.durationMs);
    }
    return true;
  }

  #open(payloadType: number): InbandDtmfReceiver | undefined {
    const format = this.#hooks.formatOf(payloadType);
    const cur = this.#rx;
    if (cur !== undefined && format !== undefined && sameFormat(cur.format, format)) {
      this.#pt = payloadType;
      return cur;
    }
    this.reset();
    if (format === undefined) {
      return undefined;
    }
    try {
      this.#rx = new InbandDtmfReceiver(format);
      this.#pt = payloadType;
    } catch (err) {
      this.#hooks.onUnavailable(err);
    }
    return this.#rx;
  }

  /** Forgets the decoder (a new negotiation may have changed the format under the same payload type). */
  reset(): void {
    this.#rx?.close();
    this.#rx = undefined;
    this.#pt = -1;
  }

  close(): void {
    this.reset();
  }
}

export function sameFormat(a: InbandFormat, b: InbandFormat): boolean {
  return a.codec === b.codec && a.clockRate === b.clockRate && a.parameters === b.parameters;
}

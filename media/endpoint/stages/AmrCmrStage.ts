/**
 * AMR / AMR-WB codec mode requests from the peer (RFC 4867 §4.3.1, §4.4.1): the CMR is the first 4 bits of the
 * payload in both the octet-aligned and the bandwidth-efficient packing. The transcoder that encodes towards this
 * peer reads the latest request through {@link AmrCmrStage.modeRequest}.
 */
import type { MediaPacket } from "../../core/types.js";
import type { RtpStage } from "./RtpStage.js";

/** CMR 15: no mode request. */
const NO_REQUEST = 15;

export class AmrCmrStage implements RtpStage {
  #cmr = NO_REQUEST;

  /** The mode the peer asked for, undefined when it asked for none. */
  get modeRequest(): number | undefined {
    return this.#cmr === NO_REQUEST ? undefined : this.#cmr;
  }

  onRtp(packet: MediaPacket): boolean {
    const codec = packet.codec;
    if ((codec === "amr" || codec === "amr-wb") && packet.payload.length > 0) {
      this.#cmr = packet.payload[0]! >> 4;
    }
    return true;
  }

  close(): void {
    // Nothing to free.
  }
}

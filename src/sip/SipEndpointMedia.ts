/**
 * Typed access to a SipEndpoint's internal SIP operations in its media worker (media/elements/SipEndpoint.ts): the
 * call leg (src/sip/SipLeg.ts) negotiates and relays DTMF through these methods, and this file is the one place
 * that names the operations and builds their arguments.
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import type { Direction } from "../../sdp/index.js";
import type { DtmfMode } from "../../sip/trunk/index.js";
import type { MediaWorkerHandle } from "../pool/MediaWorkerHandle.js";

/** A SipEndpoint's media half, as its call leg drives it. Every method rejects with the worker's error. */
export interface SipEndpointMedia {
  /**
   * Our offer (`sipOffer`): the initial one, the current description again for a refresh, or with `direction` a
   * hold or resume offer.
   */
  offer(refresh: boolean, direction?: Direction): Promise<JsonValue>;
  /** The peer's answer to our offer (`sipAnswer`). */
  answer(sdp: string): Promise<JsonValue>;
  /** The peer's offer (`sipProcessOffer`); resolves with our answer. */
  processOffer(sdp: string): Promise<JsonValue>;
  /** The trunk's DTMF mode (`sipDtmfMode`), set before media flows. */
  setDtmfMode(mode: DtmfMode): Promise<JsonValue>;
  /** A digit the peer sent by SIP INFO, into the pipeline as RFC 4733 (`sipInjectDtmf`). */
  injectDtmf(digit: string, durationMs: number): Promise<JsonValue>;
}

/** The SipEndpoint `objectId` in `worker`. */
export function workerSipMedia(worker: MediaWorkerHandle, objectId: string): SipEndpointMedia {
  const invoke = (operation: string, args: JsonObject): Promise<JsonValue> =>
    worker.request("object.invoke", { objectId, operation, args });
  return {
    offer: (refresh, direction) => invoke("sipOffer", direction === undefined ? { refresh } : { refresh, direction }),
    answer: (sdp) => invoke("sipAnswer", { answer: sdp }),
    processOffer: (sdp) => invoke("sipProcessOffer", { offer: sdp }),
    setDtmfMode: (mode) => invoke("sipDtmfMode", { mode }),
    injectDtmf: (digit, durationMs) => invoke("sipInjectDtmf", { digit, durationMs }),
  };
}

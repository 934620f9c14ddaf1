/**
 * The media seam of the UA core (issue 3 §7), in the manner of SIP.js's SessionDescriptionHandler: an
 * {@link InviteSession} reaches media only through this interface, which `src/` implements over the media workers.
 * `sip/` never imports `media/` or `src/`; SDP travels as text, the form the SIP body carries it in.
 *
 * Every method may be asynchronous (media lives in worker threads). The session calls them in offer/answer order
 * (RFC 3264): `getOffer` → (peer) → `setAnswer`, or `processOffer` → (peer); never two negotiations at once.
 * @see https://www.rfc-editor.org/rfc/rfc3264
 */

import type { Direction } from "../../sdp/index.js";

/** Options of {@link MediaHandler.getOffer}. */
export interface OfferRequest {
  /** Put the session on hold: streams `sendonly` (or `inactive` when the peer already holds us). */
  readonly hold?: boolean;
  /**
   * The direction of every audio/video stream of the offer, set by the session with `hold` (hold and resume,
   * RFC 3264 §8.4; see sip/ua/SessionHold.ts). Absent: the streams keep their direction.
   */
  readonly direction?: Direction;
  /**
   * A session refresh (RFC 4028) or a re-offer that must not change the session: return the current description
   * with the same `o=` version (RFC 3264 §8: "the version number MUST NOT change" when nothing changed).
   */
  readonly refresh?: boolean;
}

/**
 * Thrown by a {@link MediaHandler} when the offer is acceptable but the media resources to serve it are exhausted
 * (no free RTP port): the session answers 503 Service Unavailable with Retry-After and Q.850 cause 34 ("no
 * circuit/channel available"), so a carrier retries elsewhere, instead of 488, which would blame its codecs.
 */
export class MediaUnavailableError extends Error {
  override readonly name = "MediaUnavailableError";
  /** Seconds the peer should wait before it retries (the Retry-After header). */
  readonly retryAfterS: number;
  constructor(message: string, retryAfterS = 5) {
    super(message);
    this.retryAfterS = retryAfterS;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface MediaHandler {
  /** Our offer (initial INVITE, re-INVITE, UPDATE, or the offer in a 2xx to an offerless INVITE). */
  getOffer(request: OfferRequest): Promise<string> | string;
  /** The peer's answer to our last offer. */
  setAnswer(sdp: string): Promise<void> | void;
  /**
   * The peer's offer; returns our answer. Throwing (e.g. an `SdpNegotiationError`) makes the session answer 488 Not
   * Acceptable Here to that offer; throwing {@link MediaUnavailableError} makes it answer 503 with Retry-After.
   */
  processOffer(sdp: string): Promise<string> | string;
  /** The session ended: release ports and streams. Called exactly once. */
  close(): void;
}

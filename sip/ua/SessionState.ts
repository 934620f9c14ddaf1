/**
 * States of an {@link InviteSession} and of its offer/answer exchange.
 *
 * ```
 *  UAC:  Calling ──18x──► Early ──2xx/ACK sent──► Confirmed ──BYE──► Terminating ──► Terminated
 *  UAS:  Incoming ──18x──► Early ──2xx sent──► Accepted ──ACK──► Confirmed ──BYE──► Terminating ──► Terminated
 *        any state ─────────────── failure, CANCEL, rejection, BYE received ──────────────────────► Terminated
 * ```
 * Calling/Incoming/Early may also go to Terminating (a CANCEL waits for the 487; a BYE for its response).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13
 */
export enum SessionState {
  Calling = "Calling",
  Incoming = "Incoming",
  Early = "Early",
  Accepted = "Accepted",
  Confirmed = "Confirmed",
  Terminating = "Terminating",
  Terminated = "Terminated",
}

/**
 * The offer/answer state of the session (RFC 3264, RFC 6337 §2): at most one offer may be outstanding in each
 * direction; a second offer while one is pending is glare (491) or a 500 with Retry-After (RFC 3261 §14.2, RFC 3311
 * §5.2).
 */
export enum OfferAnswerState {
  /** No offer sent or received yet (offerless INVITE received, or before the first offer). */
  NoOffer = "NoOffer",
  /** We sent an offer and wait for the answer. */
  HaveLocalOffer = "HaveLocalOffer",
  /** We received an offer and owe the answer. */
  HaveRemoteOffer = "HaveRemoteOffer",
  /** The last exchange completed. */
  Stable = "Stable",
}

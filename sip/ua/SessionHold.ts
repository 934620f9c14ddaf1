/**
 * Hold and resume of a call (RFC 3264 §8.4, RFC 6337 §5.3): the direction our offer gives its streams, and the hold
 * state of both sides that the session reports.
 *
 * - We hold the peer: `sendonly`, or `inactive` when the peer already holds us (it sends nothing, and we send
 *   nothing it wants to hear: RFC 6337 §5.3's "hold while held").
 * - We resume: `sendrecv` (the peer's answer says what it does while it still holds us).
 * @see https://www.rfc-editor.org/rfc/rfc3264#section-8.4
 * @see https://www.rfc-editor.org/rfc/rfc6337#section-5.3
 */

import type { Direction } from "../../sdp/index.js";

/** Who holds whom: `local` when we put the peer on hold, `remote` when the peer put us on hold. */
export interface HoldState {
  readonly local: boolean;
  readonly remote: boolean;
}

/** Options of {@link InviteSession.hold} and {@link InviteSession.unhold}. */
export interface HoldOptions {
  /** Send an UPDATE (RFC 3311) instead of a re-INVITE when the peer allows UPDATE. Default false. */
  readonly update?: boolean;
}

/** The direction of the audio/video streams of our hold (`held`) or resume offer. */
export function holdDirection(held: boolean, remoteHold: boolean): Direction {
  if (!held) {
    return "sendrecv";
  }
  return remoteHold ? "inactive" : "sendonly";
}

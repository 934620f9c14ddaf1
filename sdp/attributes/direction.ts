/**
 * Media direction attributes `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive` (RFC 8866 §6.7) and their
 * offer/answer rules (RFC 3264 §6.1), used for hold and resume (RFC 3264 §8.4).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-6.7
 * @see https://www.rfc-editor.org/rfc/rfc3264#section-6.1
 */

/** The four direction attributes. RFC 8866 §6.7: "If none ... is present, 'sendrecv' SHOULD be assumed". */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** All direction attribute names, for recognising them among other attributes. */
export const DIRECTIONS: readonly Direction[] = ["sendrecv", "sendonly", "recvonly", "inactive"];

/** Type guard for a direction attribute name. */
export function isDirection(value: string): value is Direction {
  return (DIRECTIONS as readonly string[]).includes(value);
}

/** Whether the side that wrote this direction sends media. */
export function sends(direction: Direction): boolean {
  return direction === "sendrecv" || direction === "sendonly";
}

/** Whether the side that wrote this direction receives media. */
export function receives(direction: Direction): boolean {
  return direction === "sendrecv" || direction === "recvonly";
}

/** Builds a direction from send/receive flags. */
export function directionOf(send: boolean, receive: boolean): Direction {
  if (send) {
    return receive ? "sendrecv" : "sendonly";
  }
  return receive ? "recvonly" : "inactive";
}

/**
 * The direction of an answer (RFC 3264 §6.1): "If a stream is offered as sendonly, the corresponding stream MUST be
 * marked as recvonly or inactive in the answer. If a media stream is listed as recvonly in the offer, the answer
 * MUST be marked as sendonly or inactive ... If an offered media stream is listed as sendrecv (or if there is no
 * direction attribute ...), the corresponding stream in the answer MAY be marked as sendonly, recvonly, sendrecv,
 * or inactive. If an offered media stream is listed as inactive, it MUST be marked as inactive in the answer."
 *
 * @param offered - the offer's direction for the stream.
 * @param local - what the answerer would like (its own send/receive wishes), default `sendrecv`.
 */
export function answerDirection(offered: Direction, local: Direction = "sendrecv"): Direction {
  // We send only if the offerer receives and we want to send; we receive only if the offerer sends.
  return directionOf(receives(offered) && sends(local), sends(offered) && receives(local));
}

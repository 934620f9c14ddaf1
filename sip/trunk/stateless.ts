/**
 * Stateless answers at the edge (RFC 3261 §8.2.7): a trunk ACL rejection or a rate-limit 503 must not create a
 * transaction or any other per-request state. The To tag is derived from the request (hash of Call-ID, From tag and
 * branch), so a retransmitted request gets a byte-identical answer, as §8.2.7 asks of a stateless UAS.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-8.2.7
 */

import { createHash } from "node:crypto";
import { createResponse } from "../message/responses.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";

/**
 * A stateless final response to `request`, or `undefined` for ACK (RFC 3261 §17.1.1.3: an ACK is never answered).
 * Header values are added after the mandatory ones (e.g. `[["Retry-After", "5"]]`).
 */
export function statelessResponse(
  request: SipRequest,
  status: number,
  headers: readonly (readonly [string, string])[] = [],
): SipResponse | undefined {
  if (request.method === "ACK") {
    return undefined;
  }
  let seed = request.callId;
  try {
    seed += `|${request.from.tag ?? ""}|${request.topVia.branch ?? ""}`;
  } catch {
    // Parsed requests always have From and Via; a hand-built one may not. The Call-ID alone still gives a stable tag.
  }
  const toTag = createHash("sha256").update(seed).digest("hex").slice(0, 16);
  const response = createResponse(request, status, { toTag });
  for (const [name, value] of headers) {
    response.addHeader(name, value);
  }
  return response;
}

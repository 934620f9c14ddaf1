/**
 * Transaction matching (RFC 3261 §17.1.3, §17.2.3) and CANCEL matching (§9.2).
 *
 * Ids are strings so the transaction layer can keep its transactions in a `Map`.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.2.3
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";

/**
 * The id a client transaction registers under: top-Via branch plus method.
 * §17.1.3: a response matches a client transaction "if the response has the same value of the branch parameter in the
 * top Via header field as the branch parameter in the top Via header field of the request that created the
 * transaction" and "the method parameter in the CSeq header field matches the method of the request that created the
 * transaction. The method is needed since a CANCEL request constitutes a different transaction, but shares the same
 * value of the branch parameter."
 */
export function clientTransactionId(request: SipRequest): string {
  return `${request.topVia.branch ?? ""}|${request.method}`;
}

/** The client transaction a response belongs to (same id as {@link clientTransactionId}). */
export function responseTransactionId(response: SipResponse): string {
  return `${response.topVia.branch ?? ""}|${response.cseq.method}`;
}

/**
 * The id of the server transaction a request belongs to.
 *
 * RFC 3261 branch (magic cookie present, §17.2.3): "the branch parameter in the request is equal to the one in the
 * top Via header field of the request that created the transaction, the sent-by value in the top Via of the request
 * is equal to the one in the request that created the transaction, and the method of the request matches the one
 * that created the transaction, except for ACK, where the method of the request that created the transaction is
 * INVITE."
 *
 * RFC 2543 peers (no cookie, or a bare cookie as in RFC 4475 §3.2.1 badbranch): Request-URI, From tag, Call-ID, CSeq
 * number and top Via. The To tag is left out so the ACK for a locally tagged non-2xx still matches; this is the
 * §17.2.3 ACK rule applied to both requests.
 *
 * @param methodOverride compute the id as if the request had this method (CANCEL matching uses `"INVITE"`).
 */
export function serverTransactionId(request: SipRequest, methodOverride?: string): string {
  const via = request.topVia;
  const method = methodOverride ?? (request.method === "ACK" ? "INVITE" : request.method);
  if (via.isRfc3261Branch) {
    return `${via.branch ?? ""}|${via.sentBy.toLowerCase()}|${method}`;
  }
  const cseq = request.cseq;
  return [
    "2543",
    request.uri.toString(),
    request.from.tag ?? "",
    request.callId,
    String(cseq.seq),
    method,
    via.toString(),
  ].join("|");
}

/**
 * The server transaction id of the INVITE a CANCEL targets (RFC 3261 §9.2): "the CANCEL matches the transaction being
 * cancelled if ... the same branch, sent-by, and Request-URI" (RFC 3261 branch), otherwise the RFC 2543 fields. The
 * CANCEL itself is a separate transaction with its own id ({@link serverTransactionId}).
 */
export function cancelTargetId(cancel: SipRequest): string {
  return serverTransactionId(cancel, "INVITE");
}

/** True when `cancel` cancels `invite` (RFC 3261 §9.2, the Request-URI must also match). */
export function isCancelFor(cancel: SipRequest, invite: SipRequest): boolean {
  return (
    cancel.method === "CANCEL" &&
    invite.method === "INVITE" &&
    cancelTargetId(cancel) === serverTransactionId(invite) &&
    cancel.uri.toString() === invite.uri.toString()
  );
}

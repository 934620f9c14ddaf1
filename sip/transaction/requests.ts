/**
 * Requests the transaction layer builds itself: the ACK for a non-2xx final response (RFC 3261 §17.1.1.3) and CANCEL
 * (§9.1). The ACK for a 2xx is an end-to-end request built by the dialog layer (§13.2.2.4), not here.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.1.1.3
 */

import { CSeq } from "../message/CSeq.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";

/**
 * Builds the ACK for a 300–699 response to `invite` (§17.1.1.3): "The ACK request constructed by the client
 * transaction MUST contain values for the Call-ID, From, and Request-URI that are equal to the values of those header
 * fields in the request passed to the transport by the client transaction ... The To header field in the ACK MUST
 * equal the To header field in the response being acknowledged ... The ACK MUST contain a single Via header field,
 * and this MUST be equal to the top Via header field of the original request ... The CSeq header field in the ACK
 * MUST contain the same value for the sequence number as was present in the original request, but the method
 * parameter MUST be equal to 'ACK'." and "If the INVITE request whose response is being acknowledged had Route header
 * fields, those header fields MUST appear in the ACK."
 */
export function createNon2xxAck(invite: SipRequest, response: SipResponse): SipRequest {
  const ack = new SipRequest("ACK", invite.uri);
  ack.setHeader("Via", invite.topVia.toString());
  ack.setHeader("Max-Forwards", "70");
  if (invite.hasHeader("Route")) {
    ack.setHeader("Route", invite.getHeaders("Route"));
  }
  ack.setHeader("From", invite.getHeaders("From"));
  ack.setHeader("To", response.getHeaders("To"));
  ack.setHeader("Call-ID", invite.callId);
  ack.setHeader("CSeq", new CSeq(invite.cseq.seq, "ACK"));
  return ack;
}

/**
 * Builds a CANCEL for `invite` (§9.1): "The Request-URI, Call-ID, To, the numeric part of CSeq, and From header
 * fields in the CANCEL request MUST be identical to those in the request being cancelled, including tags. A CANCEL
 * constructed by a client MUST have only a single Via header field value matching the top Via value in the request
 * being cancelled." and "If the request being cancelled contains a Route header field, the CANCEL request MUST include
 * that Route header field's values."
 * @param reason optional Reason header value (RFC 3326), e.g. `Q.850;cause=16`.
 */
export function createCancel(invite: SipRequest, reason?: string): SipRequest {
  const cancel = new SipRequest("CANCEL", invite.uri);
  cancel.setHeader("Via", invite.topVia.toString());
  cancel.setHeader("Max-Forwards", "70");
  if (invite.hasHeader("Route")) {
    cancel.setHeader("Route", invite.getHeaders("Route"));
  }
  cancel.setHeader("From", invite.getHeaders("From"));
  cancel.setHeader("To", invite.getHeaders("To"));
  cancel.setHeader("Call-ID", invite.callId);
  cancel.setHeader("CSeq", new CSeq(invite.cseq.seq, "CANCEL"));
  if (reason !== undefined) {
    cancel.setHeader("Reason", reason);
  }
  return cancel;
}

/**
 * Building responses: reason phrases (RFC 3261 §21), UAS responses (§8.2.6) and stateless error answers to
 * unparsable requests (§8.2.6.1, architecture.md §5.7).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-8.2.6
 */

import { randomBytes } from "node:crypto";
import type { SipParseError } from "../errors.js";
import { SipResponse, type SipRequest } from "./SipMessage.js";
import { BRANCH_MAGIC_COOKIE } from "./Via.js";

/** Default reason phrases (RFC 3261 §21 plus the extensions a trunk meets). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: "Trying",
  180: "Ringing",
  181: "Call Is Being Forwarded",
  182: "Queued",
  183: "Session Progress",
  199: "Early Dialog Terminated",
  200: "OK",
  202: "Accepted",
  204: "No Notification",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Moved Temporarily",
  305: "Use Proxy",
  380: "Alternative Service",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  410: "Gone",
  413: "Request Entity Too Large",
  414: "Request-URI Too Long",
  415: "Unsupported Media Type",
  416: "Unsupported URI Scheme",
  420: "Bad Extension",
  421: "Extension Required",
  422: "Session Interval Too Small",
  423: "Interval Too Brief",
  480: "Temporarily Unavailable",
  481: "Call/Transaction Does Not Exist",
  482: "Loop Detected",
  483: "Too Many Hops",
  484: "Address Incomplete",
  485: "Ambiguous",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  489: "Bad Event",
  491: "Request Pending",
  493: "Undecipherable",
  500: "Server Internal Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  505: "Version Not Supported",
  513: "Message Too Large",
  580: "Precondition Failure",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
  606: "Not Acceptable",
};

/** The default reason phrase of a status code. */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? REASON_PHRASES[Math.floor(status / 100) * 100] ?? "Unknown";
}

/**
 * A new branch: the magic cookie plus 96 random bits (RFC 3261 §8.1.1.7: "The branch ID inserted by an element
 * compliant with this specification MUST always begin with the characters z9hG4bK").
 */
export function generateBranch(): string {
  return `${BRANCH_MAGIC_COOKIE}${randomBytes(12).toString("base64url")}`;
}

/** A new From/To tag with at least 32 bits of randomness (RFC 3261 §19.3). */
export function generateTag(): string {
  return randomBytes(8).toString("hex");
}

/**
 * Options of {@link createResponse}. The dialog layer decides the To tag (the same one for every response of a
 * dialog, RFC 3261 §12.1.1) and whether Record-Route is copied.
 */
export interface CreateResponseOptions {
  /** Reason phrase; defaults to {@link reasonPhrase}. */
  readonly reason?: string;
  /** To tag to add when the request's To has none (RFC 3261 §8.2.6.2); ignored for 100. */
  readonly toTag?: string;
  /** Copy Record-Route, as a UAS does in dialog-creating responses (RFC 3261 §12.1.1). */
  readonly copyRecordRoute?: boolean;
  /** Body and its Content-Type. */
  readonly body?: { readonly contentType: string; readonly content: Uint8Array | string };
}

/**
 * Builds a response to `request` (RFC 3261 §8.2.6.2): "the From field ... MUST equal the From header field of the
 * request. The Call-ID ... MUST equal ... The CSeq ... MUST equal ... The Via header field values in the response
 * MUST equal the Via header field values in the request and MUST maintain the same ordering", and the To gets a tag
 * unless it already has one or the response is a 100.
 */
export function createResponse(request: SipRequest, status: number, options: CreateResponseOptions = {}): SipResponse {
  const response = new SipResponse(status, options.reason ?? reasonPhrase(status));
  // getHeaders renders live values, so a received/rport stamped by the transport (§18.2.1) is copied too.
  response.setHeader("Via", request.getHeaders("Via"));
  response.setHeader("From", request.getHeaders("From"));
  const to = request.to.clone();
  if (status > 100 && to.tag === undefined && options.toTag !== undefined) {
    to.tag = options.toTag;
  }
  response.setHeader("To", to.toString());
  response.setHeader("Call-ID", request.getHeaders("Call-ID"));
  response.setHeader("CSeq", request.getHeaders("CSeq"));
  if (options.copyRecordRoute === true && request.hasHeader("Record-Route")) {
    response.setHeader("Record-Route", request.getHeaders("Record-Route"));
  }
  if (options.body) {
    response.setHeader("Content-Type", options.body.contentType);
    response.body =
      typeof options.body.content === "string" ? Buffer.from(options.body.content, "utf8") : options.body.content;
  }
  return response;
}

/**
 * The stateless answer to a request the parser rejected, or `undefined` when the error says to drop
 * (responses, unanswerable garbage). The reason phrase names the fault: `400 Bad Request (Missing Call-ID)`.
 * Headers are echoed as received (RFC 3261 §8.2.6.2), whatever could be salvaged.
 */
export function createStatelessErrorResponse(error: SipParseError): SipResponse | undefined {
  if (error.status === undefined) {
    return undefined;
  }
  const base = reasonPhrase(error.status);
  const reason = error.status === 400 ? `${base} (${error.reason})` : base;
  const response = new SipResponse(error.status, reason.replace(/[\r\n]/g, " "));
  for (const [name, value] of error.echo) {
    response.addHeader(name, value);
  }
  return response;
}

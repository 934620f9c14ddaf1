/**
 * Out-of-dialog requests a trunk peer originates itself: OPTIONS probes and REGISTER (RFC 3261 §8.1.1, §10.2, §11.1).
 *
 * The request is complete (Via with a fresh branch and `rport`, Max-Forwards 70, From tag, Call-ID, CSeq), so any
 * non-INVITE sender can put it on the wire; a transaction layer that builds its own Via may replace it.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-8.1.1
 */

import { randomBytes } from "node:crypto";
import { generateBranch, generateTag } from "../message/responses.js";
import { SipRequest } from "../message/SipMessage.js";
import { parseUri } from "../message/uri.js";
import type { TransportProtocol } from "../transport/SipTransport.js";

/** The local end a request is sent from (Via sent-by, Contact). */
export interface LocalEndpoint {
  /** Host or address advertised in Via and Contact (never 0.0.0.0). */
  readonly host: string;
  readonly port: number;
}

/** What {@link buildRequest} needs. */
export interface OutOfDialogRequestInit {
  readonly method: string;
  readonly requestUri: string;
  readonly from: string;
  readonly to: string;
  readonly transport: TransportProtocol;
  readonly local: LocalEndpoint;
  readonly callId?: string;
  readonly cseq?: number;
  readonly fromTag?: string;
  readonly contact?: string;
  readonly userAgent?: string;
  /** Extra header lines, in order. */
  readonly headers?: readonly (readonly [string, string])[];
}

/** A new Call-ID: 128 random bits at the local host (RFC 3261 §8.1.1.4). */
export function generateCallId(host: string): string {
  return `${randomBytes(16).toString("hex")}@${host.includes(":") ? `[${host}]` : host}`;
}

/**
 * Builds a complete out-of-dialog request.
 * @throws {SipParseError} when `requestUri` is not a URI.
 */
export function buildRequest(init: OutOfDialogRequestInit): SipRequest {
  const host = init.local.host.includes(":") ? `[${init.local.host}]` : init.local.host;
  const request = new SipRequest(init.method, parseUri(init.requestUri, "Request-URI"));
  request.addHeader("Via", `SIP/2.0/${init.transport} ${host}:${init.local.port};branch=${generateBranch()};rport`);
  request.addHeader("Max-Forwards", "70");
  request.addHeader("From", `<${init.from}>;tag=${init.fromTag ?? generateTag()}`);
  request.addHeader("To", `<${init.to}>`);
  request.addHeader("Call-ID", init.callId ?? generateCallId(init.local.host));
  request.addHeader("CSeq", `${init.cseq ?? 1} ${init.method}`);
  if (init.contact !== undefined) {
    request.addHeader("Contact", init.contact);
  }
  if (init.userAgent !== undefined) {
    request.addHeader("User-Agent", init.userAgent);
  }
  for (const [name, value] of init.headers ?? []) {
    request.addHeader(name, value);
  }
  return request;
}

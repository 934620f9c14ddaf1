/**
 * The transport seam of the SIP stack (RFC 3261 §18).
 *
 * Transactions and the UA core send through this small interface; UDP and TCP implementations live next to it (the
 * only files in `sip/` allowed to use `node:dgram`, `node:net` and `node:tls`, architecture.md §4). Tests use a fake.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-18
 */

import type { SipMessage, SipRequest, SipResponse } from "../message/SipMessage.js";
import type { Via } from "../message/Via.js";
import { hostToAddress } from "../message/uri.js";

/** Transport protocol names as they appear in Via (upper case). */
export type TransportProtocol = "UDP" | "TCP" | "TLS" | "SCTP" | "WS" | "WSS";

/** Where a message goes (or came from). `host` is an IP address or name without IPv6 brackets. */
export interface SipDestination {
  readonly host: string;
  readonly port: number;
  readonly transport: TransportProtocol;
  /**
   * Stream transports only: send on an existing connection or fail, never dial a new one (stateless answers to
   * unauthenticated requests, issue 9 §6: Korus must not open connections on a stranger's behalf).
   */
  readonly noDial?: boolean;
}

/** A sending transport. */
export interface SipTransport {
  /** The protocol this transport speaks. */
  readonly protocol: TransportProtocol;
  /**
   * True for TCP/TLS/SCTP: transactions then skip retransmissions (Timers A, E, G) and use zero for D, I, J, K
   * (RFC 3261 §17).
   */
  readonly reliable: boolean;
  /**
   * Sends one message. Rejects on a transport failure, which a transaction reports to its TU
   * (RFC 3261 §17.1.4, §17.2.4).
   */
  send(message: SipMessage, destination: SipDestination): Promise<void>;
}

/**
 * A message delivered by a transport, with its source address (needed for `received`/`rport`, RFC 3261 §18.2.1, and
 * for answering over the same connection on TCP, §18.2.2).
 */
export interface InboundMessage {
  readonly message: SipRequest | SipResponse;
  readonly source: SipDestination;
}

/** Default ports (RFC 3261 §19.1.2: 5060 for sip over UDP/TCP, 5061 for TLS). */
export function defaultPort(transport: string): number {
  return transport.toUpperCase() === "TLS" || transport.toUpperCase() === "WSS" ? 5061 : 5060;
}

/** True for transports that deliver reliably (RFC 3261 §17: everything but UDP here). */
export function isReliableTransport(transport: string): boolean {
  return transport.toUpperCase() !== "UDP";
}

/**
 * Server-side Via processing of a received request (RFC 3261 §18.2.1, RFC 3581 §4): "the server MUST add a received
 * parameter" when sent-by differs from the packet source, and when the client asked for `rport` the server fills in
 * the source port (and then always adds `received`).
 */
export function stampReceived(request: SipRequest, source: SipDestination): void {
  const via = request.topVia;
  const rportRequested = via.rport === null;
  if (rportRequested) {
    via.rport = source.port;
  }
  if (rportRequested || hostToAddress(via.host) !== source.host) {
    via.received = source.host;
  }
}

/**
 * Where to send a response (RFC 3261 §18.2.2 with RFC 3581 §4): over a reliable transport the connection it came on
 * (the caller handles that), otherwise to `maddr` if present, else to `received` (and `rport` when filled in), else to
 * the sent-by host and port.
 */
export function responseDestination(via: Via): SipDestination {
  const transport = (via.transport as TransportProtocol) || "UDP";
  const maddr = via.maddr;
  if (maddr !== undefined) {
    return { host: hostToAddress(maddr), port: via.port ?? defaultPort(transport), transport };
  }
  const rport = via.rport;
  const host = hostToAddress(via.received ?? via.host);
  const port = typeof rport === "number" ? rport : (via.port ?? defaultPort(transport));
  return { host, port, transport };
}

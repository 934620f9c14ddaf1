/**
 * Shared helpers of the SIP unit tests (not a test file itself): fixture loading, error capture and a recording
 * fake transport.
 */

import { readFileSync } from "node:fs";
import {
  parseMessage,
  SipParseError,
  SipRequest,
  SipResponse,
  type SipDestination,
  type SipMessage,
  type SipTransport,
  type TransportProtocol,
} from "../../../sip/index.js";

/** The RFC 4475 messages live outside the repository (architecture.md §3). */
export const TORTURE_DIR = new URL("../../fixtures/sip-torture/", import.meta.url);

/** A torture message as raw bytes, never converted. */
export function torture(name: string): Buffer {
  return readFileSync(new URL(name, TORTURE_DIR));
}

/**
 * Runs `fn`, expecting a {@link SipParseError}, and returns it so its fields can be asserted.
 * @throws the unexpected error, or an Error if nothing was thrown.
 */
export function parseFailure(fn: () => unknown): SipParseError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SipParseError) {
      return error;
    }
    throw error;
  }
  throw new Error("expected a SipParseError");
}

/** One message handed to the fake transport. */
export interface Sent {
  readonly message: SipMessage;
  readonly destination: SipDestination;
}

/** Records everything sent; can be told to fail. */
export class FakeTransport implements SipTransport {
  readonly protocol: TransportProtocol;
  readonly reliable: boolean;
  readonly sent: Sent[] = [];
  failNext = false;

  constructor(protocol: TransportProtocol = "UDP") {
    this.protocol = protocol;
    this.reliable = protocol !== "UDP";
  }

  send(message: SipMessage, destination: SipDestination): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("ECONNREFUSED"));
    }
    this.sent.push({ message, destination });
    return Promise.resolve();
  }

  /** Start lines of sent messages, e.g. `"INVITE"` or `"487"`. */
  get summary(): string[] {
    return this.sent.map(({ message }) =>
      message instanceof SipRequest ? message.method : String((message as SipResponse).status),
    );
  }
}

/** A realistic carrier INVITE (SBC → Korus) with SDP. */
export const SDP =
  "v=0\r\no=- 3724394400 3724394400 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n" +
  "m=audio 30000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n" +
  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

export const INVITE =
  `INVITE sip:+4930123456@korus.example.com;user=phone SIP/2.0\r\n` +
  `Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4;rport\r\n` +
  `Max-Forwards: 69\r\n` +
  `Record-Route: <sip:203.0.113.10;lr;ftag=as6f7e8d>\r\n` +
  `From: "+441632960001" <sip:+441632960001@sbc.carrier.example;user=phone>;tag=as6f7e8d\r\n` +
  `To: <sip:+4930123456@korus.example.com;user=phone>\r\n` +
  `Call-ID: 3c26700e6f4a5c2e@203.0.113.10\r\n` +
  `CSeq: 102 INVITE\r\n` +
  `Contact: <sip:+441632960001@203.0.113.10:5060;transport=udp>\r\n` +
  `P-Asserted-Identity: <tel:+441632960001>\r\n` +
  `Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, PRACK, UPDATE\r\n` +
  `Supported: 100rel, timer\r\n` +
  `Content-Type: application/sdp\r\n` +
  `Content-Length: ${Buffer.byteLength(SDP)}\r\n` +
  `\r\n${SDP}`;

/** Parses a text message that must be a request. */
export function request(text: string): SipRequest {
  const m = parseMessage(text);
  if (!(m instanceof SipRequest)) {
    throw new Error("not a request");
  }
  return m;
}

/** Parses a text message that must be a response. */
export function response(text: string): SipResponse {
  const m = parseMessage(text);
  if (!(m instanceof SipResponse)) {
    throw new Error("not a response");
  }
  return m;
}

/**
 * Fixtures for the transaction tests (not a test file): requests, responses and a harness binding a transaction to a
 * fake transport and a fake clock.
 */

import { createResponse, parseMessage, SipRequest, type SipResponse } from "../../../sip/index.js";
import { FakeClock } from "../../helpers/FakeClock.js";
import { FakeTransport, INVITE } from "./helpers.js";

export const DEST = { host: "203.0.113.10", port: 5060, transport: "UDP" } as const;

/** A fresh INVITE (its own objects, so tests never share state). */
export function invite(): SipRequest {
  return parseMessage(INVITE) as SipRequest;
}

/** A BYE inside the dialog of {@link invite}. */
export function bye(): SipRequest {
  return parseMessage(
    "BYE sip:+441632960001@203.0.113.10:5060 SIP/2.0\r\n" +
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbye1\r\nMax-Forwards: 70\r\n" +
      "From: <sip:+4930123456@korus.example.com>;tag=k1\r\nTo: <sip:+441632960001@sbc.carrier.example>;tag=as6f7e8d\r\n" +
      "Call-ID: 3c26700e6f4a5c2e@203.0.113.10\r\nCSeq: 1 BYE\r\nReason: Q.850;cause=16\r\nContent-Length: 0\r\n\r\n",
  ) as SipRequest;
}

/** A response to `req` as the peer would send it (a To tag unless 100). */
export function reply(req: SipRequest, status: number): SipResponse {
  return parseMessage(createResponse(req, status, { toTag: "peer-tag" }).toBuffer()) as SipResponse;
}

/** Clock + transport + recorded TU callbacks. */
export function harness(reliable = false): {
  clock: FakeClock;
  transport: FakeTransport;
  events: string[];
  options: { transport: FakeTransport; destination: typeof DEST; clock: FakeClock };
} {
  const clock = new FakeClock();
  const transport = new FakeTransport(reliable ? "TCP" : "UDP");
  return { clock, transport, events: [], options: { transport, destination: DEST, clock } };
}

/** Lets rejected transport promises settle. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

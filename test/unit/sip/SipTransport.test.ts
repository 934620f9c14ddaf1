/**
 * Transport helpers (sip/transport/SipTransport.ts): RFC 3261 §18.2.1/§18.2.2 with RFC 3581 rport.
 */

import t from "tap";
import {
  defaultPort,
  isReliableTransport,
  parseMessage,
  responseDestination,
  stampReceived,
  type SipRequest,
} from "../../../sip/index.js";
import { parseViaList, type Via } from "../../../sip/message/Via.js";
import { INVITE } from "./helpers.js";

function via(text: string): Via {
  const out: Via[] = [];
  parseViaList(text, out);
  return out[0]!;
}

t.test("the server MUST add received when sent-by differs from the source, and fills in rport", async (t) => {
  const req = parseMessage(INVITE) as SipRequest;
  stampReceived(req, { host: "198.51.100.7", port: 40123, transport: "UDP" });
  t.equal(req.topVia.received, "198.51.100.7");
  t.equal(req.topVia.rport, 40123);
  const same = parseMessage(INVITE.replace(";rport", "")) as SipRequest;
  stampReceived(same, { host: "203.0.113.10", port: 5060, transport: "UDP" });
  t.equal(same.topVia.received, undefined, "no received when sent-by is the source address");
});

t.test("responses go to maddr, else received/rport, else sent-by", async (t) => {
  t.same(responseDestination(via("SIP/2.0/UDP h.example:5070;branch=z9hG4bK1;maddr=224.0.1.75")), {
    host: "224.0.1.75",
    port: 5070,
    transport: "UDP",
  });
  t.same(responseDestination(via("SIP/2.0/UDP h.example;branch=z9hG4bK1;received=192.0.2.4;rport=4000")), {
    host: "192.0.2.4",
    port: 4000,
    transport: "UDP",
  });
  t.same(responseDestination(via("SIP/2.0/TLS [2001:db8::5];branch=z9hG4bK1")), {
    host: "2001:db8::5",
    port: 5061,
    transport: "TLS",
  });
  t.equal(defaultPort("udp"), 5060);
  t.equal(isReliableTransport("UDP"), false);
  t.equal(isReliableTransport("tcp"), true);
});

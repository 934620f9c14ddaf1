/**
 * Transaction-layer requests (sip/transaction/requests.ts): ACK for non-2xx (§17.1.1.3) and CANCEL (§9.1).
 */

import t from "tap";
import { createCancel, createNon2xxAck, createResponse, parseMessage, type SipRequest } from "../../../sip/index.js";
import { INVITE } from "./helpers.js";

function routedInvite(): SipRequest {
  return parseMessage(
    INVITE.replace(
      "Max-Forwards: 69\r\n",
      "Max-Forwards: 69\r\nRoute: <sip:edge1.example;lr>, <sip:edge2.example;lr>\r\n",
    ).replace("Max-Forwards", "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bKsecond\r\nMax-Forwards"),
  ) as SipRequest;
}

t.test("the ACK MUST contain a single Via equal to the top Via of the original request", async (t) => {
  const req = routedInvite();
  const ack = createNon2xxAck(req, createResponse(req, 404, { toTag: "t404" }));
  t.equal(ack.method, "ACK");
  t.equal(ack.uri.toString(), req.uri.toString(), "same Request-URI");
  t.same(ack.getHeaders("Via"), [req.topVia.toString()]);
  t.equal(ack.callId, req.callId);
  t.equal(ack.from.toString(), req.from.toString());
  t.equal(ack.to.tag, "t404", "To equals the To of the response");
  t.equal(ack.cseq.toString(), "102 ACK", "same number, method ACK");
  t.same(
    ack.routes.map(String),
    ["<sip:edge1.example;lr>", "<sip:edge2.example;lr>"],
    "Route header fields MUST appear in the ACK",
  );
  t.equal(ack.maxForwards, 70);
  t.equal(ack.body.length, 0);
});

t.test("a CANCEL copies Request-URI, Call-ID, To, From and the CSeq number, with a single Via", async (t) => {
  const req = routedInvite();
  const cancel = createCancel(req, 'Q.850;cause=16;text="Normal call clearing"');
  t.equal(cancel.method, "CANCEL");
  t.equal(cancel.uri.toString(), req.uri.toString());
  t.same(cancel.getHeaders("Via"), [req.topVia.toString()]);
  t.equal(cancel.getHeader("To"), req.getHeader("To"));
  t.equal(cancel.getHeader("From"), req.getHeader("From"));
  t.equal(cancel.cseq.toString(), "102 CANCEL");
  t.equal(cancel.routes.length, 2);
  t.equal(cancel.getHeader("Reason"), 'Q.850;cause=16;text="Normal call clearing"', "RFC 3326 Reason");
  t.equal(createCancel(parseMessage(INVITE) as SipRequest).hasHeader("Route"), false);
});

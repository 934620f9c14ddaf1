/**
 * Response construction (sip/message/responses.ts), RFC 3261 §8.2.6.
 */

import t from "tap";
import {
  createResponse,
  createStatelessErrorResponse,
  generateBranch,
  generateTag,
  reasonPhrase,
  SipParseError,
} from "../../../sip/index.js";
import { INVITE, request } from "./helpers.js";

t.test("the Via header field values in the response MUST equal those of the request, in order", async (t) => {
  const req = request(INVITE.replace("Max-Forwards", "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK2\r\nMax-Forwards"));
  req.topVia.received = "203.0.113.10";
  const res = createResponse(req, 180, { toTag: "abc", copyRecordRoute: true });
  t.equal(res.startLine, "SIP/2.0 180 Ringing");
  t.same(res.getHeaders("Via"), [
    "SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4;rport;received=203.0.113.10",
    "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK2",
  ]);
  t.equal(res.to.tag, "abc", "a To tag is added");
  t.equal(res.from.tag, "as6f7e8d");
  t.equal(res.callId, req.callId);
  t.equal(res.cseq.toString(), "102 INVITE");
  t.equal(res.recordRoutes.length, 1);
});

t.test("100 Trying gets no To tag; a body sets Content-Type", async (t) => {
  const req = request(INVITE);
  t.equal(createResponse(req, 100, { toTag: "x" }).to.tag, undefined);
  const ok = createResponse(req, 200, { toTag: "x", body: { contentType: "application/sdp", content: "v=0\r\n" } });
  t.equal(ok.contentType?.essence, "application/sdp");
  t.equal(ok.bodyText, "v=0\r\n");
  t.equal(createResponse(req, 486, { reason: "Busy" }).reason, "Busy");
});

t.test("reason phrases, branches and tags", async (t) => {
  t.equal(reasonPhrase(487), "Request Terminated");
  t.equal(reasonPhrase(499), "Bad Request", "class default");
  t.equal(reasonPhrase(799), "Unknown");
  t.match(generateBranch(), /^z9hG4bK[A-Za-z0-9_-]{16}$/, "MUST always begin with z9hG4bK");
  t.not(generateBranch(), generateBranch());
  t.match(generateTag(), /^[0-9a-f]{16}$/);
});

t.test("stateless answers: the reason phrase names the fault, echo headers are copied", async (t) => {
  const answer = createStatelessErrorResponse(
    new SipParseError("Missing Call-ID", {
      status: 400,
      echo: [
        ["Via", "SIP/2.0/UDP h;branch=z9hG4bK1"],
        ["CSeq", "1 INVITE"],
      ],
    }),
  );
  t.equal(
    answer?.toString(),
    "SIP/2.0 400 Bad Request (Missing Call-ID)\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
  );
  t.equal(createStatelessErrorResponse(new SipParseError("x")), undefined, "no status: drop");
  t.equal(createStatelessErrorResponse(new SipParseError("x", { status: 501 }))?.reason, "Not Implemented");
});

/**
 * Transaction and CANCEL matching (sip/transaction/matching.ts), RFC 3261 §17.1.3, §17.2.3, §9.2.
 */

import t from "tap";
import {
  cancelTargetId,
  clientTransactionId,
  createCancel,
  createNon2xxAck,
  createResponse,
  isCancelFor,
  parseMessage,
  responseTransactionId,
  serverTransactionId,
  type SipRequest,
} from "../../../sip/index.js";
import { INVITE } from "./helpers.js";
import { invite, reply } from "./txhelpers.js";

t.test("a response matches the client transaction by top-Via branch and CSeq method", async (t) => {
  const req = invite();
  t.equal(responseTransactionId(reply(req, 180)), clientTransactionId(req));
  const cancel = createCancel(req);
  t.not(clientTransactionId(cancel), clientTransactionId(req), "a CANCEL constitutes a different transaction");
  t.equal(responseTransactionId(reply(cancel, 200)), clientTransactionId(cancel));
});

t.test("server side: branch + sent-by + method, the ACK matching its INVITE", async (t) => {
  const req = invite();
  const ack = createNon2xxAck(req, createResponse(req, 486, { toTag: "k" }));
  t.equal(serverTransactionId(ack), serverTransactionId(req), "ACK matches the INVITE transaction");
  const other = parseMessage(INVITE.replace("203.0.113.10:5060;branch", "203.0.113.11:5060;branch")) as SipRequest;
  t.not(serverTransactionId(other), serverTransactionId(req), "a different sent-by is a different transaction");
  const upper = parseMessage(INVITE.replace("203.0.113.10:5060;branch", "SBC.EXAMPLE:5060;branch")) as SipRequest;
  const lower = parseMessage(INVITE.replace("203.0.113.10:5060;branch", "sbc.example:5060;branch")) as SipRequest;
  t.equal(serverTransactionId(upper), serverTransactionId(lower), "host comparison ignores case");
});

t.test("the CANCEL matches the INVITE it cancels (§9.2) but is its own transaction", async (t) => {
  const req = invite();
  const cancel = createCancel(req);
  t.equal(cancelTargetId(cancel), serverTransactionId(req));
  t.not(serverTransactionId(cancel), serverTransactionId(req));
  t.equal(isCancelFor(cancel, req), true);
  const elsewhere = createCancel(req);
  elsewhere.topVia.branch = "z9hG4bKother";
  t.equal(isCancelFor(elsewhere, req), false, "a different branch does not match");
  t.equal(isCancelFor(req, req), false, "only a CANCEL cancels");
});

t.test("RFC 2543 peers without a branch fall back to Request-URI, tags, Call-ID, CSeq and top Via", async (t) => {
  const old = INVITE.replace(";branch=z9hG4bK-524287-1---a1b2c3d4;rport", "");
  const a = parseMessage(old) as SipRequest;
  const b = parseMessage(old) as SipRequest;
  t.match(serverTransactionId(a), /^2543\|/);
  t.equal(serverTransactionId(a), serverTransactionId(b), "a retransmission matches");
  const cancel = createCancel(a);
  t.equal(isCancelFor(cancel, a), true);
  const next = parseMessage(old.replace("CSeq: 102 INVITE", "CSeq: 103 INVITE")) as SipRequest;
  t.not(serverTransactionId(next), serverTransactionId(a));
});

/**
 * CSeq (sip/message/CSeq.ts), RFC 3261 §8.1.1.5, §20.16.
 */

import t from "tap";
import { CSeq, parseCSeq, SipParseError } from "../../../sip/index.js";

t.test("the sequence number MUST be expressible as a 32-bit unsigned integer", async (t) => {
  t.same(parseCSeq("4294967295 INVITE"), new CSeq(4294967295, "INVITE"));
  t.throws(() => parseCSeq("4294967296 INVITE"), SipParseError);
  t.equal(parseCSeq("0009  \t ACK").toString(), "9 ACK", "leading zeros and LWS");
});

t.test("malformed CSeq values throw SipParseError", async (t) => {
  for (const bad of ["", "INVITE", "1", "1INVITE", "-1 INVITE", "1 IN VITE", "1 "]) {
    t.throws(() => parseCSeq(bad), SipParseError, bad);
  }
});

t.test("clone is independent", async (t) => {
  const a = new CSeq(1, "BYE");
  const b = a.clone();
  b.seq = 2;
  t.equal(a.seq, 1);
});

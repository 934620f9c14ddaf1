/**
 * Named errors (sip/errors.ts), architecture.md §5.6.
 */

import t from "tap";
import { SipParseError, SipResponseError, TransactionStateError } from "../../../sip/index.js";

t.test("SipParseError carries reason, status, echo, fatal and offset", async (t) => {
  const e = new SipParseError("Missing Call-ID", { status: 400, echo: [["Via", "v"]], offset: 7 });
  t.type(e, Error);
  t.type(e, SipParseError);
  t.equal(e.name, "SipParseError");
  t.equal(e.message, "SIP parse error: Missing Call-ID");
  t.equal(e.reason, "Missing Call-ID");
  t.equal(e.status, 400);
  t.equal(e.fatal, false);
  t.equal(e.offset, 7);
  const f = e.withInit({ fatal: true });
  t.equal(f.fatal, true);
  t.equal(f.status, 400, "withInit keeps what it does not override");
  t.same(f.echo, [["Via", "v"]]);
  t.equal(new SipParseError("x").status, undefined);
});

t.test("TransactionStateError names the machine and both states", async (t) => {
  const e = new TransactionStateError("INVITE client transaction", "Completed", "Proceeding");
  t.type(e, TransactionStateError);
  t.equal(e.message, "INVITE client transaction: invalid state transition from Completed to Proceeding");
  t.equal(e.from, "Completed");
  t.equal(e.to, "Proceeding");
});

t.test("SipResponseError(status, reason)", async (t) => {
  const e = new SipResponseError(408, "Request Timeout");
  t.type(e, SipResponseError);
  t.equal(e.status, 408);
  t.equal(e.reason, "Request Timeout");
  t.equal(e.message, "SIP 408 Request Timeout");
});

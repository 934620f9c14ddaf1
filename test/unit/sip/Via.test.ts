/**
 * Via (sip/message/Via.ts), RFC 3261 §20.42, §18.2.1 and RFC 3581.
 */

import t from "tap";
import { Parameters, SipParseError, Via } from "../../../sip/index.js";
import { parseViaList } from "../../../sip/message/Via.js";

function one(text: string): Via {
  const out: Via[] = [];
  parseViaList(text, out);
  t.equal(out.length, 1);
  return out[0]!;
}

t.test("branch, received, rport and maddr accessors", async (t) => {
  const via = one("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport;maddr=224.2.0.1;ttl=16");
  t.equal(via.protocol, "SIP/2.0");
  t.equal(via.sentBy, "192.0.2.1:5060");
  t.equal(via.branch, "z9hG4bK776asdhds");
  t.equal(via.isRfc3261Branch, true);
  t.equal(via.rport, null);
  t.equal(via.maddr, "224.2.0.1");
  via.received = "198.51.100.7";
  via.rport = 40000;
  t.equal(
    via.toString(),
    "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport=40000;maddr=224.2.0.1;ttl=16;received=198.51.100.7",
  );
  via.rport = undefined;
  via.received = undefined;
  via.branch = undefined;
  t.equal(via.toString(), "SIP/2.0/UDP 192.0.2.1:5060;maddr=224.2.0.1;ttl=16");
});

t.test("construction and IPv6 sent-by", async (t) => {
  const via = new Via({ transport: "tcp", host: "[2001:db8::1]", port: 5060, branch: "z9hG4bKx" });
  t.equal(via.toString(), "SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKx");
  t.equal(one(via.toString()).host, "[2001:db8::1]");
  const clone = via.clone();
  clone.params.set("branch", "other");
  t.equal(via.branch, "z9hG4bKx");
  t.equal(
    new Via({ transport: "UDP", host: "h", params: new Parameters([["alias", null]]) }).toString(),
    "SIP/2.0/UDP h;alias",
  );
});

t.test("a branch that is only the magic cookie is not an RFC 3261 branch (RFC 4475 §3.2.1)", async (t) => {
  t.equal(one("SIP/2.0/UDP h;branch=z9hG4bK").isRfc3261Branch, false);
  t.equal(one("SIP/2.0/UDP h;branch=1234").isRfc3261Branch, false);
});

t.test("malformed Via values throw SipParseError", async (t) => {
  for (const bad of [
    "SIP/2.0/UDP",
    "SIP/2.0 UDP h",
    "SIP//UDP h",
    "SIP/2.0/UDP h;;",
    "SIP/2.0/UDP h,",
    "SIP/2.0/UDP h:99999",
    "SIP/2.0/UDP [::1",
    "SIP/2.0/UDP h;branch=",
    "/2.0/UDP h",
  ]) {
    t.throws(() => parseViaList(bad, []), SipParseError, bad);
  }
});

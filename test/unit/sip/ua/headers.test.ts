/**
 * UA-core header helpers: Reason/Q.850 (RFC 3326), Session-Expires/Min-SE (RFC 4028), RAck/RSeq (RFC 3262),
 * P-Charging-Vector (RFC 7315), identity capture (PAI, Privacy, Diversion, History-Info), hold detection.
 */

import t from "tap";
import {
  captureIdentity,
  formatQ850Reason,
  isHoldOffer,
  parseChargingVector,
  parseMessage,
  parseReasons,
  parseSessionExpires,
  q850Cause,
  statusToQ850,
  type SipRequest,
} from "../../../../sip/index.js";
import { INVITE, SDP } from "../helpers.js";

function withHeaders(lines: string): SipRequest {
  return parseMessage(INVITE.replace("Max-Forwards: 69\r\n", `Max-Forwards: 69\r\n${lines}`)) as SipRequest;
}

t.test("Reason: Q.850 and SIP causes, quoted text with commas, malformed causes ignored", async (t) => {
  const m = withHeaders(
    'Reason: SIP;cause=200;text="Call completed elsewhere", Q.850;cause=16;text="Normal, clearing"\r\n',
  );
  t.same(parseReasons(m), [
    { protocol: "SIP", cause: 200, text: "Call completed elsewhere" },
    { protocol: "Q.850", cause: 16, text: "Normal, clearing" },
  ]);
  t.equal(q850Cause(m), 16);
  t.equal(q850Cause(withHeaders("Reason: Q.850;cause=abc\r\n")), undefined);
  t.equal(q850Cause(withHeaders("")), undefined);
  t.equal(formatQ850Reason(17, 'User "busy"'), 'Q.850;cause=17;text="User busy"');
  t.equal(statusToQ850(486), 17);
  t.equal(statusToQ850(404), 1);
  t.equal(statusToQ850(503), 41, "RFC 3398 §8.2.6.1: 503 → 41 temporary failure");
  t.equal(statusToQ850(599), 38, "unknown 5xx → 38");
});

t.test("Session-Expires with refresher, compact form, garbage", async (t) => {
  t.same(parseSessionExpires(withHeaders("Session-Expires: 1800;refresher=uas\r\n")), {
    interval: 1800,
    refresher: "uas",
  });
  t.same(parseSessionExpires(withHeaders("x: 90\r\n")), { interval: 90, refresher: undefined });
  t.equal(parseSessionExpires(withHeaders("Session-Expires: soon\r\n")), undefined);
});

t.test("identity capture: PAI (sip and tel), Privacy, Diversion, History-Info, P-Charging-Vector", async (t) => {
  const m = withHeaders(
    "P-Asserted-Identity: <sip:+441632960001@carrier.example;user=phone>\r\n" +
      "Privacy: id; header\r\n" +
      "Diversion: <sip:+4930999@korus.example>;reason=unconditional;counter=1\r\n" +
      "History-Info: <sip:+4930999@korus.example>;index=1, <sip:+4930123456@korus.example?Reason=SIP%3Bcause%3D302>;index=1.1\r\n" +
      "P-Charging-Vector: icid-value=1234bc9876e;icid-generated-at=192.0.6.8;orig-ioi=home1.net\r\n",
  );
  const id = captureIdentity(m, { host: "203.0.113.10", port: 5060, transport: "UDP" });
  t.same(
    id.assertedIdentity.map((n) => n.uri.toString()),
    ["sip:+441632960001@carrier.example;user=phone", "tel:+441632960001"],
  );
  t.same(id.privacy, ["id", "header"]);
  t.equal(id.diversion.length, 1);
  t.match(id.historyInfo[0], /index=1/);
  t.equal(id.chargingVector?.icid, "1234bc9876e");
  t.equal(id.chargingVector?.origIoi, "home1.net");
  t.equal(id.callId, "3c26700e6f4a5c2e@203.0.113.10");
  t.equal(id.source.host, "203.0.113.10");
  t.equal(parseChargingVector("orig-ioi=x").icid, undefined, "icid-value missing");
});

t.test(
  "hold detection: sendonly, inactive, c=0.0.0.0; recvonly and sendrecv are not hold; ICE 0.0.0.0 is not",
  async (t) => {
    t.equal(isHoldOffer(SDP.replace("a=sendrecv", "a=sendonly")), true);
    t.equal(isHoldOffer(SDP.replace("a=sendrecv", "a=inactive")), true);
    t.equal(isHoldOffer(SDP.replace("c=IN IP4 203.0.113.10", "c=IN IP4 0.0.0.0")), true);
    t.equal(isHoldOffer(SDP), false);
    t.equal(isHoldOffer(SDP.replace("a=sendrecv", "a=recvonly")), false);
    t.equal(isHoldOffer("garbage"), false);
  },
);

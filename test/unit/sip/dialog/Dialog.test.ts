/**
 * Dialogs (RFC 3261 §12): UAS and UAC creation, route sets, remote target refresh, CSeq rules, loose and strict
 * routing of in-dialog requests, forked early dialogs.
 */

import t from "tap";
import {
  createResponse,
  Dialog,
  dialogKey,
  DialogState,
  parseMessage,
  requestDialogKey,
  TransactionStateError,
  uriDestination,
  parseUri,
  type SipRequest,
  type SipResponse,
} from "../../../../sip/index.js";
import { INVITE } from "../helpers.js";

function invite(): SipRequest {
  const m = parseMessage(INVITE) as SipRequest;
  m.addHeader("Record-Route", "<sip:198.51.100.7;lr>");
  m.setHeader("P-Charging-Vector", "icid-value=abc123;orig-ioi=carrier.example");
  return m;
}

function copy<T extends SipRequest | SipResponse>(m: T): T {
  return parseMessage(m.toBuffer()) as T;
}

t.test("UAS dialog: route set in order, remote target from Contact, remote CSeq, P-Charging-Vector kept", async (t) => {
  const inv = invite();
  const d = Dialog.uas(inv, "localtag");
  t.equal(d.state, DialogState.Early);
  t.equal(d.role, "uas");
  t.equal(d.key, dialogKey(inv.callId, "localtag", "as6f7e8d"));
  t.same(d.routeSet, ["<sip:203.0.113.10;lr;ftag=as6f7e8d>", "<sip:198.51.100.7;lr>"]);
  t.equal(d.remoteTarget.toString(), "sip:+441632960001@203.0.113.10:5060;transport=udp");
  t.equal(d.remoteSeq, 102);
  t.equal(d.pChargingVector, "icid-value=abc123;orig-ioi=carrier.example");
  const bye = d.createRequest("BYE");
  t.equal(bye.uri.toString(), d.remoteTarget.toString(), "loose routing: R-URI is the remote target");
  t.same(bye.getHeaderValues("Route"), d.routeSet);
  t.equal(bye.from.tag, "localtag");
  t.equal(bye.to.tag, "as6f7e8d");
  t.equal(bye.cseq.seq, 1);
  t.equal(bye.cseq.method, "BYE");
  t.same(d.nextHop(bye), { host: "203.0.113.10", port: 5060, transport: "UDP" }, "first Route is the next hop");
  t.equal(requestDialogKey(bye), dialogKey(inv.callId, "as6f7e8d", "localtag"));
});

t.test("UAC dialog: reversed route set, remote target from the response, CSeq continues from the INVITE", async (t) => {
  const inv = invite();
  const r = createResponse(inv, 180, { toTag: "fork1", copyRecordRoute: true });
  r.setHeader("Contact", "<sip:callee@192.0.2.50:5062>");
  const d = Dialog.uac(inv, copy(r), DialogState.Early);
  t.same(d.routeSet, ["<sip:198.51.100.7;lr>", "<sip:203.0.113.10;lr;ftag=as6f7e8d>"]);
  t.equal(d.remoteTag, "fork1");
  t.equal(d.localSeq, 102);
  t.equal(d.createRequest("PRACK").cseq.seq, 103);
  const ack = d.createRequest("ACK", 102);
  t.equal(ack.cseq.seq, 102, "ACK reuses the INVITE's number");
  t.equal(d.localSeq, 103, "ACK does not consume a number");
  // A second fork is a different dialog.
  const r2 = createResponse(inv, 183, { toTag: "fork2" });
  r2.setHeader("Contact", "<sip:other@192.0.2.51>");
  const d2 = Dialog.uac(inv, copy(r2), DialogState.Early);
  t.not(d2.key, d.key, "one early dialog per To tag");
  // The 2xx confirms fork1 and recomputes its route set.
  const ok = createResponse(inv, 200, { toTag: "fork1" });
  ok.setHeader("Contact", "<sip:callee@192.0.2.50:5064>");
  ok.setHeader("Record-Route", "<sip:198.51.100.9;lr>");
  d.receiveResponse(copy(ok), true);
  d.transition(DialogState.Confirmed);
  t.same(d.routeSet, ["<sip:198.51.100.9;lr>"]);
  t.equal(d.remoteTarget.toString(), "sip:callee@192.0.2.50:5064");
  t.throws(() => d.transition(DialogState.Early), TransactionStateError);
  t.throws(() => Dialog.uac(inv, copy(createResponse(inv, 100)), DialogState.Early), TypeError, "no To tag, no dialog");
});

t.test("strict routing: first route into the R-URI, remote target appended as the last Route", async (t) => {
  const inv = parseMessage(INVITE) as SipRequest;
  inv.setHeader("Record-Route", ["<sip:strict.example.com;maddr=198.51.100.1>", "<sip:p2.example.com;lr>"]);
  const d = Dialog.uas(inv, "lt");
  const bye = d.createRequest("BYE");
  t.equal(bye.uri.toString(), "sip:strict.example.com", "maddr stripped");
  t.same(bye.getHeaderValues("Route"), [
    "<sip:p2.example.com;lr>",
    "<sip:+441632960001@203.0.113.10:5060;transport=udp>",
  ]);
});

t.test("CSeq rules and target refresh on received requests (§12.2.2)", async (t) => {
  const inv = invite();
  const d = Dialog.uas(inv, "lt");
  const reinvite = copy(inv);
  reinvite.to.tag = "lt";
  reinvite.setHeader("CSeq", "103 INVITE");
  reinvite.setHeader("Contact", "<sip:moved@203.0.113.11:5070>");
  t.equal(d.receiveRequest(reinvite), "accept");
  t.equal(d.remoteTarget.toString(), "sip:moved@203.0.113.11:5070", "re-INVITE refreshed the target");
  const old = copy(inv);
  old.setHeader("CSeq", "103 BYE");
  t.equal(d.receiveRequest(old), "out-of-order", "same or lower number is out of order (500)");
  const ack = parseMessage(
    inv
      .toBuffer()
      .toString()
      .replace(/^INVITE/, "ACK")
      .replace("102 INVITE", "102 ACK"),
  );
  t.equal(d.receiveRequest(ack as SipRequest), "accept", "ACK is not sequence-checked");
  const info = parseMessage(
    inv
      .toBuffer()
      .toString()
      .replace(/^INVITE/, "INFO")
      .replace("102 INVITE", "200 INFO"),
  ) as SipRequest;
  info.setHeader("Contact", "<sip:ignored@1.2.3.4>");
  t.equal(d.receiveRequest(info), "accept");
  t.equal(d.remoteSeq, 200);
  t.equal(d.remoteTarget.toString(), "sip:moved@203.0.113.11:5070", "INFO is not a target refresh");
  d.transition(DialogState.Terminated);
  t.throws(() => d.transition(DialogState.Terminated), TransactionStateError);
});

t.test("uriDestination: transport param, sips → TLS, maddr, default ports, tel: has none", async (t) => {
  t.same(uriDestination(parseUri("sip:a@192.0.2.1")), { host: "192.0.2.1", port: 5060, transport: "UDP" });
  t.same(uriDestination(parseUri("sip:a@192.0.2.1:5080;transport=tcp")), {
    host: "192.0.2.1",
    port: 5080,
    transport: "TCP",
  });
  t.same(uriDestination(parseUri("sips:a@[2001:db8::1]")), { host: "2001:db8::1", port: 5061, transport: "TLS" });
  t.same(uriDestination(parseUri("sip:a@x.example;maddr=192.0.2.9")), {
    host: "192.0.2.9",
    port: 5060,
    transport: "UDP",
  });
  t.equal(uriDestination(parseUri("tel:+4930123")), undefined);
});

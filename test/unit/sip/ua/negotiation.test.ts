/**
 * Offer/answer inside calls between two in-process user agents on the stepping fake clock: re-INVITE hold and
 * resume (a=sendonly and c=0.0.0.0), glare 491 with the RFC 3261 §14.1 back-off, offerless INVITE, UPDATE,
 * 488 to a re-offer, 100rel/PRACK in both roles, session timers (refresh, expiry BYE, 422 Min-SE retry).
 */

import t from "tap";
import { OfferAnswerState, SessionState, type InviteSession, type TerminationInfo } from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const TARGET = "sip:+4930123456@192.0.2.2:5060";
const FROM = "sip:+441632960001@192.0.2.1";

/** A confirmed call A → B. */
async function connected(
  options: Parameters<typeof pair>[0] = {},
): Promise<ReturnType<typeof pair> & { out: InviteSession; inc: InviteSession; media: TestMedia }> {
  const p = pair(options);
  let inc: InviteSession | undefined;
  p.b.on("incomingCall", (session) => {
    inc = session;
    void session.answer();
  });
  const media = new TestMedia("192.0.2.1", 40000);
  const out = p.a.call(TARGET, { from: FROM, media });
  await p.clock.run(20);
  if (inc === undefined || out.state !== SessionState.Confirmed) {
    throw new Error("call not connected");
  }
  return { ...p, out, inc, media };
}

t.test("re-INVITE hold and resume: sendonly offer → recvonly answer, remoteHold events both ways", async (t) => {
  const { clock, net, out, inc, media, mediaB } = await connected();
  const held: boolean[] = [];
  inc.on("remoteHold", (h) => held.push(h));
  await out.hold();
  await clock.run(20);
  t.equal(out.localHold, true);
  t.equal(inc.remoteHold, true);
  t.match(media.remote, /a=recvonly/, "B answered recvonly");
  await out.unhold();
  await clock.run(20);
  t.same(held, [true, false]);
  t.match(media.remote, /a=sendrecv/);
  t.same(net.what().slice(3), ["INVITE", "200 INVITE", "ACK", "INVITE", "200 INVITE", "ACK"]);
  t.same(mediaB[0]?.calls, ["processOffer", "processOffer", "processOffer"]);
  t.equal(out.offerAnswer, OfferAnswerState.Stable);
  t.equal(inc.offerAnswer, OfferAnswerState.Stable);
});

t.test("old-style hold (c=0.0.0.0) is detected as hold", async (t) => {
  const { clock, out, inc, media } = await connected();
  media.getOffer = (): string => media.sdp("sendrecv").replace(/c=IN IP4 [\d.]+/, "c=IN IP4 0.0.0.0");
  await out.reinvite();
  await clock.run(20);
  t.equal(inc.remoteHold, true);
});

t.test("glare: both re-INVITE at once, both get 491, the callee (not Call-ID owner) retries first", async (t) => {
  const { clock, net, out, inc } = await connected();
  const done: string[] = [];
  out.on("renegotiated", (d) => done.push(`a ${d}`));
  inc.on("renegotiated", (d) => done.push(`b ${d}`));
  await Promise.all([out.hold(), inc.reinvite()]);
  await clock.run(5);
  t.same(
    net.what((w) => w.what.startsWith("491")),
    ["491 INVITE", "491 INVITE"],
  );
  // random() = 0.5: B (not the Call-ID owner) waits 0–2 s → 1000 ms; A waits 2.1–4 s → 3050 ms.
  await clock.run(1100);
  t.same(done, ["a remote", "b local"], "B's retry went first and succeeded");
  await clock.run(2100);
  t.same(done, ["a remote", "b local", "b remote", "a local"]);
  t.equal(out.localHold, true);
  t.equal(inc.remoteHold, true);
  const retries = net.log.filter((w) => w.what === "INVITE").map((w) => w.at);
  t.equal(retries.length, 5, "initial INVITE, two crossing re-INVITEs, two retries");
});

t.test("offerless INVITE: offer in the 200, answer in the ACK", async (t) => {
  const { clock, net, a, b, mediaB } = pair();
  b.on("incomingCall", (session, call) => {
    t.equal(call.offer, undefined);
    void session.answer();
  });
  const media = new TestMedia();
  const out = a.call(TARGET, { from: FROM, media, offerless: true });
  await clock.run(20);
  t.equal(out.state, SessionState.Confirmed);
  t.same(media.calls, ["processOffer"]);
  t.same(mediaB[0]?.calls, ["getOffer", "setAnswer"]);
  const ack = net.log.find((w) => w.what === "ACK")?.message;
  t.equal(ack?.contentType?.essence, "application/sdp");
  t.match(ack?.bodyText, /m=audio 40000/);
  const invite = net.log.find((w) => w.what === "INVITE")?.message;
  t.equal(invite?.body.length, 0);
});

t.test("UPDATE with an offer in a confirmed dialog; a refused re-offer gets 488 and the call continues", async (t) => {
  const { clock, net, out, inc, mediaB } = await connected();
  await out.update();
  await clock.run(20);
  t.same(net.what().slice(3), ["UPDATE", "200 UPDATE"]);
  t.same(mediaB[0]?.calls, ["processOffer", "processOffer"]);
  const failed: number[] = [];
  out.on("renegotiationFailed", (s) => failed.push(s));
  const m = mediaB[0];
  if (m) {
    m.refuse = true;
  }
  await out.reinvite();
  await clock.run(20);
  t.same(failed, [488]);
  t.equal(out.state, SessionState.Confirmed);
  t.equal(inc.state, SessionState.Confirmed);
  t.equal(out.offerAnswer, OfferAnswerState.Stable);
});

t.test("100rel: reliable 183 with early media, PRACK, then 200 without SDP", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => {
    void session.progress({ earlyMedia: true, reliable: true });
    clock.setTimeout(() => void session.answer(), 1000);
  });
  const media = new TestMedia();
  const out = a.call(TARGET, { from: FROM, media });
  const progress: string[] = [];
  out.on("progress", (status, info) => progress.push(`${status} ${info.earlyMedia} ${info.reliable}`));
  await clock.run(2000);
  t.same(net.what(), ["INVITE", "183 INVITE", "PRACK", "200 PRACK", "200 INVITE", "ACK"]);
  t.same(progress, ["183 true true"]);
  const r183 = net.log[1]?.message;
  t.equal(r183?.getHeader("Require"), "100rel");
  t.match(r183?.getHeader("RSeq"), /^\d+$/);
  const prack = net.log[2]?.message;
  t.equal(prack?.getHeader("RAck"), `${r183?.getHeader("RSeq")} 1 INVITE`);
  t.equal(net.log[4]?.message.body.length, 0, "the answer was delivered reliably, so the 200 has no SDP");
  t.same(media.calls, ["getOffer", "setAnswer"], "one answer applied");
  t.equal(out.state, SessionState.Confirmed);
});

t.test("100rel: the reliable 1xx is retransmitted until PRACK, and the 200 waits for it", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => {
    void session.progress({ earlyMedia: true, reliable: true });
    void session.answer();
  });
  let pracks = 0;
  net.drop = (w) => w.what === "PRACK" && pracks++ < 1;
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(3000);
  const times183 = net.log.filter((w) => w.what === "183 INVITE").map((w) => w.at);
  t.same(times183, [1, 501], "retransmitted at T1");
  const ok = net.log.find((w) => w.what === "200 INVITE");
  const prackOk = net.log.find((w) => w.what === "200 PRACK");
  t.ok(
    ok !== undefined && prackOk !== undefined && ok.at >= prackOk.at,
    "200 INVITE only after the PRACK was answered",
  );
  t.equal(out.state, SessionState.Confirmed);
});

t.test(
  "100rel: Require: 100rel from the caller forces reliable provisionals; no PRACK → 504 after 64*T1",
  async (t) => {
    const { clock, net, a, b } = pair();
    let info: TerminationInfo | undefined;
    b.on("incomingCall", (session) => {
      void session.progress();
      session.on("terminated", (i) => (info = i));
    });
    net.drop = (w) => w.what === "PRACK";
    const out = a.call(TARGET, { from: FROM, media: new TestMedia(), headers: [["Require", "100rel"]] });
    await clock.run(40000);
    t.equal(net.log.find((w) => w.what === "180 INVITE")?.message.getHeader("Require"), "100rel");
    t.equal(info?.status, 504);
    t.equal(out.termination?.status, 504);
  },
);

t.test("session timer: the UAC refreshes by UPDATE at SE/2; the UAS restarts its expiry on each refresh", async (t) => {
  const { clock, net, out, inc } = await connected({ a: { sessionTimer: { expires: 90 } } });
  t.same(out.sessionTimer, { interval: 90, refresher: "local" });
  t.same(inc.sessionTimer, { interval: 90, refresher: "remote" });
  const ok = net.log.find((w) => w.what === "200 INVITE")?.message;
  t.equal(ok?.getHeader("Session-Expires"), "90;refresher=uac");
  t.match(ok?.getHeader("Require"), /timer/);
  let refreshed = 0;
  inc.on("refreshed", () => refreshed++);
  await clock.run(200000);
  const updates = net.log.filter((w) => w.what === "UPDATE").map((w) => Math.round(w.at / 1000));
  t.same(updates, [45, 90, 135, 180]);
  t.equal(refreshed, 4);
  t.equal(out.state, SessionState.Confirmed);
  t.equal(inc.state, SessionState.Confirmed);
});

t.test("session timer: without refreshes the non-refresher sends BYE at SE − min(32, SE/3)", async (t) => {
  const { clock, net, out, inc } = await connected({ a: { sessionTimer: { expires: 90 } } });
  net.drop = (w) => w.what === "UPDATE";
  let infoB: TerminationInfo | undefined;
  let infoA: TerminationInfo | undefined;
  inc.on("terminated", (i) => (infoB = i));
  out.on("terminated", (i) => (infoA = i));
  await clock.run(61000);
  const bye = net.log.find((w) => w.what === "BYE");
  t.equal(bye?.from, "192.0.2.2:5060");
  t.equal(Math.round((bye?.at ?? 0) / 1000), 60, "90 − 30 s");
  t.match(bye?.message.getHeader("Reason"), /SIP;cause=408/);
  t.equal(infoB?.ending, "session-expired");
  t.equal(infoB?.by, "local");
  t.equal(infoA?.by, "remote");
});

t.test("session timer: 422 with Min-SE makes the caller retry with a larger Session-Expires", async (t) => {
  const { clock, net, out, inc } = await connected({
    a: { sessionTimer: { expires: 90 } },
    b: { sessionTimer: { minSE: 600 } },
  });
  t.same(net.what().slice(0, 4), ["INVITE", "422 INVITE", "ACK", "INVITE"]);
  const retry = net.log.filter((w) => w.what === "INVITE")[1]?.message;
  t.equal(retry?.getHeader("Session-Expires"), "600");
  t.equal(retry?.cseq.seq, 2, "next CSeq, same Call-ID");
  t.equal(retry?.callId, net.log[0]?.message.callId);
  t.same(out.sessionTimer, { interval: 600, refresher: "local" });
  t.equal(inc.state, SessionState.Confirmed);
  void clock;
});

t.test("session timer: refresh by re-INVITE (same o= version) when the peer does not allow UPDATE", async (t) => {
  const p = pair({ a: { sessionTimer: { expires: 90 } } });
  // B's 2xx loses UPDATE from its Allow on the wire, as from a peer without RFC 3311.
  p.net.rewrite = (w, text) =>
    w.what === "200 INVITE" ? text.replace(/^Allow: .*$/m, "Allow: INVITE, ACK, CANCEL, BYE") : text;
  p.b.on("incomingCall", (session) => void session.answer());
  const media = new TestMedia();
  const out = p.a.call(TARGET, { from: FROM, media });
  await p.clock.run(46000);
  const reinvites = p.net.log.filter((w) => w.what === "INVITE");
  t.equal(reinvites.length, 2, "initial INVITE and one refresh re-INVITE");
  t.equal(Math.round((reinvites[1]?.at ?? 0) / 1000), 45);
  t.match(reinvites[1]?.message.bodyText, / 1000 1 IN IP4/, "the refresh offers the unchanged session (o= version 1)");
  t.same(media.calls, ["getOffer", "setAnswer", "getOffer refresh", "setAnswer"]);
  t.notOk(p.net.what().includes("UPDATE"));
  t.equal(out.state, SessionState.Confirmed);
});

t.test("session timer: a re-INVITE without Session-Expires switches the timer off (no BYE later)", async (t) => {
  const { clock, net, out, inc } = await connected({ a: { sessionTimer: { expires: 90 } } });
  // The caller's re-INVITE loses its Session-Expires on the wire, as from a peer that stops asking for timers.
  net.rewrite = (w, text) => (w.what === "INVITE" && w.at > 0 ? text.replace(/^Session-Expires: .*\r\n/m, "") : text);
  await out.hold();
  await clock.run(20);
  t.equal(inc.sessionTimer, undefined, "callee stopped its timer");
  t.equal(out.sessionTimer, undefined, "caller too: the 2xx had no Session-Expires (RFC 4028 §7.2)");
  net.drop = (w) => w.what === "UPDATE";
  await clock.run(120000);
  t.notOk(net.what().includes("BYE"), "no expiry BYE");
  t.notOk(net.what().includes("UPDATE"), "no refresh either");
  t.equal(inc.state, SessionState.Confirmed);
});

/**
 * Whole calls between two in-process user agents over the in-memory network, on the stepping fake clock:
 * basic call with BYE from either side, CANCEL, CANCEL/200 race, rejection with Q.850, OPTIONS, stateless answers.
 */

import t from "tap";
import { SessionState, type InviteSession, type TerminationInfo } from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const TARGET = "sip:+4930123456@192.0.2.2:5060";
const FROM = "sip:+441632960001@192.0.2.1";

t.test("basic call: INVITE/180/200/ACK, BYE from the caller; both sides report CDR data", async (t) => {
  const { clock, net, a, b, mediaB } = pair();
  const ended: string[] = [];
  let incoming: InviteSession | undefined;
  b.on("incomingCall", (session, call) => {
    incoming = session;
    t.equal(call.identity.from.uri.toString(), FROM);
    t.equal(call.offer?.media[0]?.port, 40000, "parsed offer");
    t.ok(call.identity.chargingVector?.icid, "the caller generated a P-Charging-Vector icid");
    t.equal(call.identity.assertedIdentity[0]?.uri.toString(), "tel:+441632960001");
    void session.progress();
    clock.setTimeout(() => void session.answer(), 2000);
  });
  let infoA: TerminationInfo | undefined;
  let infoB: TerminationInfo | undefined;
  a.on("terminated", (_s, info) => {
    infoA = info;
    ended.push("a");
  });
  b.on("terminated", (_s, info) => {
    infoB = info;
    ended.push("b");
  });
  const mediaA = new TestMedia("192.0.2.1", 40000);
  const out = a.call(TARGET, {
    from: FROM,
    displayName: "Alice",
    media: mediaA,
    headers: [["P-Asserted-Identity", "<tel:+441632960001>"]],
  });
  const states: string[] = [];
  out.on("progress", (status) => states.push(`progress ${status}`));
  out.on("confirmed", () => states.push("confirmed"));
  await clock.run(1000);
  t.equal(out.state, SessionState.Early);
  await clock.run(1500);
  t.equal(out.state, SessionState.Confirmed);
  t.equal(incoming?.state, SessionState.Confirmed);
  t.same(states, ["progress 180", "confirmed"]);
  t.same(mediaA.calls, ["getOffer", "setAnswer"]);
  t.same(mediaB[0]?.calls, ["processOffer"]);
  out.hangup({ cause: 16 });
  await clock.run(100);
  t.same(net.what(), ["INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]);
  t.same(ended.sort(), ["a", "b"]);
  t.equal(infoA?.by, "local");
  t.equal(infoB?.by, "remote");
  t.equal(infoB?.cause, 16, "Q.850 cause carried in Reason");
  t.equal(infoA?.status, 200);
  t.ok(infoA?.ringingAt !== undefined && infoA.answeredAt !== undefined && infoA.endedAt >= infoA.answeredAt);
  t.equal(infoB?.ringingAt, 1_700_000_000_000 + 1, "UAS rang when it sent the 180 (1 ms after the INVITE left)");
  t.equal(mediaA.closed, 1);
  t.equal(mediaB[0]?.closed, 1);
  await clock.run(64 * 500 + 5000);
  t.same(a.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  t.same(b.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  t.equal(clock.pendingCount, 0, "no timer left");
});

t.test("BYE from the callee", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => void session.answer());
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  let info: TerminationInfo | undefined;
  out.on("terminated", (i) => (info = i));
  await clock.run(100);
  t.equal(out.state, SessionState.Confirmed);
  b.sessions[0]?.hangup({ cause: 31, text: "Normal, unspecified" });
  await clock.run(100);
  t.same(net.what(), ["INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]);
  t.equal(info?.by, "remote");
  t.equal(info?.cause, 31);
  t.equal(info?.ending, "BYE");
});

t.test("CANCEL before answer: 200 CANCEL, 487 INVITE, ACK; caller side is the one that hung up", async (t) => {
  const { clock, net, a, b } = pair();
  let calleeInfo: TerminationInfo | undefined;
  b.on("incomingCall", (session) => {
    void session.progress();
    session.on("terminated", (i) => (calleeInfo = i));
  });
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(50);
  out.hangup({ cause: 16 });
  t.equal(out.state, SessionState.Terminating);
  await clock.run(100);
  t.same(net.what(), ["INVITE", "180 INVITE", "CANCEL", "200 CANCEL", "487 INVITE", "ACK"]);
  t.equal(out.termination?.status, 487);
  t.equal(out.termination?.by, "local");
  t.equal(calleeInfo?.by, "remote");
  t.equal(calleeInfo?.ending, "CANCEL");
  t.equal(calleeInfo?.cause, 16, "cause from the CANCEL's Reason");
  await clock.run(40000);
  t.same(a.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  t.same(b.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
});

t.test("CANCEL waits for a provisional (§9.1; 100 Trying counts) and a ring timeout cancels", async (t) => {
  const { clock, net, a, b } = pair();
  // B's INVITE transaction sends 100 Trying itself after 200 ms; the application never answers.
  b.on("incomingCall", () => undefined);
  const out = a.call(TARGET, { from: FROM, media: new TestMedia(), ringTimeoutMs: 100 });
  await clock.run(150);
  t.equal(out.state, SessionState.Terminating);
  t.same(net.what(), ["INVITE"], "no CANCEL before a provisional");
  await clock.run(200);
  t.same(net.what(), ["INVITE", "100 INVITE", "CANCEL", "200 CANCEL", "487 INVITE", "ACK"]);
  t.equal(out.termination?.cause, 19, "no-answer cause");
  t.equal(out.termination?.by, "local");
});

t.test("a CANCEL that gets no final response gives up after 64*T1 (§9.1)", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => void session.progress());
  net.drop = (w) => w.what === "487 INVITE";
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(20);
  out.hangup();
  await clock.run(31000);
  t.equal(out.state, SessionState.Terminating);
  await clock.run(2000);
  t.equal(out.state, SessionState.Terminated);
  t.equal(out.termination?.status, 487);
  t.equal(a.stats.sessions, 0);
});

t.test("UAS hangs up before the ACK: the BYE waits for the ACK (§15)", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => {
    void session.answer().then(() => session.hangup({ cause: 16 }));
  });
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(100);
  t.same(net.what(), ["INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]);
  t.equal(out.termination?.by, "remote");
});

t.test("CANCEL/200 race: the 200 crosses the CANCEL, the caller ACKs then BYEs", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => {
    void session.progress();
    clock.setTimeout(() => void session.answer(), 10);
  });
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  // 180 arrives at t=2..3; the answer leaves B at ~11 ms. Hang up at 11 ms: the CANCEL reaches B after its 200.
  await clock.run(11);
  out.hangup({ cause: 16 });
  await clock.run(100);
  t.same(net.what(), ["INVITE", "180 INVITE", "200 INVITE", "CANCEL", "ACK", "BYE", "200 CANCEL", "200 BYE"]);
  t.equal(out.termination?.by, "local");
  t.equal(out.termination?.status, 200);
  t.equal(b.stats.sessions, 0);
});

t.test("rejection carries Reason/Q.850 to the caller; 486 maps to cause 17 without one", async (t) => {
  const { clock, a, b } = pair();
  b.on("incomingCall", (session) => session.reject(603, { cause: 21, text: "Call rejected" }));
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(50);
  t.equal(out.termination?.status, 603);
  t.equal(out.termination?.cause, 21);
  t.equal(out.termination?.by, "remote");
  t.equal(out.termination?.ending, "rejected");
});

t.test("no incomingCall listener: 480", async (t) => {
  const { clock, a } = pair();
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(50);
  t.equal(out.termination?.status, 480);
});

t.test("UAS retransmits its 2xx until the ACK (T1 doubling to T2), then stops", async (t) => {
  const { clock, net, a, b } = pair();
  b.on("incomingCall", (session) => void session.answer());
  let acks = 0;
  net.drop = (w) => w.what === "ACK" && acks++ < 3;
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(10000);
  const okTimes = net.log.filter((w) => w.what === "200 INVITE").map((w) => w.at);
  t.same(okTimes, [1, 501, 1501, 3501], "2xx at 0, T1, 3T1, 7T1 until the 4th ACK got through");
  t.equal(net.what((w) => w.what === "ACK").length, 4, "an ACK per 2xx");
  t.equal(b.sessions[0]?.state, SessionState.Confirmed);
  t.equal(out.state, SessionState.Confirmed);
});

t.test("UAS gives up after 64*T1 without ACK and sends BYE", async (t) => {
  const { clock, net, a, b, mediaB } = pair();
  let info: TerminationInfo | undefined;
  let endedAt: number | undefined;
  b.on("incomingCall", (session) => {
    void session.answer();
    session.on("terminated", (i) => {
      info = i;
      endedAt = clock.now();
    });
  });
  net.drop = (w) => w.what === "ACK" || w.what === "200 BYE";
  a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(40000);
  const byeAt = net.log.find((w) => w.what === "BYE")?.at;
  t.ok(
    byeAt !== undefined && endedAt !== undefined && endedAt - byeAt < 10,
    "the call ends with its BYE, not 32 s later",
  );
  t.equal(mediaB[0]?.closed, 1, "and its media is closed");
  const okTimes = net.log.filter((w) => w.what === "200 INVITE").map((w) => w.at - 1);
  t.same(okTimes.slice(0, 7), [0, 500, 1500, 3500, 7500, 11500, 15500], "doubling capped at T2 = 4 s");
  t.ok(net.what().includes("BYE"), "BYE after giving up");
  t.equal(info?.ending, "no-ack");
  t.equal(info?.by, "local");
});

t.test("OPTIONS is answered with Allow, Accept, Supported; unknown methods get 405; stray BYE 481; 420", async (t) => {
  const { clock, net, a, b } = pair();
  const send = (raw: string): void => {
    a.layer.sendStateless(parseRequest(raw), { host: "192.0.2.2", port: 5060, transport: "UDP" });
  };
  send(
    "OPTIONS sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKo1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  );
  send(
    "SUBSCRIBE sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKs1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: s1\r\nCSeq: 1 SUBSCRIBE\r\nEvent: presence\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  );
  send(
    "BYE sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>;tag=nope\r\nCall-ID: b1\r\nCSeq: 1 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  );
  send(
    "INVITE sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKi1\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: i1\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nRequire: foo, 100rel\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  );
  send(
    "INVITE sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKi2\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: i2\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Type: text/plain\r\nMax-Forwards: 70\r\nContent-Length: 2\r\n\r\nhi",
  );
  send(
    "INVITE sip:192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKi3\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: i3\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nSession-Expires: 30\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  );
  await clock.run(10);
  const responses = net.log.filter((w) => w.from === "192.0.2.2:5060");
  t.same(
    responses.map((w) => w.what),
    ["200 OPTIONS", "405 SUBSCRIBE", "481 BYE", "420 INVITE", "415 INVITE", "422 INVITE"],
  );
  const [options, m405, , m420, m415, m422] = responses.map((w) => w.message);
  t.match(options?.getHeader("Allow"), /INVITE.*PRACK.*UPDATE/);
  t.equal(options?.getHeader("Accept"), "application/sdp");
  t.equal(options?.getHeader("Supported"), "100rel, timer");
  t.match(m405?.getHeader("Allow"), /INVITE/);
  t.equal(m420?.getHeader("Unsupported"), "foo");
  t.equal(m415?.getHeader("Accept"), "application/sdp");
  t.equal(m422?.getHeader("Min-SE"), "90");
  t.equal(b.stats.sessions, 0);
});

import { parseMessage, type SipRequest } from "../../../../sip/index.js";
function parseRequest(raw: string): SipRequest {
  return parseMessage(raw) as SipRequest;
}

t.test("a silent application: the call is rejected 480 (cause 19) after incomingTimeoutMs, and drains", async (t) => {
  const { clock, a, b } = pair({ b: { incomingTimeoutMs: 5000 } });
  b.on("incomingCall", () => undefined);
  const out = a.call(TARGET, { from: FROM, media: new TestMedia() });
  await clock.run(4000);
  t.equal(out.state, SessionState.Calling, "still ringing (100 Trying only)");
  await clock.run(2000);
  t.equal(out.termination?.status, 480);
  t.equal(out.termination?.cause, 19);
  await clock.run(40000);
  t.same(b.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
});

t.test(
  "an INVITE with an unparsable Contact gets 400 and creates nothing; a throwing media factory gets 500",
  async (t) => {
    const { clock, net, a, b } = pair({
      b: {
        createMediaHandler: () => {
          throw new Error("no ports");
        },
      },
    });
    b.on("incomingCall", () => undefined);
    const raw = (callId: string, contact: string): SipRequest =>
      parseRequest(
        `INVITE sip:b@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK${callId}\r\n` +
          `From: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:b@192.0.2.2>\r\nCall-ID: ${callId}\r\nCSeq: 1 INVITE\r\n` +
          `Contact: ${contact}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
      );
    const dest = { host: "192.0.2.2", port: 5060, transport: "UDP" } as const;
    a.layer.sendStateless(raw("nomedia", "<sip:a@192.0.2.1>"), dest);
    await clock.run(10);
    t.same(
      net.what((w) => w.from === "192.0.2.2:5060"),
      ["500 INVITE"],
    );
    t.equal(b.stats.sessions, 0);
  },
);

t.test(
  "an INVITE over 1300 bytes goes over TCP (§18.1.1); its CANCEL follows it; small requests stay on UDP",
  async (t) => {
    const { clock, net, a, b } = pair();
    b.on("incomingCall", (session) => void session.progress());
    const big: [string, string][] = [];
    for (let i = 0; i < 12; i++) {
      big.push(["History-Info", `<sip:+49301234567${i}@hop${i}.carrier.example;user=phone>;index=1.${i}`]);
    }
    const out = a.call(TARGET, { from: FROM, media: new TestMedia(), headers: big });
    await clock.run(20);
    const invite = net.log.find((w) => w.what === "INVITE");
    t.ok((invite?.message.toBuffer().length ?? 0) > 1300, "the INVITE is large");
    t.equal(invite?.protocol, "TCP");
    t.equal((invite?.message as SipRequest | undefined)?.topVia.transport, "TCP", "Via names TCP");
    t.equal(net.log.find((w) => w.what === "180 INVITE")?.protocol, "TCP", "responses come back on the connection");
    out.hangup();
    await clock.run(20);
    t.equal(net.log.find((w) => w.what === "CANCEL")?.protocol, "TCP", "CANCEL takes the INVITE's transport");
    t.equal(out.termination?.status, 487);
    // A small call stays on UDP.
    const small = a.call(TARGET, { from: FROM, media: new TestMedia() });
    await clock.run(20);
    t.equal(net.log.filter((w) => w.what === "INVITE").at(-1)?.protocol, "UDP");
    small.hangup();
    await clock.run(20);
  },
);

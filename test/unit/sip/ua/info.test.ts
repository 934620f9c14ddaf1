/**
 * DTMF over SIP INFO (RFC 6086 legacy usage): InviteSession.info() inside an answered call, the peer's "info" event
 * with the body, the final status (200, or 408 when every retransmission is lost), refusal before the answer, and
 * parseDtmfInfo/formatDtmfRelay on the body formats carriers send.
 */
import t from "tap";
import {
  DTMF_RELAY_TYPE,
  DtmfInfoError,
  formatDtmfRelay,
  parseDtmfInfo,
  parseMessage,
  SessionStateError,
  type InviteSession,
  type SipRequest,
} from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const TARGET = "sip:+4930123456@192.0.2.2:5060";
const FROM = "sip:+441632960001@192.0.2.1";

async function answeredCall(): Promise<ReturnType<typeof pair> & { out: InviteSession; incoming: InviteSession }> {
  const p = pair();
  let incoming: InviteSession | undefined;
  p.b.on("incomingCall", (session) => {
    incoming = session;
    void session.answer();
  });
  const out = p.a.call(TARGET, { from: FROM, media: new TestMedia("192.0.2.1", 40000) });
  await p.clock.run(500);
  if (incoming === undefined) {
    throw new Error("no incoming call");
  }
  return { ...p, out, incoming };
}

t.test("INFO with application/dtmf-relay inside a call: 200, the peer sees the digit", async (t) => {
  const { clock, net, out, incoming } = await answeredCall();
  const got: SipRequest[] = [];
  incoming.on("info", (r) => got.push(r));
  let status: number | undefined;
  void out.info(DTMF_RELAY_TYPE, formatDtmfRelay("5", 160)).then((s) => (status = s));
  await clock.run(100);
  t.equal(status, 200);
  t.equal(got.length, 1);
  t.same(parseDtmfInfo(got[0]!), { digit: "5", durationMs: 160 });
  t.match(net.what(), ["INVITE", "200 INVITE", "ACK", "INFO", "200 INFO"]);
  // The callee can send one too.
  const back: SipRequest[] = [];
  out.on("info", (r) => back.push(r));
  let status2: number | undefined;
  void incoming.info(DTMF_RELAY_TYPE, formatDtmfRelay("#", 100)).then((s) => (status2 = s));
  await clock.run(100);
  t.equal(status2, 200);
  t.same(parseDtmfInfo(back[0]!), { digit: "#", durationMs: 100 });
  out.hangup();
  await clock.run(100);
});

t.test("INFO whose every transmission is lost resolves 408 after Timer F; the call goes on", async (t) => {
  const { clock, net, out } = await answeredCall();
  net.drop = (w) => w.what === "INFO";
  let status: number | undefined;
  void out.info(DTMF_RELAY_TYPE, formatDtmfRelay("1", 100)).then((s) => (status = s));
  await clock.run(31_000);
  t.equal(status, undefined, "still retransmitting before 64*T1");
  await clock.run(2_000);
  t.equal(status, 408);
  t.ok(net.dropped >= 5, `retransmitted over UDP (${net.dropped} copies lost)`);
  net.drop = () => false;
  out.hangup();
  await clock.run(100);
});

t.test("INFO before the answer is refused", async (t) => {
  const p = pair();
  p.b.on("incomingCall", (session) => void session.progress());
  const out = p.a.call(TARGET, { from: FROM, media: new TestMedia("192.0.2.1", 40000) });
  await p.clock.run(100);
  t.throws(() => out.info(DTMF_RELAY_TYPE, "Signal=1\r\n"), SessionStateError);
  out.hangup();
  await p.clock.run(100);
});

const request = (type: string, body: string): SipRequest => {
  const m = parseMessage(
    Buffer.from(
      `INFO sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK1\r\nFrom: <sip:b@192.0.2.2>;tag=1\r\n` +
        `To: <sip:a@192.0.2.1>;tag=2\r\nCall-ID: x\r\nCSeq: 2 INFO\r\nMax-Forwards: 70\r\nContent-Type: ${type}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    ),
  );
  return m as SipRequest;
};

t.test("parseDtmfInfo: the body formats carriers send", async (t) => {
  t.same(parseDtmfInfo(request("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")), {
    digit: "5",
    durationMs: 160,
  });
  t.same(parseDtmfInfo(request("Application/DTMF-Relay", "signal= *\nduration=250")), {
    digit: "*",
    durationMs: 250,
  });
  t.same(
    parseDtmfInfo(request("application/dtmf-relay", "Signal=11\r\nDuration=100")),
    {
      digit: "#",
      durationMs: 100,
    },
    "event number 11 is #",
  );
  t.same(parseDtmfInfo(request("application/dtmf-relay", "Signal=a")), { digit: "A", durationMs: undefined });
  t.same(parseDtmfInfo(request("application/dtmf", "7")), { digit: "7", durationMs: undefined });
  t.same(parseDtmfInfo(request("application/dtmf", "10\r\n")), { digit: "*", durationMs: undefined });
  t.equal(parseDtmfInfo(request("application/sdp", "v=0\r\n")), undefined, "not a DTMF body");
  t.throws(() => parseDtmfInfo(request("application/dtmf-relay", "Signal=X\r\nDuration=100")), DtmfInfoError);
  t.throws(() => parseDtmfInfo(request("application/dtmf-relay", "Duration=100")), DtmfInfoError);
  t.throws(() => parseDtmfInfo(request("application/dtmf", "12345")), DtmfInfoError);
  t.equal(formatDtmfRelay("*", 99.6), "Signal=*\r\nDuration=100\r\n");
  t.throws(() => formatDtmfRelay("55", 100), DtmfInfoError);
  t.throws(() => formatDtmfRelay("E", 100), DtmfInfoError);
});

/**
 * Calls from a Korus user agent to scripted peers on the in-memory network, for behaviour two Korus agents never
 * produce between themselves: a forking proxy (two early dialogs, 2xx from both forks) and a carrier that challenges
 * the INVITE with digest (H2's DigestServer as the challenger).
 */

import t from "tap";
import { DigestServer } from "../../../../sip/auth/index.js";
import {
  createResponse,
  parseMessage,
  SessionState,
  SipRequest,
  type SipDestination,
  type SipMessage,
  type SipResponse,
} from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const FROM = "sip:+441632960001@192.0.2.1";

/** A scripted peer at 192.0.2.3:5060 whose handler sees every message A sends it. */
function scripted(
  p: ReturnType<typeof pair>,
  handler: (message: SipMessage, send: (m: SipMessage) => void) => void,
): void {
  const dest: SipDestination = { host: "192.0.2.1", port: 5060, transport: "UDP" };
  const transport = p.net.transport("192.0.2.3", 5060, (message) =>
    handler(message, (m) => void transport.send(m, dest)),
  );
}

function answer(req: SipRequest, status: number, tag: string, sdp?: string): SipResponse {
  const r = createResponse(req, status, { toTag: tag });
  r.setHeader("Contact", `<sip:${tag}@192.0.2.3:5060>`);
  r.setHeader("Allow", "INVITE, ACK, CANCEL, BYE, UPDATE");
  if (sdp !== undefined) {
    r.setHeader("Content-Type", "application/sdp");
    r.body = Buffer.from(sdp);
  }
  return r;
}

t.test(
  "forked 18x: one early dialog per To tag; 2xx of the first fork confirms it, a 2xx of the other gets ACK+BYE",
  async (t) => {
    const p = pair();
    const peerMedia = new TestMedia("192.0.2.3", 50000);
    const fork1Media = new TestMedia("192.0.2.3", 52000);
    let invite: SipRequest | undefined;
    const seen: string[] = [];
    scripted(p, (m, send) => {
      if (m instanceof SipRequest) {
        seen.push(`${m.method} ${m.to.tag ?? "-"}`);
        if (m.method === "INVITE") {
          invite = m;
          send(answer(m, 180, "fork1"));
          send(answer(m, 183, "fork2", peerMedia.sdp("sendrecv")));
          p.clock.setTimeout(() => send(answer(m, 200, "fork1", fork1Media.sdp("sendrecv"))), 100);
          p.clock.setTimeout(() => send(answer(m, 200, "fork2", peerMedia.sdp("sendrecv"))), 200);
        } else if (m.method === "BYE") {
          send(createResponse(m, 200));
        }
      }
    });
    const media = new TestMedia();
    const out = p.a.call("sip:+4930123456@192.0.2.3:5060", { from: FROM, media });
    const progress: string[] = [];
    out.on("progress", (status, info) => progress.push(`${status} ${info.toTag ?? ""} ${info.earlyMedia}`));
    await p.clock.run(50);
    t.equal(out.earlyDialogs.length, 2, "two early dialogs");
    t.same(out.earlyDialogs.map((d) => d.remoteTag).sort(), ["fork1", "fork2"]);
    t.same(progress, ["180 fork1 false", "183 fork2 true"], "the first SDP (fork2's 183) is the answer");
    t.equal(p.a.stats.dialogs, 2);
    await p.clock.run(100);
    t.equal(out.state, SessionState.Confirmed);
    t.equal(out.dialog?.remoteTag, "fork1");
    t.equal(out.earlyDialogs.length, 0);
    t.same(media.calls, ["getOffer", "setAnswer", "setAnswer"], "fork2's early answer, then fork1's final one");
    t.match(media.remote, /m=audio 52000/, "the answering fork's SDP is in force");
    await p.clock.run(200);
    t.same(seen, ["INVITE -", "ACK fork1", "ACK fork2", "BYE fork2"]);
    t.equal(out.state, SessionState.Confirmed, "the kept call is unaffected");
    t.equal(p.a.stats.dialogs, 1);
    t.ok(invite);
  },
);

t.test("2xx retransmitted after the ACK was lost: the UAC re-sends the same ACK", async (t) => {
  const p = pair();
  const acks: string[] = [];
  scripted(p, (m, send) => {
    if (m instanceof SipRequest && m.method === "INVITE") {
      const ok = answer(m, 200, "callee", new TestMedia("192.0.2.3").sdp("sendrecv"));
      send(ok);
      p.clock.setTimeout(() => send(ok), 500);
      p.clock.setTimeout(() => send(ok), 40000);
    } else if (m instanceof SipRequest && m.method === "ACK") {
      acks.push(`${m.topVia.branch ?? ""} ${m.cseq.seq}`);
    }
  });
  const out = p.a.call("sip:x@192.0.2.3:5060", { from: FROM, media: new TestMedia() });
  await p.clock.run(41000);
  t.equal(acks.length, 3, "one ACK per 2xx, including one after Timer M ended the transaction");
  t.equal(new Set(acks).size, 1, "the same ACK each time");
  t.equal(out.state, SessionState.Confirmed);
});

t.test("digest-challenged INVITE (407): resent with Proxy-Authorization, next CSeq, then answered", async (t) => {
  const p = pair();
  const server = new DigestServer({
    realm: "carrier.example",
    secret: Buffer.alloc(32, 7),
    lookup: (user) => (user === "trunk1" ? { password: "s3cret" } : undefined),
    proxy: true,
    now: () => 1_700_000_000_000,
  });
  const invites: string[] = [];
  scripted(p, (m, send) => {
    if (m instanceof SipRequest && m.method === "INVITE") {
      const verdict = server.authenticate(m);
      invites.push(`${m.cseq.seq} ${verdict.ok ? "ok" : verdict.reason}`);
      send(verdict.ok ? answer(m, 200, "callee", new TestMedia("192.0.2.3").sdp("sendrecv")) : verdict.response);
    }
  });
  const out = p.a.call("sip:+4930123456@192.0.2.3:5060", {
    from: FROM,
    media: new TestMedia(),
    credentials: { username: "trunk1", password: "s3cret" },
  });
  await p.clock.run(50);
  t.same(invites, ["1 missing", "2 ok"]);
  t.equal(out.state, SessionState.Confirmed);
  t.same(p.net.what(), ["INVITE", "407 INVITE", "ACK", "INVITE", "200 INVITE", "ACK"]);
});

t.test("digest with a wrong password fails once, without a retry loop", async (t) => {
  const p = pair();
  const server = new DigestServer({
    realm: "carrier.example",
    secret: Buffer.alloc(32, 7),
    lookup: () => ({ password: "right" }),
    rejectStatus: 401,
  });
  let count = 0;
  scripted(p, (m, send) => {
    if (m instanceof SipRequest && m.method === "INVITE") {
      count += 1;
      const verdict = server.authenticate(m);
      if (!verdict.ok) {
        send(verdict.response);
      }
    }
  });
  const out = p.a.call("sip:x@192.0.2.3:5060", {
    from: FROM,
    media: new TestMedia(),
    credentials: { username: "u", password: "wrong" },
  });
  await p.clock.run(50);
  t.equal(count, 2, "one retry with credentials, then the failure is final");
  t.equal(out.termination?.status, 401);
  t.equal(out.termination?.by, "remote");
});

t.test(
  "UPDATE in an early dialog (RFC 3311): after a PRACKed reliable 183, the caller's UPDATE offer is answered",
  async (t) => {
    const p = pair();
    const send = (m: SipMessage): void => void peer.send(m, { host: "192.0.2.2", port: 5060, transport: "UDP" });
    const got: SipResponse[] = [];
    const peer = p.net.transport("192.0.2.3", 5060, (m) => {
      if (!(m instanceof SipRequest)) {
        got.push(m as SipResponse);
      }
    });
    p.b.on("incomingCall", (session) => void session.progress({ earlyMedia: true, reliable: true }));
    const peerMedia = new TestMedia("192.0.2.3", 50000);
    const head = (method: string, cseq: number, toTag: string, extra = ""): string =>
      `${method} sip:+4930123456@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.3:5060;branch=z9hG4bK${method}${cseq}\r\n` +
      `From: <sip:caller@192.0.2.3>;tag=c1\r\nTo: <sip:+4930123456@192.0.2.2>${toTag === "" ? "" : `;tag=${toTag}`}\r\n` +
      `Call-ID: early-update\r\nCSeq: ${cseq} ${method}\r\nContact: <sip:caller@192.0.2.3:5060>\r\nMax-Forwards: 70\r\n${extra}`;
    const sdp = peerMedia.sdp("sendrecv");
    send(
      parseRequest(
        `${head("INVITE", 1, "", "Supported: 100rel\r\n")}Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`,
      ),
    );
    await p.clock.run(10);
    const r183 = got.find((r) => r.status === 183);
    const tag = r183?.to.tag ?? "";
    send(
      parseRequest(
        `${head("PRACK", 2, tag, `RAck: ${r183?.getHeader("RSeq") ?? ""} 1 INVITE\r\n`)}Content-Length: 0\r\n\r\n`,
      ),
    );
    await p.clock.run(10);
    peerMedia.version += 1;
    const offer = peerMedia.sdp("sendonly");
    send(
      parseRequest(
        `${head("UPDATE", 3, tag)}Content-Type: application/sdp\r\nContent-Length: ${offer.length}\r\n\r\n${offer}`,
      ),
    );
    await p.clock.run(10);
    const statuses = got.map((r) => `${r.status} ${r.cseq.method}`);
    t.same(
      statuses.filter((s) => !s.startsWith("100")),
      ["183 INVITE", "200 PRACK", "200 UPDATE"],
    );
    const ok = got.find((r) => r.cseq.method === "UPDATE");
    t.match(ok?.bodyText, /a=recvonly/, "answered the early hold offer");
    t.equal(p.b.sessions[0]?.state, SessionState.Early, "still early");
    t.equal(p.b.sessions[0]?.remoteHold, true);
  },
);

function parseRequest(raw: string): SipRequest {
  return parseMessage(raw) as SipRequest;
}

t.test("offerless re-INVITE from the peer: our offer in the 200, the answer in the ACK", async (t) => {
  const p = pair();
  const got: SipResponse[] = [];
  const peer = p.net.transport("192.0.2.3", 5060, (m) => {
    if (!(m instanceof SipRequest)) {
      got.push(m as SipResponse);
    }
  });
  const send = (m: SipMessage): void => void peer.send(m, { host: "192.0.2.2", port: 5060, transport: "UDP" });
  p.b.on("incomingCall", (session) => void session.answer());
  const peerMedia = new TestMedia("192.0.2.3", 50000);
  const head = (method: string, cseq: number, toTag: string, branch: string): string =>
    `${method} sip:+4930123456@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.3:5060;branch=z9hG4bK${branch}\r\n` +
    `From: <sip:caller@192.0.2.3>;tag=c1\r\nTo: <sip:+4930123456@192.0.2.2>${toTag === "" ? "" : `;tag=${toTag}`}\r\n` +
    `Call-ID: offerless-reinvite\r\nCSeq: ${cseq} ${method}\r\nContact: <sip:caller@192.0.2.3:5060>\r\nMax-Forwards: 70\r\n`;
  const withSdp = (text: string, sdp: string): SipRequest =>
    parseRequest(`${text}Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`);
  send(withSdp(head("INVITE", 1, "", "i1"), peerMedia.sdp("sendrecv")));
  await p.clock.run(10);
  const tag = got.find((r) => r.status === 200)?.to.tag ?? "";
  send(parseRequest(`${head("ACK", 1, tag, "a1")}Content-Length: 0\r\n\r\n`));
  await p.clock.run(10);
  send(parseRequest(`${head("INVITE", 2, tag, "i2")}Content-Length: 0\r\n\r\n`));
  await p.clock.run(10);
  const ok = got.find((r) => r.status === 200 && r.cseq.seq === 2);
  t.match(ok?.bodyText, /m=audio 42000/, "the 200 to the offerless re-INVITE carries our offer");
  t.equal(p.b.sessions[0]?.offerAnswer, "HaveLocalOffer");
  send(withSdp(head("ACK", 2, tag, "a2"), peerMedia.sdp("sendrecv")));
  await p.clock.run(10);
  t.same(p.mediaB[0]?.calls, ["processOffer", "getOffer refresh", "setAnswer"]);
  t.equal(p.b.sessions[0]?.offerAnswer, "Stable");
  t.equal(p.b.sessions[0]?.state, SessionState.Confirmed);
  await p.clock.run(5000);
  t.equal(got.filter((r) => r.status === 200 && r.cseq.seq === 2).length, 1, "the ACK stopped the 2xx retransmissions");
});

t.test(
  "in-dialog INFO (dtmf-relay) is answered 200 and surfaced; in-dialog OPTIONS gets Allow/Accept/Supported",
  async (t) => {
    const p = pair();
    const got: SipResponse[] = [];
    const peer = p.net.transport("192.0.2.3", 5060, (m) => {
      if (!(m instanceof SipRequest)) {
        got.push(m as SipResponse);
      }
    });
    const send = (m: SipMessage): void => void peer.send(m, { host: "192.0.2.2", port: 5060, transport: "UDP" });
    const infos: string[] = [];
    p.b.on("incomingCall", (session) => {
      session.on("info", (r) => infos.push(r.bodyText));
      void session.answer();
    });
    const head = (method: string, cseq: number, toTag: string): string =>
      `${method} sip:+4930123456@192.0.2.2:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.3:5060;branch=z9hG4bKinfo${cseq}\r\n` +
      `From: <sip:caller@192.0.2.3>;tag=c1\r\nTo: <sip:+4930123456@192.0.2.2>${toTag === "" ? "" : `;tag=${toTag}`}\r\n` +
      `Call-ID: info-call\r\nCSeq: ${cseq} ${method}\r\nContact: <sip:caller@192.0.2.3:5060>\r\nMax-Forwards: 70\r\n`;
    const sdp = new TestMedia("192.0.2.3").sdp("sendrecv");
    send(
      parseRequest(
        `${head("INVITE", 1, "")}Content-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`,
      ),
    );
    await p.clock.run(10);
    const tag = got.find((r) => r.status === 200)?.to.tag ?? "";
    send(parseRequest(`${head("ACK", 1, tag)}Content-Length: 0\r\n\r\n`));
    const body = "Signal=5\r\nDuration=160\r\n";
    send(
      parseRequest(
        `${head("INFO", 2, tag)}Content-Type: application/dtmf-relay\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      ),
    );
    send(parseRequest(`${head("OPTIONS", 3, tag)}Content-Length: 0\r\n\r\n`));
    await p.clock.run(10);
    t.same(infos, [body]);
    const options = got.find((r) => r.cseq.method === "OPTIONS");
    t.equal(got.find((r) => r.cseq.method === "INFO")?.status, 200);
    t.equal(options?.status, 200);
    t.match(options?.getHeader("Allow"), /UPDATE/);
    t.equal(options?.getHeader("Accept"), "application/sdp");
  },
);

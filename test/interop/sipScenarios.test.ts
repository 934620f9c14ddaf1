/**
 * SIPp scenarios of issue 3 against the real Korus server (dist/, `npm run build` first), beyond those in
 * sipGateway.test.ts:
 * - CANCEL before answer: an application claims the call (Korus rings) but does not answer; SIPp's CANCEL gets 200
 *   and the INVITE 487, the SipEndpoint reports TERMINATED and the CDR says CANCELLED;
 * - session-timer refresh: SIPp (refresher=uac, Session-Expires 90) calls the echo extension; Korus's 200 carries
 *   Session-Expires with refresher=uac and Require: timer (SIPp checks both), SIPp refreshes by re-INVITE, Korus
 *   answers it, and the call ends with SIPp's BYE;
 * - a late ACK (test/fixtures/sipp/uac_late_ack.xml): Korus retransmits its 200 over UDP until the ACK arrives;
 * - odd but valid carrier SIP: an offerless INVITE and a codec-changing re-INVITE (from Korus's own stack acting as
 *   the carrier), and a 183 with SDP never followed by a 200 (SIPp uas_183_only.xml).
 * The scenarios name only 127.0.0.1; ports come from a reserved slot; children are killed on every path.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import type { MediaHandler } from "../../sip/index.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus, type KorusProcess } from "../helpers/server.js";
import { interopSlot } from "../helpers/slot.js";
import { ended, localUa } from "../helpers/sipUa.js";
import { exportCdrs, runSipp, type SippResult } from "../helpers/sipp.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const { children, port } = await interopSlot(t, "sipscen");
/** A block for SIPp's media sockets (audio RTP/RTCP, video RTP/RTCP), so parallel tests never share SIPp's 6000. */
const mediaPorts = (): number => port(4);

const sipp = (args: string[]): Promise<SippResult> => runSipp(args, { children });

const cdrDisposition = (k: KorusProcess, callId: string): string | undefined =>
  exportCdrs<{ callId: string | null; disposition: string }>(join(k.dataDir, "data")).find((c) => c.callId === callId)
    ?.disposition;

const sipPort = port();
const k = await startKorus(undefined, {
  workers: 1,
  config: { sip: { port: sipPort, claimTimeoutMs: 5000, dialplan: [{ to: "^sips?:echo@", action: "echo" }] } },
});
t.teardown(() => k.stop());

t.test("SIPp CANCEL before answer: 200 for the CANCEL, 487 for the INVITE, TERMINATED, CANCELLED CDR", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  const caller = sipp([
    "-sf",
    join(FIXTURES, "uac_cancel.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "4930777",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-mi",
    "127.0.0.1",
    "-mp",
    String(mediaPorts()),
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  const ev = await app.event((m) => (m.params?.["value"] as { type?: string } | undefined)?.type === "IncomingCall");
  const callId = String((ev.params?.["value"] as { data: Record<string, unknown> }).data["callId"]);
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const ep = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline, callId } }),
  );
  await app.value("subscribe", { object: ep, type: "CallStateChanged" });
  // Claimed, so Korus rings (180); nobody answers, and SIPp cancels. SIPp cancels as soon as it sees the 180, which
  // can be before the subscription above reached the server: as with any Kurento event, one fired before the
  // subscription is not replayed, so the state is read after subscribing (what the README tells applications to do).
  const r = await caller;
  t.equal(r.code, 0, "SIPp saw 180, then 200 (CANCEL) and 487 (INVITE), and ACKed");
  const callState = async (): Promise<unknown> => app.value("invoke", { object: ep, operation: "getCallState" });
  if ((await callState()) !== "TERMINATED") {
    await app.event((m: RpcMessage) => {
      const v = m.params?.["value"] as { object?: string; type?: string; data?: { state?: string } } | undefined;
      return v?.object === ep && v.type === "CallStateChanged" && v.data?.state === "TERMINATED";
    });
  }
  t.equal(await callState(), "TERMINATED");
  let disposition: string | undefined;
  for (let i = 0; i < 50 && disposition === undefined; i++) {
    disposition = cdrDisposition(k, callId);
    await new Promise((res) => setTimeout(res, 200));
  }
  t.equal(disposition, "CANCELLED", "the CDR says CANCELLED");
});

t.test("SIPp session-timer refresh (refresher=uac) against the echo extension", async (t) => {
  const r = await sipp([
    "-sf",
    join(FIXTURES, "uac_session_timer.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "echo",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-mi",
    "127.0.0.1",
    "-mp",
    String(mediaPorts()),
    "-d",
    "1500",
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  t.equal(r.code, 0, "Session-Expires/refresher and Require: timer checked by SIPp; the refresh re-INVITE answered");
});

t.test("SIPp acknowledges late: Korus retransmits its 200 over UDP until the ACK", async (t) => {
  const r = await sipp([
    "-sf",
    join(FIXTURES, "uac_late_ack.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "echo",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-mi",
    "127.0.0.1",
    "-mp",
    String(mediaPorts()),
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  t.equal(r.code, 0, "the call completes");
  // The statistics row of the first 200: "200 <----------  E-RTD1 1  <retrans> …".
  const row = /^\s*200 <-+\s+(?:E-RTD\d\s+)?(\d+)\s+(\d+)/m.exec(r.output);
  t.ok(row !== null, "SIPp printed the 200 row");
  t.ok(Number(row?.[2] ?? 0) >= 1, `the 200 was retransmitted while the ACK was missing (${row?.[2] ?? "?"} times)`);
});

// ------------------------------------------------------------------------------------------ odd but valid carrier SIP

const sdpFor = (rtpPort: number, pt: number, name: string, version: number): string =>
  `v=0\r\no=carrier 1 ${version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
  `m=audio ${rtpPort} RTP/AVP ${pt}\r\na=rtpmap:${pt} ${name}/8000\r\na=sendrecv\r\n`;

t.test("an offerless INVITE and a re-INVITE that changes the codec, at the echo extension", async (t) => {
  const { ua, close } = await localUa(port());
  t.teardown(close);
  const rtpPort = port();
  const offers: string[] = [];
  let codec = { pt: 8, name: "PCMA" };
  let version = 1;
  const media: MediaHandler = {
    getOffer: () => sdpFor(rtpPort, codec.pt, codec.name, version++),
    setAnswer: (sdp) => void offers.push(sdp),
    processOffer: (sdp) => {
      offers.push(sdp);
      return sdpFor(rtpPort, codec.pt, codec.name, version++);
    },
    close: () => undefined,
  };
  const call = ua.call(`sip:echo@127.0.0.1:${sipPort}`, { from: "sip:carrier@127.0.0.1", media, offerless: true });
  await new Promise<void>((resolve, reject) => {
    call.on("answered", resolve);
    call.on("terminated", (i) => reject(new Error(`call ended with ${i.status}`)));
  });
  t.match(offers[0], /^m=audio \d+ RTP\/AVP/m, "Korus offered in its 200; our answer went in the ACK");
  await new Promise((r) => setTimeout(r, 300));
  codec = { pt: 0, name: "PCMU" };
  await call.reinvite();
  const answer = offers.at(-1) ?? "";
  t.match(answer, /^m=audio [1-9]\d* RTP\/AVP 0\b/m, "the re-INVITE moving to PCMU is accepted with PCMU");
  t.match(answer, /a=rtpmap:0 PCMU\/8000/);
  call.hangup();
  t.equal((await ended(call)).status, 200, "the call was answered and ended normally");
});

t.test("an outbound call that gets 183 with SDP and never 200 ends at the ring timeout", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const uasPort = port();
  const uas = sipp([
    "-sf",
    join(FIXTURES, "uas_183_only.xml"),
    "-i",
    "127.0.0.1",
    "-p",
    String(uasPort),
    "-mi",
    "127.0.0.1",
    "-mp",
    String(mediaPorts()),
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const ep = String(await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }));
  await app.value("subscribe", { object: ep, type: "CallStateChanged" });
  await app.value("invoke", {
    object: ep,
    operation: "call",
    operationParams: { uri: `sip:4930999@127.0.0.1:${uasPort}`, options: { ringTimeoutMs: 2000 } },
  });
  const state = (m: RpcMessage): { state?: string; sipStatus?: number } | undefined => {
    const v = m.params?.["value"] as { object?: string; type?: string; data?: { state?: string } } | undefined;
    return v?.object === ep && v.type === "CallStateChanged" ? v.data : undefined;
  };
  await app.event((m) => state(m)?.state === "TERMINATED");
  const states = app.events.map(state).filter((s) => s !== undefined);
  t.ok(
    states.some((s) => s.state === "EARLY_MEDIA"),
    `early media announced (${states.map((s) => s.state).join(" → ")})`,
  );
  t.notOk(
    states.some((s) => s.state === "CONNECTED"),
    "never CONNECTED",
  );
  t.equal((await uas).code, 0, "SIPp saw the CANCEL, answered 200 and 487, got the ACK");
});

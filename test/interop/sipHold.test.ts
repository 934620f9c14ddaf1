/**
 * SipEndpoint.hold() and resume() (issue 15 §2) through JSON-RPC against the real server (dist/, `npm run build`
 * first) and SIPp:
 * - SIPp (test/fixtures/sipp/uas_hold_resume_tone.xml) answers an outbound call, receives Korus's hold re-INVITE and
 *   checks a=sendonly, answers recvonly, receives the resume re-INVITE and checks a=sendrecv, then sends a 440 Hz
 *   PCMA tone; the pipeline's other side (an RtpEndpoint towards this process) hears 440 Hz after the resume;
 * - HoldStateChanged reports {local: true, remote: false}, then {local: false, remote: false};
 * - hold() on a call that is not connected is refused with a Kurento error.
 * The scenario names only 127.0.0.1; ports come from a reserved slot; children are killed on every path.
 */
import { createSocket } from "node:dgram";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import t from "tap";
import { decodeG711, PCMA_TABLES } from "../../media/codecs/index.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { interopSlot } from "../helpers/slot.js";
import { runSipp } from "../helpers/sipp.js";
import { measureFrequency } from "../helpers/tone.js";
import { writeTonePcap } from "../helpers/tonePcap.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const { children, port, work } = await interopSlot(t, "siphold");

const sipPort = port();
const k = await startKorus(undefined, { workers: 1, config: { sip: { port: sipPort } } });
t.teardown(() => k.stop());

const pcap = join(work, "tone440.pcap");
writeTonePcap(pcap, 440, 3);
const scenario = join(work, "uas_hold_resume_tone.xml");
writeFileSync(
  scenario,
  readFileSync(join(FIXTURES, "uas_hold_resume_tone.xml"), "utf8").replace(
    'play_pcap_audio="pcap/g711a.pcap"',
    `play_pcap_audio="${pcap}"`,
  ),
);

function pcmaSdp(rtpPort: number): string {
  return (
    `v=0\r\no=tester 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${rtpPort} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\na=sendrecv\r\n`
  );
}

interface Ev {
  readonly object?: string;
  readonly type?: string;
  readonly data?: { state?: string; local?: boolean; remote?: boolean };
}
const ev = (m: RpcMessage): Ev | undefined => m.params?.["value"] as Ev | undefined;

/** SIPp as the called UAS on a port of its own, running `scenarioFile` for one call. */
function startUas(scenarioFile: string): { uas: ReturnType<typeof runSipp>; uasPort: number } {
  const uasPort = port();
  const uas = runSipp(
    [
      ...["-sf", scenarioFile, "-i", "127.0.0.1", "-p", String(uasPort)],
      ...["-mi", "127.0.0.1", "-mp", String(port(4)), "-m", "1", "-timeout", "40s"],
    ],
    { children, limitMs: 45_000 },
  );
  return { uas, uasPort };
}

t.test("hold() and resume() by re-INVITE: SIPp checks sendonly then sendrecv; 440 Hz heard after resume", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const { uas, uasPort } = startUas(scenario);
  await sleep(300);
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const sipEp = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  const rtpEp = String(
    await app.value("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  await app.value("subscribe", { object: sipEp, type: "CallStateChanged" });
  await app.value("subscribe", { object: sipEp, type: "HoldStateChanged" });
  await app.value("invoke", { object: sipEp, operation: "connect", operationParams: { sink: rtpEp } });

  const early = await app.call("invoke", { object: sipEp, operation: "hold" });
  t.equal(early.error?.code, 40107, `hold() before a call is refused (${early.error?.message ?? "no error"})`);

  // This process hears the pipeline through the RtpEndpoint.
  const socket = createSocket("udp4");
  t.teardown(() => socket.close());
  const rtpPort = port(2);
  await new Promise<void>((resolve) => socket.bind(rtpPort, "127.0.0.1", resolve));
  const heard: { at: number; payload: Buffer }[] = [];
  socket.on("message", (m) => {
    if (m.length > 12 && ((m[1] ?? 0) & 0x7f) === 8) {
      heard.push({ at: Date.now(), payload: m.subarray(12) });
    }
  });
  await app.value("invoke", { object: rtpEp, operation: "processOffer", operationParams: { offer: pcmaSdp(rtpPort) } });

  await app.value("invoke", {
    object: sipEp,
    operation: "call",
    operationParams: {
      uri: `sip:4930123@127.0.0.1:${uasPort}`,
      options: { __module__: "korus", __type__: "CallOptions", from: "sip:app@127.0.0.1" },
    },
  });
  await app
    .event((m) => ev(m)?.object === sipEp && ev(m)?.data?.state === "CONNECTED")
    .catch(async (err: unknown) => {
      await app.value("invoke", { object: sipEp, operation: "hangup" }).catch(() => undefined);
      throw new Error(`${String(err)}\nSIPp: ${(await uas).output.slice(-1500)}`);
    });
  const holdEvent = (local: boolean) => (m: RpcMessage) =>
    ev(m)?.object === sipEp && ev(m)?.type === "HoldStateChanged" && ev(m)?.data?.local === local;

  await app.value("invoke", { object: sipEp, operation: "hold" });
  const held = ev(await app.event(holdEvent(true)));
  t.same({ local: held?.data?.local, remote: held?.data?.remote }, { local: true, remote: false }, "held");

  await app.value("invoke", { object: sipEp, operation: "resume" });
  const resumed = ev(await app.event(holdEvent(false)));
  t.same({ local: resumed?.data?.local, remote: resumed?.data?.remote }, { local: false, remote: false }, "resumed");
  const resumedAt = Date.now();

  // SIPp sends 3 s of 440 Hz once the resume is acknowledged.
  await sleep(2500);
  const after = heard.filter((h) => h.at >= resumedAt).map((h) => h.payload);
  t.ok(after.length >= 50, `${after.length} packets reached this process after the resume`);
  const pcm = new Int16Array(after.length * 160);
  after.forEach((p, i) => decodeG711(PCMA_TABLES, p, pcm.subarray(i * 160, (i + 1) * 160)));
  const f = measureFrequency(pcm.subarray(Math.min(pcm.length, 8000 * 0.5)), 8000);
  t.ok(Math.abs(f - 440) < 10, `the other side hears SIPp's tone after the resume (${f.toFixed(1)} Hz)`);

  await app.value("invoke", { object: sipEp, operation: "hangup" });
  const r = await uas;
  t.equal(
    r.code,
    0,
    `SIPp: sendonly hold offer, sendrecv resume offer, BYE (${r.code === 0 ? "" : r.output.slice(-600)})`,
  );
});

t.test(
  "glare: SIPp's re-INVITE crosses our hold → 491 both ways, the hold is retried after the back-off",
  async (t) => {
    const app = await RpcClient.open(k.url);
    t.teardown(() => app.close());
    const { uas, uasPort } = startUas(join(FIXTURES, "uas_hold_glare.xml"));
    await sleep(300);
    const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
    t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
    const sipEp = String(
      await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }),
    );
    await app.value("subscribe", { object: sipEp, type: "CallStateChanged" });
    await app.value("subscribe", { object: sipEp, type: "HoldStateChanged" });
    await app.value("invoke", {
      object: sipEp,
      operation: "call",
      operationParams: {
        uri: `sip:4930123@127.0.0.1:${uasPort}`,
        options: { __module__: "korus", __type__: "CallOptions", from: "sip:app@127.0.0.1" },
      },
    });
    await app.event((m) => ev(m)?.object === sipEp && ev(m)?.data?.state === "CONNECTED");
    const asked = Date.now();
    await app.value("invoke", { object: sipEp, operation: "hold" });
    const held = ev(
      await app.event(
        (m) => ev(m)?.object === sipEp && ev(m)?.type === "HoldStateChanged" && ev(m)?.data?.local === true,
      ),
    );
    const waited = Date.now() - asked;
    t.same({ local: held?.data?.local, remote: held?.data?.remote }, { local: true, remote: false }, "held in the end");
    t.ok(waited >= 2000, `the hold was retried after the back-off (${waited} ms)`);
    const states = app.events.filter((m) => ev(m)?.type === "CallStateChanged").map((m) => ev(m)?.data?.state);
    t.notOk(states.includes("TERMINATED"), "the glare did not end the call");
    await app.value("invoke", { object: sipEp, operation: "hangup" });
    const r = await uas;
    t.equal(
      r.code,
      0,
      `SIPp: our re-INVITE got 491, Korus's hold retried sendonly, BYE (${r.code === 0 ? "" : r.output.slice(-800)})`,
    );
  },
);

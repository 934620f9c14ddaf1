/**
 * Issue 9 defect 9: SIP from a trunk address was not flat under load. At the real server (dist/), in a loopback-only
 * namespace, a trunk on 127.0.0.2 floods 20 000 mutated INVITEs (broken headers, broken SDP, truncations, garbage)
 * within a few seconds:
 * - the server's RSS stays bounded;
 * - admission follows capacity: 503 with Retry-After appears while the event loop lags;
 * - no FAILED CDR is written for the garbage (malformed requests are counted in /health `sip.stats.malformed`);
 * - a real call placed afterwards is answered and its RTP echoed byte for byte.
 */
import "../helpers/loopbackNamespace.js";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { join } from "node:path";
import t from "tap";
import { rssKiB } from "../../bench/lib/proc.js";
import { freeTcpPort, reserveRtpRange } from "../helpers/ports.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { echoCall, rawRequest, sleep, uaAt } from "./sipPeer.js";

t.setTimeout(90_000);

const TRUNK = "127.0.0.2";
const FLOOD = 20_000;

/** xorshift32: the same mutations on every run. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

const SDP_MUTATIONS = [
  (s: string) => s.replace("m=audio 4000 RTP/AVP 8", "m=audio 4000 RTP/AVP"),
  (s: string) => s.replace("m=audio 4000", "m=audio 99999"),
  (s: string) => s.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:8 \u0000\u00ff/x"),
  (s: string) => s.replace("m=audio 4000 RTP/AVP 8", "m=video 4000 RTP/AVP 96"),
  (s: string) => s.replace("c=IN IP4 127.0.0.2", "c=IN IP4 999.1.2.3"),
  (s: string) => s.replace("RTP/AVP 8", "RTP/AVP 8 8 8 8 8 8 8 8 8"),
  (s: string) => s.replace("v=0", "v=9"),
  (s: string) => s.slice(0, Math.floor(s.length / 2)),
];

/** One mutated INVITE from the trunk (unique Call-ID and branch). */
function mutated(i: number, rnd: () => number, sipPort: number): Buffer {
  let sdp =
    `v=0\r\no=t ${i} 1 IN IP4 ${TRUNK}\r\ns=-\r\nc=IN IP4 ${TRUNK}\r\nt=0 0\r\n` +
    "m=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n";
  sdp = SDP_MUTATIONS[Math.floor(rnd() * SDP_MUTATIONS.length)]?.(sdp) ?? sdp;
  const headers = [
    `Via: SIP/2.0/UDP ${TRUNK}:5070;branch=z9hG4bK-fl${i};rport`,
    "Max-Forwards: 70",
    `From: <sip:fuzz@${TRUNK}>;tag=f${i}`,
    `To: <sip:echo@127.0.0.1:${sipPort}>`,
    `Call-ID: flood-${i}@${TRUNK}`,
    "CSeq: 1 INVITE",
    `Contact: <sip:fuzz@${TRUNK}:5070>`,
    "Content-Type: application/sdp",
  ];
  let text = rawRequest("INVITE", `sip:echo@127.0.0.1:${sipPort}`, headers, sdp);
  const r = rnd();
  if (r < 0.25) {
    // Flip bytes anywhere.
    const b = Buffer.from(text, "latin1");
    for (let n = 0; n < 4; n++) {
      b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    }
    return b;
  }
  if (r < 0.35) {
    text = text.slice(0, Math.floor(rnd() * text.length));
  } else if (r < 0.45) {
    text = text.replace("CSeq: 1 INVITE", "CSeq: x INVITE");
  }
  return Buffer.from(text, "latin1");
}

t.test("a flood of mutated INVITEs from a trunk address", async (t) => {
  const sipPort = await freeTcpPort();
  const k = await startKorus(undefined, {
    workers: 1,
    config: {
      sip: {
        port: sipPort,
        trunks: [{ name: "carrier", peers: [TRUNK], auth: "ip", optionsIntervalS: 0 }],
        overloadLagMs: 50,
      },
    },
  });
  t.teardown(() => k.stop());
  await sleep(500);
  const baseline = rssKiB(k.pid);

  const flooder = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  await new Promise<void>((r) => flooder.bind(5070, TRUNK, () => r()));
  t.teardown(() => flooder.close());
  const statuses = new Map<number, number>();
  /** Final answers per flood Call-ID (the last one wins; 1xx are not final). */
  const finalOf = new Map<string, number>();
  let retryAfter503 = 0;
  flooder.on("message", (m) => {
    const text = m.toString("latin1");
    const status = Number(text.slice(8, 11));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    // Keyed by the `flood-<n>` prefix: a mutation may have changed the rest of the Call-ID (its `@` too), and the CDR
    // stores the Call-ID as Korus decoded it.
    const callId = /\r\n(?:Call-ID|i): *(flood-\d+)/i.exec(text)?.[1];
    if (callId !== undefined && status >= 200) {
      // A 503 for want of an RTP port (Q.850 cause 34) is a failed call attempt; an overload 503 sheds garbage.
      finalOf.set(callId, status === 503 && /\r\nReason: *Q\.850;cause=34/i.test(text) ? 534 : status);
    }
    if (status === 503 && /\r\nRetry-After: *\d+/i.test(text)) {
      retryAfter503++;
    }
  });

  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKiB(k.pid));
  }, 100);
  t.teardown(() => clearInterval(sampler));
  const rnd = prng(0x9e3779b9);
  const started = Date.now();
  for (let i = 0; i < FLOOD; i++) {
    flooder.send(mutated(i, rnd, sipPort), sipPort, "127.0.0.1");
    if (i % 250 === 249) {
      await sleep(10);
    }
  }
  const floodMs = Date.now() - started;
  await sleep(3000);
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(k.pid));
  const summary = [...statuses].map(([s, n]) => `${s}×${n}`).join(" ");
  t.comment(`flood of ${FLOOD} in ${floodMs} ms; answers ${summary}; RSS ${baseline} → peak ${peak} kB`);

  t.ok(peak - baseline < 150 * 1024, `RSS grew by ${Math.round((peak - baseline) / 1024)} MB (< 150 MB)`);
  t.ok(retryAfter503 > 0, `503 with Retry-After under overload (${retryAfter503})`);

  const health = (await (await fetch(`${k.httpUrl}/health`)).json()) as {
    sip?: { stats?: { malformed?: number; overloadRejected?: number } };
  };
  t.ok((health.sip?.stats?.malformed ?? 0) > 0, `malformed requests are counted (${health.sip?.stats?.malformed})`);

  // A real call afterwards (the overload has passed once the lag is back under the threshold).
  const rtp = await reserveRtpRange();
  t.teardown(() => rtp.release());
  const { ua, close } = await uaAt(TRUNK, await freeTcpPort());
  t.teardown(close);
  let call = await echoCall(ua, TRUNK, sipPort, rtp.min);
  // Until the overload has passed (503), and until the flood's answered but never ACKed calls have timed out (Timer
  // H, 32 s) and given their RTP ports back (488 while this server's 200-port test range is used up).
  for (let n = 0; n < 45 && (call.status === 503 || call.status === 488); n++) {
    await sleep(1000);
    call = await echoCall(ua, TRUNK, sipPort, rtp.min);
  }
  t.ok(call.answered, `a real call after the flood is answered (status ${call.status})`);
  t.ok(call.echoed >= 1, `and its RTP is echoed byte for byte (${call.echoed})`);

  // Every flood call ends: those answered but never ACKed by the ACK timeout (64·T1 = 32 s after their 2xx).
  let pipelines = -1;
  for (let n = 0; n < 60 && pipelines !== 0; n++) {
    await sleep(1000);
    pipelines = ((await (await fetch(`${k.httpUrl}/health`)).json()) as { pipelines: number }).pipelines;
  }
  t.equal(pipelines, 0, "every flood call has ended and released its pipeline");
  await sleep(1000);
  const dataDir = join(k.dataDir, "data");
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
    { encoding: "utf8", timeout: 20_000 },
  );
  const cdrs = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(
      (l) =>
        JSON.parse(l) as { callId: string | null; disposition: string; sipStatus: number | null; endReason: string },
    );
  const flood = cdrs.filter((c) => c.callId?.startsWith("flood-") === true);
  const floodKey = (callId: string | null): string => /^flood-\d+/.exec(callId ?? "")?.[0] ?? "";
  const byDisposition = new Map<string, number>();
  for (const c of flood) {
    const key = `${c.disposition}/${c.sipStatus}`;
    byDisposition.set(key, (byDisposition.get(key) ?? 0) + 1);
  }
  t.comment(`flood CDRs: ${[...byDisposition].map(([d, n]) => `${d}×${n}`).join(" ") || "none"}`);
  // Garbage (answered 400, or shed with 503, or never answered) is no call and writes no CDR. A mutation that left a
  // well-formed INVITE whose offer cannot be served (488, e.g. a flipped codec name) is a failed call attempt that a
  // carrier wants on its records: it keeps its FAILED CDR.
  const garbage = flood.filter((c) => {
    const answered = finalOf.get(floodKey(c.callId));
    return answered === undefined || answered === 400 || answered === 503;
  });
  t.same(
    garbage.map((c) => `${c.callId}/${c.sipStatus}`),
    [],
    "no CDR for a request answered 400, shed with 503 or not answered",
  );
  // A well-formed flood INVITE that Korus answered is a failed attempt too: the flood never ACKs, so the call ends by
  // the ACK timeout (RFC 3261 §13.3.1.4), unbilled: NO ANSWER, 408, end reason no-ack.
  const attempt = (c: (typeof flood)[number]): boolean =>
    c.sipStatus === 488 ||
    (c.sipStatus === 503 && finalOf.get(floodKey(c.callId)) === 534) ||
    (c.sipStatus === 408 && c.endReason === "no-ack" && c.disposition === "NO ANSWER");
  t.equal(flood.filter((c) => c.disposition === "ANSWERED").length, 0, "no flood call is billed: none was ACKed");
  t.same(
    flood.filter((c) => !attempt(c)).map((c) => `${c.callId}/${c.disposition}/${c.sipStatus}/${c.endReason}`),
    [],
    "the flood's only CDRs are failed attempts with a well-formed INVITE (488; 503 for want of an RTP port; no ACK)",
  );
});

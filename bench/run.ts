/**
 * `npm run bench`: Korus's benchmarks. Every figure is reported next to a baseline measured in the same run
 * (performance.md §1), because these machines are shared and noisy:
 *
 * 1. Control plane: pipelines per second (create pipeline + two WebRtcEndpoints + connect + release), memory per
 *    idle pipeline and per endpoint, and the hello-world set-up latency (create pipeline + endpoint + processOffer +
 *    connect), next to a bare WebSocket echo round trip.
 * 2. WebRTC forwarding: server CPU µs per forwarded SRTP packet (peer A → Korus → peer B), next to the CPU µs per
 *    packet of a bare Node UDP echo process fed at the same rate.
 * 3. Worker spread: eight forwarding pipelines placed over the two media workers, driven at rising packet rates;
 *    each worker's event-loop utilisation and the server's CPU (in % of one core: above 100 % means both cores
 *    work), with the share of packets delivered.
 *
 * 4. SIP parser throughput (bench/sipParser.ts) next to JSON.parse of the same content, on one core.
 * 5. Raw codec cost per 20 ms frame (bench/codecs.ts), the baseline of the transcoding figures; in-band DTMF
 *    detection and tone generation per 20 ms frame next to a PCMU decode of the same frame (bench/dtmfTones.ts).
 * 5b. Video codecs (bench/video.ts): CPU per frame to encode and decode VP8/VP9/H.264 at 480p and 720p next to the
 *    ffmpeg CLI with the same settings, and the lateness of an audio tick while 720p transcodes (issue 12 §1).
 * 6. Transcoded calls (bench/transcode.ts): CPU per bridged PCMU↔Opus and AMR-WB↔Opus call next to the raw codec
 *    cost, calls per core without late or dropped packets, added latency per hop.
 * 7. SIP call rate (bench/sipCalls.ts): SIPp at 300 calls/s for 60 s against Korus's UserAgent (answer, BYE),
 *    failed calls and retransmissions, CPU per call next to a SIPp UAS doing the same in the same run.
 * 8. Gateway (bench/gateway.ts): SIPp PCMA calls bridged to Opus peers through SipEndpoint ↔ RtpEndpoint at 25, 50
 *    and 100 concurrent calls: CPU per bridged call (compare with the PCMU/PCMA + Opus 8k codec rows of step 5),
 *    failed calls, lost and late packets, setup rate, and CDRs against calls placed.
 *
 * 9. Korus measured from outside (bench/outside/run.ts, issue 17 §1): one external C generator drives Korus
 *    (`media.workers: 1`), a bare Node UDP echo and, when installed, rtpengine-daemon with spread flows and real
 *    payloads: forwarding, fan-out and PCMU↔Opus CPU per core with latency percentiles, in one table
 *    (BENCH_OUTSIDE_ROUNDS, default 2; BENCH_OUTSIDE_SECONDS, default 4). docs/benchmarks.md.
 * 10. Recording from outside (bench/outside/recording.ts, issue 11): recording against forwarding the same streams
 *    (Opus, G.711 → Opus, VP8), and a ramp of concurrent audio recordings per core with memory and write calls.
 * 11. Voice bots from outside (bench/outside/voicebot.ts, issue 14): PCMU callers ⇄ WebSocketEndpoint (twilio) ⇄ an
 *    echo bot process; latency each way, CPU per stream and streams per core, beside the raw PCMU codec cost.
 * 12. Conference bridges from outside (bench/outside/conference.ts, issue 19): one Composite of 10/30/60 RTP
 *    participants, G.711 and Opus, all / 2 / none talking: CPU per participant and mix packets lost.
 *
 * The server runs as a child process (the built dist/), so its CPU is read from /proc without the load
 * generator's; the peers are werift RTCPeerConnections on 127.0.0.1 in this process. For the load runs the peers
 * send and receive through Korus's own FastRtpPath on their DTLS-SRTP keys, so that the load generator is cheap
 * enough to leave the server most of the machine.
 */
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { WebSocketServer } from "ws";
import { run as runCodecs } from "./codecs.js";
import { run as runDtmfTones } from "./dtmfTones.js";
import {
  attach,
  connectedPair,
  cpuUs,
  helloWorldSetups,
  median,
  Peer,
  pct,
  rssKiB,
  sleep,
  startServer,
} from "./lib/korus.js";
import { RpcClient } from "./lib/RpcClient.js";
import { run as runGateway } from "./gateway.js";
import { run as runSipCalls } from "./sipCalls.js";
import { run as runSipParser } from "./sipParser.js";
import { run as runTranscode } from "./transcode.js";
import { run as runVideo } from "./video.js";
import { runOutside } from "./outside/run.js";
import { runRecording } from "./outside/recording.js";
import { runVoicebot } from "./outside/voicebot.js";
import { runConference } from "./outside/conference.js";

async function wsEchoRttMs(rounds: number): Promise<number> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  wss.on("connection", (ws) => ws.on("message", (d) => ws.send(Buffer.isBuffer(d) ? d.toString("utf8") : "")));
  await new Promise((r) => wss.once("listening", r));
  const addr = wss.address() as { port: number };
  const c = await RpcClient.open(`ws://127.0.0.1:${addr.port}/`);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    await c.call("create", { type: "MediaPipeline", sessionId: "00000000-0000-0000-0000-000000000000" }, i);
    times.push(performance.now() - t0);
  }
  await c.close();
  wss.close();
  return median(times);
}

/** CPU µs per datagram of a bare Node UDP echo process, fed `pps` 172-byte datagrams for `seconds`. */
async function udpEchoUsPerPacket(pps: number, seconds: number): Promise<number> {
  const code = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send(m,r.port,r.address));s.bind(0,'127.0.0.1',()=>process.send(s.address().port));`;
  const echo = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const port = await new Promise<number>((r) => echo.once("message", (p) => r(p as number)));
  const sock = dgram.createSocket("udp4");
  let got = 0;
  sock.on("message", () => got++);
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const buf = Buffer.alloc(172, 0x80);
  const perTick = Math.max(1, Math.round(pps / 100));
  const cpu0 = cpuUs(echo.pid ?? 0);
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      sock.send(buf, port, "127.0.0.1");
    }
  }, 10);
  await sleep(seconds * 1000);
  clearInterval(timer);
  await sleep(200);
  const cpu = cpuUs(echo.pid ?? 0) - cpu0;
  echo.kill();
  sock.close();
  return cpu / Math.max(1, got);
}

async function main(): Promise<void> {
  const results: [string, string][] = [];
  const out = (k: string, v: string): void => {
    results.push([k, v]);
    console.log(`${k}: ${v}`);
  };
  const server = await startServer();
  const pid = server.proc.pid ?? 0;
  const rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
  try {
    // ---------------------------------------------------------------- control plane
    const echoMs = await wsEchoRttMs(200);
    out("baseline: bare WebSocket echo round trip (median)", `${echoMs.toFixed(3)} ms`);
    const iterations = 100;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      const p = (await rpc.value("create", { type: "MediaPipeline" })) as string;
      const a = (await rpc.value("create", {
        type: "WebRtcEndpoint",
        constructorParams: { mediaPipeline: p },
      })) as string;
      const b = (await rpc.value("create", {
        type: "WebRtcEndpoint",
        constructorParams: { mediaPipeline: p },
      })) as string;
      await rpc.value("invoke", { object: a, operation: "connect", operationParams: { sink: b } });
      await rpc.value("release", { object: p });
    }
    const perSec = iterations / ((performance.now() - t0) / 1000);
    const cycleMs = 1000 / perSec;
    out(
      "control plane: pipelines/s (create + 2 WebRtcEndpoint + connect + release)",
      `${perSec.toFixed(1)} (${cycleMs.toFixed(2)} ms per cycle = ${(cycleMs / (5 * echoMs)).toFixed(1)}x five WS echo round trips)`,
    );

    await sleep(500);
    const rss0 = rssKiB(pid);
    const pipelines: string[] = [];
    for (let i = 0; i < 200; i++) {
      pipelines.push((await rpc.value("create", { type: "MediaPipeline" })) as string);
    }
    await sleep(500);
    const rss1 = rssKiB(pid);
    for (const p of pipelines) {
      await rpc.value("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: p } });
    }
    await sleep(500);
    const rss2 = rssKiB(pid);
    out("memory per idle pipeline", `${((rss1 - rss0) / 200).toFixed(1)} KiB`);
    out("memory per idle WebRtcEndpoint", `${((rss2 - rss1) / 200).toFixed(1)} KiB`);
    for (const p of pipelines) {
      await rpc.value("release", { object: p });
    }

    const setup = await helloWorldSetups(rpc, 30);
    out(
      "hello-world set-up (pipeline + endpoint + processOffer + connect)",
      `median ${median(setup).toFixed(1)} ms, p90 ${pct(setup, 90).toFixed(1)} ms (target: median < 50 ms; ${(median(setup) / echoMs).toFixed(0)}x a WS echo round trip)`,
    );

    // ---------------------------------------------------------------- forwarding
    const pps = 2000;
    const seconds = 8;
    const echoUs = await udpEchoUsPerPacket(pps, seconds);
    out("baseline: bare Node UDP echo", `${echoUs.toFixed(1)} us CPU per packet (receive + send) at ${pps} pps`);

    const pl = (await rpc.value("create", { type: "MediaPipeline" })) as string;
    const a = new Peer();
    const b = new Peer();
    const epA = await attach(rpc, pl, a);
    const epB = await attach(rpc, pl, b);
    await rpc.value("invoke", {
      object: epA,
      operation: "connect",
      operationParams: { sink: epB, mediaType: "AUDIO" },
    });
    a.send(pps);
    await sleep(1000);
    const c0 = cpuUs(pid);
    const r0 = b.received;
    await sleep(seconds * 1000);
    const cpu = cpuUs(pid) - c0;
    const fwd = b.received - r0;
    a.stop();
    const fwdUs = cpu / Math.max(1, fwd);
    out(
      "WebRTC forwarding (SRTP in → rewrite → SRTP out)",
      `${fwdUs.toFixed(1)} us server CPU per forwarded packet, ${fwd} packets in ${seconds} s (${((fwd / (pps * seconds)) * 100).toFixed(1)}% delivered); ratio to UDP echo ${(fwdUs / echoUs).toFixed(2)}x (target <= 3x)`,
    );

    for (const p of [a, b]) {
      await p.close();
    }
    await rpc.value("release", { object: pl });

    // ---------------------------------------------------------------- worker spread
    // Eight pipelines, each peer A → Korus → peer B (audio); the pool spreads them over the two workers.
    const pairs: { pipeline: string; tx: Peer; rx: Peer }[] = [];
    for (let i = 0; i < 8; i++) {
      const pipeline = (await rpc.value("create", { type: "MediaPipeline" })) as string;
      pairs.push({ pipeline, ...(await connectedPair(rpc, pipeline)) });
    }
    const workersNow = async (): Promise<{ index: number; pipelines: number; load: { elu: number } }[]> =>
      (
        (await (await fetch(`http://127.0.0.1:${server.port}/admin/workers`)).json()) as {
          workers: { index: number; pipelines: number; load: { elu: number } }[];
        }
      ).workers;
    for (const total of [8000, 16000, 32000]) {
      for (const p of pairs) {
        p.tx.sendFast(total / pairs.length);
      }
      await sleep(1500);
      const got0 = pairs.reduce((n, p) => n + p.rx.received, 0);
      const sent0 = pairs.reduce((n, p) => n + p.tx.sent, 0);
      const cpu0 = cpuUs(pid);
      const start = performance.now();
      await sleep(5000);
      const used = cpuUs(pid) - cpu0;
      const elapsedUs = (performance.now() - start) * 1000;
      const got = pairs.reduce((n, p) => n + p.rx.received, 0) - got0;
      const sent = pairs.reduce((n, p) => n + p.tx.sent, 0) - sent0;
      const ws = await workersNow();
      for (const p of pairs) {
        p.tx.stop();
      }
      out(
        `worker spread, ${total} pps asked over 8 pipelines`,
        [
          `server CPU ${((used / elapsedUs) * 100).toFixed(0)}% of one core`,
          `(${(used / Math.max(1, got)).toFixed(1)} us per forwarded packet),`,
          `${((sent / elapsedUs) * 1e6).toFixed(0)} pps offered, ${((got / Math.max(1, sent)) * 100).toFixed(1)}% delivered;`,
          ws
            .map((w) => `worker ${w.index}: ${w.pipelines} pipelines, ELU ${(w.load.elu * 100).toFixed(0)}%`)
            .join("; "),
        ].join(" "),
      );
      await sleep(500);
    }
    for (const p of pairs) {
      await p.tx.close();
      await p.rx.close();
      await rpc.value("release", { object: p.pipeline });
    }
  } finally {
    await rpc.close();
    await server.stop();
  }
  // ---------------------------------------------------------------- in-process: SIP parser, raw codec cost
  for (const r of await runSipParser()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runCodecs()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runDtmfTones()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runTranscode()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runVideo()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runSipCalls()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  for (const r of await runGateway()) {
    out(r.name, `${r.value} ${r.unit}`);
  }
  const outside = await runOutside({
    rounds: Number(process.env["BENCH_OUTSIDE_ROUNDS"] ?? 2),
    seconds: Number(process.env["BENCH_OUTSIDE_SECONDS"] ?? 4),
  });
  const recording = await runRecording({
    rounds: Number(process.env["BENCH_OUTSIDE_ROUNDS"] ?? 2),
    seconds: Number(process.env["BENCH_OUTSIDE_SECONDS"] ?? 4),
  });
  const voicebot = await runVoicebot({ seconds: Number(process.env["BENCH_OUTSIDE_SECONDS"] ?? 4) });
  const conference = await runConference({ seconds: Number(process.env["BENCH_OUTSIDE_SECONDS"] ?? 4) });
  console.log("\nsummary");
  for (const [k, v] of results) {
    console.log(`  ${k}: ${v}`);
  }
  console.log("\nKorus measured from outside (external generator, server CPU over all threads, media.workers: 1)");
  console.log(outside);
  console.log("\nRecording measured from outside (fresh server per measurement, media.workers: 1)");
  console.log(recording);
  console.log("\nVoice bots measured from outside (PCMU ⇄ WebSocketEndpoint twilio ⇄ echo bot, media.workers: 1)");
  console.log(voicebot);
  console.log("\nConference bridges measured from outside (one Composite, RTP participants, media.workers: 1)");
  console.log(conference);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

/**
 * Shared pieces of the out-of-process benchmarks (bench/run.ts, bench/guard.ts): reading a process's CPU
 * over all its threads from /proc, starting a built Korus server as a child process, and a werift peer on 127.0.0.1
 * that negotiates with a WebRtcEndpoint and can send through Korus's own FastRtpPath (a cheap load generator).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket, useOPUS, useVP8 } from "werift";
import { createLogger } from "../../media/logger.js";
import { FastRtpPath } from "../../media/webrtc/FastRtpPath.js";
import type { RpcClient } from "./RpcClient.js";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
};

export { cpuUs, rssKiB, userCpuUs } from "./proc.js";

/** The built server of this tree. */
export const MAIN_JS = fileURLToPath(new URL("../../src/main.js", import.meta.url));

export interface BenchServer {
  proc: ChildProcess;
  port: number;
  stop: () => Promise<void>;
}

/**
 * Starts a built Korus (`main`, default this tree's) on 127.0.0.1 with `workers` media workers, the RTP range
 * 50000-51999, and `extra` YAML lines (whole sections, e.g. a `sip:` block) appended to the configuration.
 * `rtpPorts` replaces the RTP range (two servers side by side); `nodeArgs` go to node before the script (e.g. `--cpu-prof`; media workers inherit them).
 */
export async function startServer(
  opts: {
    main?: string;
    workers?: number;
    extra?: readonly string[];
    port?: number;
    nodeArgs?: readonly string[];
    rtpPorts?: readonly [number, number];
  } = {},
): Promise<BenchServer> {
  const dir = mkdtempSync(join(tmpdir(), "korus-bench-"));
  const port = opts.port ?? 18000 + (process.pid % 1000);
  const cfg = join(dir, "bench.yaml");
  writeFileSync(
    cfg,
    [
      `server: { host: 127.0.0.1, port: ${port} }`,
      `media: { workers: ${opts.workers ?? 2} }`,
      `rtp: { portMin: ${opts.rtpPorts?.[0] ?? 50000}, portMax: ${opts.rtpPorts?.[1] ?? 51999} }`,
      "webrtc: { interfaces: [127.0.0.1] }",
      `data: { dir: ${dir} }`,
      "log: { level: warn }",
      "admin: { enabled: true }",
      ...(opts.extra ?? []),
    ].join("\n"),
  );
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.main ?? MAIN_JS, "--config", cfg], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  // Up to 30 s: a loaded 2-core machine has taken over 10 s to start a server.
  for (let i = 0; i < 300 && proc.exitCode === null; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) {
        break;
      }
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  return {
    proc,
    port,
    stop: async () => {
      proc.kill("SIGTERM");
      await new Promise((r) => proc.once("exit", r));
    },
  };
}

/** A werift peer on 127.0.0.1 that can send audio/video RTP at a given rate and count what it receives. */
export class Peer {
  readonly pc = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [useVP8()] },
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceFilterCandidatePair: (p) => p.localCandidate.host === "127.0.0.1" && p.remoteCandidate.host === "127.0.0.1",
  });
  readonly audio = new MediaStreamTrack({ kind: "audio" });
  readonly video = new MediaStreamTrack({ kind: "video" });
  received = 0;
  /** Packets sent through the fast path. */
  sent = 0;
  #timer: NodeJS.Timeout | undefined;
  #fast: FastRtpPath | undefined;
  #seq = 0;
  #ts = 0;

  constructor() {
    this.pc.addTransceiver(this.audio, { direction: "sendrecv" });
    this.pc.addTransceiver(this.video, { direction: "sendrecv" });
    this.pc.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => this.received++));
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    return (this.pc.localDescription?.sdp ?? "")
      .split("\r\n")
      .filter((l) => !l.startsWith("a=candidate") || l.includes(" 127.0.0.1 "))
      .join("\r\n");
  }

  /** Sends `pps` audio packets per second (172-byte RTP) in bursts every 10 ms. */
  send(pps: number): void {
    let seq = 0;
    let ts = 0;
    const perTick = Math.max(1, Math.round(pps / 100));
    const payload = Buffer.alloc(160, 0x5a);
    payload[0] = 0xf8;
    this.#timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        const header = new RtpHeader({ payloadType: 111, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 1 });
        ts = (ts + 960) >>> 0;
        this.audio.writeRtp(new RtpPacket(header, payload));
      }
    }, 10);
  }

  /** Switches this connected peer to FastRtpPath (cheap SRTP in and out), counting what arrives. */
  goFast(): void {
    const dtls = this.pc.dtlsTransports[0];
    if (dtls === undefined) {
      throw new Error("peer has no DTLS transport");
    }
    this.#fast = FastRtpPath.create(dtls, () => this.received++, createLogger("bench"));
    if (this.#fast === undefined) {
      throw new Error("peer's SRTP profile has no fast path");
    }
  }

  /** Sends `pps` Opus-sized packets per second through the fast path, in bursts every 10 ms. */
  sendFast(pps: number): void {
    const fast = this.#fast;
    const audio = this.pc.getTransceivers()[0];
    const ssrc = audio?.sender.ssrc ?? 1;
    const pt = audio?.codecs[0]?.payloadType ?? 111;
    if (fast === undefined) {
      throw new Error("goFast() first");
    }
    // The numbering continues across calls: restarting at 0 would replay SRTP indexes, which the receiver drops.
    let carry = 0;
    let last = performance.now();
    const payload = Buffer.alloc(160, 0x5a);
    payload[0] = 0xf8;
    this.#timer = setInterval(() => {
      // Paced by elapsed time, so a late timer sends the packets it owes instead of lowering the rate.
      const now = performance.now();
      carry = Math.min(carry + (pps * (now - last)) / 1000, pps / 10);
      last = now;
      for (; carry >= 1; carry--) {
        this.sent++;
        fast.send(ssrc, pt, this.#seq, this.#ts, false, payload);
        this.#seq = (this.#seq + 1) & 0xffff;
        this.#ts = (this.#ts + 960) >>> 0;
      }
    }, 10);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async close(): Promise<void> {
    this.stop();
    this.#fast?.close();
    await this.pc.close();
  }
}

/** Negotiates `peer` with a new WebRtcEndpoint in `pipeline` (trickle ICE both ways); returns the endpoint id. */
export async function attach(rpc: RpcClient, pipeline: string, peer: Peer): Promise<string> {
  const ep = (await rpc.value("create", {
    type: "WebRtcEndpoint",
    constructorParams: { mediaPipeline: pipeline },
  })) as string;
  await rpc.value("subscribe", { object: ep, type: "IceCandidateFound" });
  peer.pc.onIceCandidate.subscribe((c) => {
    if (c?.candidate.includes(" 127.0.0.1 ") === true) {
      void rpc.call("invoke", {
        object: ep,
        operation: "addIceCandidate",
        operationParams: {
          candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? "0", sdpMLineIndex: c.sdpMLineIndex ?? 0 },
        },
      });
    }
  });
  const answer = (await rpc.value("invoke", {
    object: ep,
    operation: "processOffer",
    operationParams: { offer: await peer.offer() },
  })) as string;
  await peer.pc.setRemoteDescription({ type: "answer", sdp: answer });
  const seen = new Set<string>();
  const pump = setInterval(() => {
    for (const m of rpc.events) {
      const v = m.params?.["value"] as {
        object: string;
        type: string;
        data: { candidate: { candidate: string; sdpMid: string; sdpMLineIndex: number } };
      };
      const key = `${v.object}|${v.data.candidate.candidate}`;
      if (v.object === ep && v.type === "IceCandidateFound" && !seen.has(key)) {
        seen.add(key);
        void peer.pc.addIceCandidate(v.data.candidate);
      }
    }
  }, 20);
  await rpc.value("invoke", { object: ep, operation: "gatherCandidates" });
  const deadline = Date.now() + 15_000;
  while (peer.pc.connectionState !== "connected" && Date.now() < deadline) {
    await sleep(50);
  }
  clearInterval(pump);
  if (peer.pc.connectionState !== "connected") {
    throw new Error("peer did not connect");
  }
  return ep;
}

/**
 * Two werift peers negotiated with two WebRtcEndpoints of `pipeline`, the first's audio connected to the second's,
 * both switched to the fast path: the forwarding load unit of the benchmarks.
 */
export async function connectedPair(rpc: RpcClient, pipeline: string): Promise<{ tx: Peer; rx: Peer }> {
  const tx = new Peer();
  const rx = new Peer();
  const epTx = await attach(rpc, pipeline, tx);
  const epRx = await attach(rpc, pipeline, rx);
  await rpc.value("invoke", {
    object: epTx,
    operation: "connect",
    operationParams: { sink: epRx, mediaType: "AUDIO" },
  });
  tx.goFast();
  rx.goFast();
  return { tx, rx };
}

/**
 * The hello-world set-up, `iterations` times: create pipeline + WebRtcEndpoint + processOffer of a werift offer +
 * connect (to itself), each timed in wall-clock ms; the pipeline is released after each. Returns the times.
 */
export async function helloWorldSetups(rpc: RpcClient, iterations: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const peer = new Peer();
    const offer = await peer.offer();
    const s0 = performance.now();
    const p = (await rpc.value("create", { type: "MediaPipeline" })) as string;
    const ep = (await rpc.value("create", {
      type: "WebRtcEndpoint",
      constructorParams: { mediaPipeline: p },
    })) as string;
    await rpc.value("invoke", { object: ep, operation: "processOffer", operationParams: { offer } });
    await rpc.value("invoke", { object: ep, operation: "connect", operationParams: { sink: ep } });
    times.push(performance.now() - s0);
    await rpc.value("release", { object: p });
    await peer.close();
  }
  return times;
}

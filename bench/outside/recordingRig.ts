/**
 * The Korus side of the recording benchmark (bench/outside/recording.ts): a fresh server per measurement
 * (`media.workers: 1`, recordings under a temporary root), and the pipelines of one measurement over JSON-RPC:
 *
 * - `forward`: RtpEndpoint A (the generator sends into it) → RtpEndpoint B (sends back to the generator); B's codec is
 *   the recording's (Opus for a PCMU source: the same transcoding as the recorder's), so the two differ by the sink.
 * - `record`: RtpEndpoint A → RecorderEndpoint (WEBM_AUDIO_ONLY / WEBM_VIDEO_ONLY), `record()`.
 * - probes: PCMU RtpEndpoint → RtpEndpoint, in their own pipelines on the same worker; their one-way delay says
 *   whether the recordings make the worker late.
 *
 * Socket layout of the generator: 2 per stream (A's source, B's receiver; unused when recording), then 2 per probe.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RpcClient } from "../lib/RpcClient.js";
import { startServer, type BenchServer } from "../lib/korus.js";
import { PT_OPUS, PT_PCMU, PT_VP8, sdp, type Dest } from "./targets.js";

export type RecMedia = "opus" | "pcmu" | "vp8";
export type RecMode = "forward" | "record";

const mPort = (s: string): number => Number(/m=(?:audio|video) (\d+)/.exec(s)?.[1] ?? NaN);
export const ptOf = (m: RecMedia): number => (m === "opus" ? PT_OPUS : m === "vp8" ? PT_VP8 : PT_PCMU);

/** `/proc/<pid>/io` counters (write system calls and bytes of the whole process, all threads). */
export function procIo(pid: number): { syscw: number; wchar: number } {
  const text = readFileSync(`/proc/${pid}/io`, "utf8");
  const num = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, "m").exec(text)?.[1] ?? NaN);
  return { syscw: num("syscw"), wchar: num("wchar") };
}

export class RecordingRig {
  private constructor(
    readonly server: BenchServer,
    readonly rpc: RpcClient,
    readonly root: string,
    /** Korus runs with `--cpu-prof` into this folder: {@link close} stops it with SIGTERM so the profiles are written. */
    readonly profileDir: string | undefined,
  ) {}

  /**
   * A fresh Korus with one media worker; recordings go under `root` (created, removed by {@link close}). With
   * `profileDir`, it runs with `--cpu-prof` into that folder (one .cpuprofile per thread); `main`: another tree's
   * built dist/src/main.js instead of this one's.
   */
  static async start(root: string, profileDir?: string, main?: string): Promise<RecordingRig> {
    mkdirSync(root, { recursive: true });
    const server = await startServer({
      workers: 1,
      ...(main === undefined ? {} : { main }),
      ...(profileDir === undefined ? {} : { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profileDir] }),
      // No SIP listener; the journal scan (sha256, ffprobe of finished files) never runs inside a measurement.
      extra: [
        "sip: { enabled: false }",
        `files: { recordingsRoot: ${JSON.stringify(root)} }`,
        "recording: { scanMs: 60000 }",
      ],
    });
    const rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
    return new RecordingRig(server, rpc, root, profileDir);
  }

  pid(): number {
    return this.server.proc.pid ?? 0;
  }

  async #create(type: string, params: Record<string, unknown>): Promise<string> {
    return (await this.rpc.value("create", { type, constructorParams: params })) as string;
  }

  async #invoke(object: string, operation: string, operationParams: Record<string, unknown> = {}): Promise<unknown> {
    return this.rpc.value("invoke", { object, operation, operationParams });
  }

  async #rtp(pipeline: string, offer: string): Promise<{ id: string; port: number }> {
    const id = await this.#create("RtpEndpoint", { mediaPipeline: pipeline });
    const answer = (await this.#invoke(id, "processOffer", { offer })) as string;
    return { id, port: mPort(answer) };
  }

  /**
   * Sets up `n` streams of `media` in `mode`, then `probes` PCMU forwarding probes. Returns where the generator sends
   * each of its sockets (port -1: it only receives, or is unused).
   */
  async setup(media: RecMedia, mode: RecMode, n: number, probes: number, ports: readonly number[]): Promise<Dest[]> {
    const out: Dest[] = [];
    const kind = media === "vp8" ? "VIDEO" : "AUDIO";
    for (let i = 0; i < n; i++) {
      const pl = await this.#create("MediaPipeline", {});
      const a = await this.#rtp(pl, sdp(ports[2 * i] ?? 0, media, "sendonly"));
      if (mode === "forward") {
        const sinkMedia = media === "pcmu" ? "opus" : media;
        const b = await this.#rtp(pl, sdp(ports[2 * i + 1] ?? 0, sinkMedia, "recvonly"));
        await this.#invoke(a.id, "connect", { sink: b.id, mediaType: kind });
      } else {
        const rec = await this.#create("RecorderEndpoint", {
          mediaPipeline: pl,
          uri: `file://${join(this.root, `${media}-${i}.webm`)}`,
          mediaProfile: media === "vp8" ? "WEBM_VIDEO_ONLY" : "WEBM_AUDIO_ONLY",
        });
        await this.#invoke(a.id, "connect", { sink: rec, mediaType: kind });
        await this.#invoke(rec, "record");
      }
      out.push({ port: a.port, pt: ptOf(media) }, { port: -1, pt: 0 });
    }
    for (let k = 0; k < probes; k++) {
      const base = 2 * (n + k);
      const pl = await this.#create("MediaPipeline", {});
      const a = await this.#rtp(pl, sdp(ports[base] ?? 0, "pcmu", "sendonly"));
      const b = await this.#rtp(pl, sdp(ports[base + 1] ?? 0, "pcmu", "recvonly"));
      await this.#invoke(a.id, "connect", { sink: b.id, mediaType: "AUDIO" });
      out.push({ port: a.port, pt: PT_PCMU }, { port: -1, pt: 0 });
    }
    return out;
  }

  /** Bytes of the recordings written so far (what reached the files: flushed at least every 0.5 s). */
  recordedBytes(): number {
    let total = 0;
    for (const f of readdirSync(this.root)) {
      if (f.endsWith(".webm")) {
        total += statSync(join(this.root, f)).size;
      }
    }
    return total;
  }

  /**
   * Ends the server at once (SIGKILL: no finalising pass of hundreds of files on a shared machine; the bench reads
   * what the live files hold; SIGTERM when profiling, so the profiles are written) and removes the recordings.
   */
  async close(): Promise<void> {
    await this.rpc.close().catch(() => undefined);
    const proc = this.server.proc;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill(this.profileDir === undefined ? "SIGKILL" : "SIGTERM");
      await exited;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}

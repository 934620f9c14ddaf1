/**
 * Crash recovery of recordings (issue 11 §2): a WebM and a fragmented MP4 being written live by ffmpeg are killed
 * with SIGKILL mid-way, each with a `recording` journal entry, exactly what a `kill -9` of Korus leaves. Korus starts
 * on that recordings root: its recovery pass re-muxes both (ffprobe then reports a duration within 1 s of what was
 * decodable before, where the killed WebM had none), the entries become complete/recovered and end `ready`, and one
 * "recording ready" record per recording reaches the CDR webhook (a local receiver), with the file's sha256.
 * An empty file is kept as it is and reported. Needs `npm run build`.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { writeJournalEntry, type RecordingJournalData } from "../../media/record/journal.js";
import { freeTcpPort } from "../helpers/ports.js";
import { startKorus } from "../helpers/server.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** ffprobe's format duration in s, or null (N/A). */
function probeDuration(file: string): number | null {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file], {
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  const s = Number(r.stdout.toString().trim());
  return r.status === 0 && Number.isFinite(s) && s > 0 ? s : null;
}

/** How much of a file ffmpeg decodes, in s (what was written before the kill). */
function decodedSeconds(file: string): number {
  const r = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-", "-progress", "pipe:1"], {
    timeout: 20_000,
    killSignal: "SIGKILL",
  });
  const m = [...r.stdout.toString().matchAll(/out_time_us=(\d+)/g)].pop();
  return m?.[1] === undefined ? 0 : Number(m[1]) / 1e6;
}

/** Writes a live 440 Hz Opus/AAC stream into `file` for `ms`, then SIGKILLs ffmpeg (a crashed recording). */
async function killedLiveRecording(file: string, format: "webm" | "mp4", ms: number): Promise<void> {
  const codec = format === "webm" ? ["-c:a", "libopus", "-cluster_time_limit", "500"] : ["-c:a", "aac"];
  const mux =
    format === "mp4" ? ["-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "500000"] : [];
  const ff = spawn(
    "ffmpeg",
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-re",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:sample_rate=48000",
      ...codec,
      "-flush_packets",
      "1",
      ...mux,
      "-f",
      format,
      `file:${file}`,
    ],
    { stdio: "ignore" },
  );
  await sleep(ms);
  ff.kill("SIGKILL");
  await new Promise((r) => ff.once("exit", r));
}

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

async function receiver(t: Test, port: number): Promise<{ got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      got.push({
        path: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { got, server };
}

t.test("recordings killed mid-way are finalised at start and announced once", { timeout: 90_000 }, async (t) => {
  const base = mkdtempSync(path.join(os.tmpdir(), "korus-recrec-"));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dataDir = path.join(base, "data");
  const root = path.join(dataDir, "recordings");
  mkdirSync(path.join(root, "calls"), { recursive: true });
  const files = {
    webm: path.join(root, "calls/a.webm"),
    mp4: path.join(root, "b.mp4"),
    empty: path.join(root, "c.webm"),
  };
  await Promise.all([killedLiveRecording(files.webm, "webm", 3200), killedLiveRecording(files.mp4, "mp4", 3200)]);
  writeFileSync(files.empty, "");
  t.equal(probeDuration(files.webm), null, "the killed WebM has no duration (the crash left no Duration/Cues)");
  const written = { webm: decodedSeconds(files.webm), mp4: decodedSeconds(files.mp4) };
  t.ok(written.webm > 1.5 && written.mp4 > 1.5, `decodable before recovery: ${JSON.stringify(written)}`);

  const ids = { webm: "a".repeat(24), mp4: "b".repeat(24), empty: "c".repeat(24) };
  const uris = { webm: "file://calls/a.webm", mp4: `file://${files.mp4}`, empty: "c.webm" };
  for (const k of ["webm", "mp4", "empty"] as const) {
    const e: RecordingJournalData = {
      version: 1,
      id: ids[k],
      state: "recording",
      path: files[k],
      uri: uris[k],
      profile: k === "mp4" ? "MP4_AUDIO_ONLY" : "WEBM_AUDIO_ONLY",
      startedAt: new Date(Date.now() - 4000).toISOString(),
      updatedAt: new Date().toISOString(),
      pid: 999_999,
      threadId: 3,
    };
    await writeJournalEntry(root, e);
  }

  const hookPort = await freeTcpPort();
  const { got } = await receiver(t, hookPort);
  const korus = await startKorus(t, {
    config: {
      data: { dir: dataDir },
      cdr: { webhookUrl: `http://127.0.0.1:${hookPort}/cdr`, retryMinMs: 100, retryMaxMs: 500 },
      recording: { scanMs: 200 },
    },
  });
  const deadline = Date.now() + 30_000;
  while (got.length < 3 && Date.now() < deadline) {
    await sleep(100);
  }
  await sleep(1000); // nothing more may come
  t.equal(got.length, 3, "one record per recording");

  for (const k of ["webm", "mp4"] as const) {
    const d = probeDuration(files[k]);
    t.ok(d !== null && Math.abs(d - written[k]) <= 1, `${k}: ffprobe ${d} s, written ${written[k]} s`);
    t.ok(decodedSeconds(files[k]) >= written[k] - 0.1, `${k}: nothing decodable was lost`);
    const done = JSON.parse(
      readFileSync(path.join(root, ".journal/done", `${ids[k]}.json`), "utf8"),
    ) as RecordingJournalData;
    t.match(done, { state: "ready", recovered: true }, `${k}: entry ready, recovered`);
    const rec = got.find((g) => g.body["recordId"] === ids[k]);
    const sha = createHash("sha256").update(readFileSync(files[k])).digest("hex");
    t.match(rec?.body, {
      kind: "recording-ready",
      uri: uris[k],
      recovered: true,
      sha256: sha,
      sizeBytes: statSync(files[k]).size,
      error: null,
    });
    t.ok(Math.abs(Number(rec?.body["durationMs"]) - written[k] * 1000) <= 1000, `${k}: record duration`);
    t.equal(rec?.headers["idempotency-key"], ids[k]);
  }
  const empty = got.find((g) => g.body["recordId"] === ids.empty);
  t.match(
    empty?.body,
    { recovered: true, sizeBytes: 0, durationMs: null, error: /empty/ },
    "an empty file is reported",
  );
  t.equal(statSync(files.empty).size, 0, "and kept as it is");
  t.match(korus.output(), /interrupted recording could not be finalised/);
});

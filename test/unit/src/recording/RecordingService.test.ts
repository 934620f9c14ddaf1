/**
 * RecordingService (src/recording): the backoff of uploads, the pass for a dead worker (only the entries of threads
 * that are gone are finalised), and a file:// recording finished once: measured, announced, moved to done/.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { CompiledHttpPolicy } from "../../../../media/files/httpMedia.js";
import {
  listJournal,
  readJournalEntry,
  writeJournalEntry,
  type RecordingJournalData,
} from "../../../../media/record/journal.js";
import type { RecordingReadyRecord } from "../../../../src/cdr/recordingReady.js";
import { RecordingService, uploadBackoffMs } from "../../../../src/recording/RecordingService.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function service(root: string, ready: RecordingReadyRecord[]): RecordingService {
  return new RecordingService({
    root,
    scanMs: 50,
    toolTimeoutMs: 20_000,
    upload: { method: "POST", timeoutMs: 1000, retryMinMs: 10, retryMaxMs: 100, keepSpool: false },
    policy: new CompiledHttpPolicy({ allowHosts: [], allowNetworks: [] }),
    ready: { recordingReady: (r) => (ready.push(r), true) },
    log: quiet,
  });
}

function entry(root: string, id: string, threadId: number, state: RecordingJournalData["state"]): RecordingJournalData {
  const file = path.join(root, `${id}.webm`);
  ffmpegSync(["-f", "lavfi", "-i", "sine=frequency=500:duration=1.5", "-c:a", "libopus", "-y", file]);
  const now = new Date().toISOString();
  return {
    version: 1,
    id,
    state,
    path: file,
    uri: `file://${id}.webm`,
    profile: "WEBM",
    startedAt: now,
    updatedAt: now,
    pid: process.pid,
    threadId,
  };
}

t.test("upload backoff doubles, is capped and jittered by at most 25 %", async (t) => {
  t.equal(
    uploadBackoffMs(1, 1000, 60_000, () => 0.5),
    1000,
  );
  t.equal(
    uploadBackoffMs(3, 1000, 60_000, () => 0.5),
    4000,
  );
  t.equal(
    uploadBackoffMs(30, 1000, 60_000, () => 0.5),
    60_000,
  );
  t.equal(
    uploadBackoffMs(3, 1000, 60_000, () => 0),
    3000,
  );
  t.equal(
    uploadBackoffMs(3, 1000, 60_000, () => 1),
    5000,
  );
  t.equal(
    uploadBackoffMs(1, 1000, 60_000, () => 0),
    1000,
    "never below the minimum",
  );
});

t.test("a dead worker's entries are finalised; a live worker's are left alone", async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), "korus-recsvc-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dead = entry(root, "d".repeat(24), 7, "recording");
  const live = entry(root, "e".repeat(24), 8, "recording");
  const main = entry(root, "f".repeat(24), 0, "recording");
  for (const e of [dead, live, main]) {
    await writeJournalEntry(root, e);
  }
  const svc = service(root, []);
  await svc.workerDied(new Set([8]));
  const state = async (id: string): Promise<unknown> => {
    const r = await readJournalEntry(root, id);
    return r.ok ? { state: r.entry.state, recovered: r.entry.recovered } : r.error;
  };
  t.same(await state(dead.id), { state: "complete", recovered: true });
  t.same(await state(live.id), { state: "recording", recovered: undefined });
  t.same(await state(main.id), { state: "recording", recovered: undefined });
  t.equal(await svc.recoverAll(), 2, "at start every recording entry is finalised");
  await svc.stop();
});

t.test("a complete file:// recording is measured, announced once and moved to done/", async (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), "korus-recsvc-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const e = entry(root, "a".repeat(24), 9, "complete");
  await writeJournalEntry(root, e);
  const ready: RecordingReadyRecord[] = [];
  const svc = service(root, ready);
  await svc.scan();
  await svc.scan();
  await svc.stop();
  t.equal(ready.length, 1);
  const sha = createHash("sha256").update(readFileSync(e.path)).digest("hex");
  t.match(ready[0], { recordId: e.id, uri: e.uri, sha256: sha, recovered: false, profile: "WEBM", error: null });
  t.ok(Math.abs((ready[0]?.durationMs ?? 0) - 1500) < 100, `duration ${ready[0]?.durationMs}`);
  t.same(await listJournal(root), []);
  t.match(JSON.parse(readFileSync(path.join(root, ".journal/done", `${e.id}.json`), "utf8")), {
    state: "ready",
    sha256: sha,
  });
});

/**
 * MINIMAL LOCAL STAND-IN (rec-core branch) for the durable side's media/record/journal.ts: same `beginRecording`
 * and `complete` signatures; the lead keeps the durable side's file at merge.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface RecordingSummary {
  durationMs: number;
  bytes: number;
  tracks: number | readonly string[];
}

export interface BeginRecording {
  path: string;
  uri: string;
  profile: string;
  startedAt: Date | string;
}

export interface RecordingJournalEntry {
  readonly id: string;
  complete(summary: RecordingSummary): Promise<void>;
}

async function writeAtomic(file: string, data: string): Promise<void> {
  await writeFile(`${file}.tmp`, data, { mode: 0o640 });
  await rename(`${file}.tmp`, file);
}

export async function beginRecording(root: string, rec: BeginRecording): Promise<RecordingJournalEntry> {
  const dir = join(root, ".journal");
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const id = randomBytes(12).toString("hex");
  const file = join(dir, `${id}.json`);
  const base = { version: 1, id, path: rec.path, uri: rec.uri, profile: rec.profile, startedAt: String(rec.startedAt) };
  await writeAtomic(file, JSON.stringify({ ...base, state: "recording" }));
  return {
    id,
    complete: (summary) => writeAtomic(file, JSON.stringify({ ...base, state: "complete", ...summary })),
  };
}

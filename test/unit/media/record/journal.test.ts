/**
 * The recording journal (media/record/journal.ts): entries written before the recording, rewritten atomically
 * (a reader never sees a torn entry, a crash's temporary is ignored), terminal entries moved to done/, random ids.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import {
  beginRecording,
  isJournalId,
  journalDir,
  listJournal,
  readJournalEntry,
  writeJournalEntry,
  type RecordingJournalData,
} from "../../../../media/record/journal.js";

const root = mkdtempSync(path.join(os.tmpdir(), "korus-journal-"));
t.teardown(() => rmSync(root, { recursive: true, force: true }));

t.test("begin writes a recording entry; complete rewrites it; abandon removes it", async (t) => {
  const e = await beginRecording(root, {
    path: path.join(root, "a.webm"),
    uri: "file://a.webm",
    profile: "WEBM",
    startedAt: new Date("2026-12-07T10:00:00.000Z"),
  });
  t.ok(isJournalId(e.id), "a random hex id");
  const file = path.join(journalDir(root), `${e.id}.json`);
  const first = JSON.parse(readFileSync(file, "utf8")) as RecordingJournalData;
  t.match(first, { state: "recording", uri: "file://a.webm", profile: "WEBM", startedAt: "2026-12-07T10:00:00.000Z" });
  t.equal(first.pid, process.pid);
  await e.complete({ durationMs: 1234, bytes: 5678, tracks: ["opus"] });
  t.match(JSON.parse(readFileSync(file, "utf8")), {
    state: "complete",
    durationMs: 1234,
    bytes: 5678,
    tracks: ["opus"],
  });
  await t.rejects(e.complete({ durationMs: 1, bytes: 1, tracks: 1 }), TypeError, "an entry ends once");
  const b = await beginRecording(root, {
    path: path.join(root, "b.webm"),
    uri: "b.webm",
    profile: "WEBM",
    startedAt: "x",
  });
  t.not(b.id, e.id);
  await b.abandon();
  t.notOk(existsSync(path.join(journalDir(root), `${b.id}.json`)), "abandoned entry removed");
  t.same(await listJournal(root), [e.id]);
});

t.test("terminal states move to done/", async (t) => {
  const [id] = await listJournal(root);
  const read = await readJournalEntry(root, id ?? "");
  t.ok(read.ok);
  if (read.ok) {
    await writeJournalEntry(root, { ...read.entry, state: "ready", sha256: "ab" });
  }
  t.same(await listJournal(root), []);
  t.match(JSON.parse(readFileSync(path.join(journalDir(root), "done", `${id}.json`), "utf8")), { state: "ready" });
});

t.test("rewrites are atomic: a concurrent reader always parses a whole entry; temporaries are ignored", async (t) => {
  const e = await beginRecording(root, {
    path: path.join(root, "c.webm"),
    uri: "c.webm",
    profile: "MP4",
    startedAt: "x",
  });
  const data = { ...e.data, error: "p".repeat(256 * 1024) }; // big enough that a torn write would be seen
  let writing = true;
  let reads = 0;
  let torn = 0;
  const reader = (async () => {
    while (writing) {
      const r = await readJournalEntry(root, e.id);
      reads++;
      if (!r.ok) {
        torn++;
      }
    }
  })();
  for (let i = 0; i < 60; i++) {
    await writeJournalEntry(root, { ...data, durationMs: i });
  }
  writing = false;
  await reader;
  t.ok(reads > 10, `${reads} reads`);
  t.equal(torn, 0, "no torn or missing entry seen");
  writeFileSync(path.join(journalDir(root), ".deadbeef.tmp"), '{"state":"rec'); // a crash mid-write
  t.same(await listJournal(root), [e.id], "a leftover temporary is not an entry");
  t.notOk(
    readdirSync(journalDir(root)).some((n) => n.endsWith(".tmp") && n !== ".deadbeef.tmp"),
    "no temporaries left by writes",
  );
  await t.rejects(writeJournalEntry(root, { ...data, id: "../../evil" }), TypeError, "ids are checked");
});

/**
 * "Recording ready" records (src/cdr/recordingReady.ts): stored once per recording id in their own spool table and
 * delivered by the same dispatcher as the CDRs, only to the sinks named for them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { CdrDispatcher } from "../../../../src/cdr/CdrDispatcher.js";
import type { CdrSink } from "../../../../src/cdr/CdrSink.js";
import type { RecordingReadyRecord } from "../../../../src/cdr/recordingReady.js";
import { SqliteCdrStore } from "../../../../src/cdr/SqliteCdrStore.js";

const record = (id: string): RecordingReadyRecord => ({
  kind: "recording-ready",
  version: 1,
  recordId: id,
  uri: "file:///rec/a.webm",
  profile: "WEBM",
  sizeBytes: 10,
  durationMs: 1000,
  sha256: "00",
  recovered: false,
  startTime: "2026-12-07T10:00:00.000Z",
  readyTime: "2026-12-07T10:00:01.000Z",
  error: null,
});

t.test("stored once, delivered once, after a failure too", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-ready-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = SqliteCdrStore.open(dir, { sinks: ["postgres"], readySinks: ["webhook"] });
  t.teardown(() => store.close());
  const got: string[] = [];
  let fail = 1;
  const sink: CdrSink<RecordingReadyRecord> = {
    name: "webhook",
    maxBatch: 1,
    deliver: async (rs) => {
      if (fail-- > 0) {
        throw new Error("down");
      }
      got.push(...rs.map((r) => r.recordId));
    },
    close: async () => undefined,
  };
  const d = new CdrDispatcher({ store: store.readySpool, sinks: [sink], retryMinMs: 10, retryMaxMs: 20 });
  t.ok(store.insertReady(record("r1")));
  t.notOk(store.insertReady(record("r1")), "a second insert of the same recording is ignored");
  t.equal(store.readySpool.pendingCount("postgres"), 0, "CDR-only sinks get no ready record");
  d.start();
  const deadline = Date.now() + 5000;
  while (got.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await d.close();
  t.same(got, ["r1"]);
  t.match(store.readySpool.deliveryState("webhook", "r1"), { attempts: 2, lastError: null });
  t.equal(store.readySpool.pendingCount("webhook"), 0);
  t.same(store.getReady("r1"), record("r1"));
  t.equal(store.count(), 0, "no CDR row");
});

/**
 * CdrDispatcher over a real SqliteCdrStore and a scripted in-process sink (a CdrSink implementation whose
 * outcome each test controls): backoff arithmetic, batching, pause on failure, drain after recovery, kicks that
 * arrive during a delivery, and close() with a delivery in flight.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CdrDispatcher, backoffMs } from "../../../../src/cdr/CdrDispatcher.js";
import type { CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrSinkError, type CdrSink } from "../../../../src/cdr/CdrSink.js";
import { SqliteCdrStore } from "../../../../src/cdr/SqliteCdrStore.js";
import { makeRecord } from "./fixtures.js";

/** A sink that records what it accepted; `up` decides success, `gate` can hold a delivery open. */
class ScriptedSink implements CdrSink {
  readonly name = "scripted";
  readonly batches: string[][] = [];
  up = true;
  calls = 0;
  gate: Promise<void> | null = null;
  closed = false;
  constructor(readonly maxBatch: number) {}
  async deliver(records: readonly CdrRecord[]): Promise<void> {
    this.calls++;
    if (this.gate !== null) {
      await this.gate;
    }
    if (!this.up) {
      throw new CdrSinkError(this.name, "down");
    }
    this.batches.push(records.map((r) => r.recordId));
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  get delivered(): string[] {
    return this.batches.flat();
  }
}

const dirs: string[] = [];
t.teardown(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function store(): SqliteCdrStore {
  const d = mkdtempSync(join(tmpdir(), "korus-cdr-disp-"));
  dirs.push(d);
  return SqliteCdrStore.open(d, { sinks: ["scripted"] });
}
async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

t.test("backoff doubles from min and caps at max", async (t) => {
  t.same(
    [1, 2, 3, 4, 5, 6, 10, 100].map((a) => backoffMs(a, 100, 1_000)),
    [100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000],
  );
  t.equal(backoffMs(0, 100, 1_000), 100, "attempt 0 counts as 1");
  t.equal(backoffMs(5_000, 1, 86_400_000), 86_400_000, "no overflow for huge attempt counts");
});

t.test("spooled records are delivered in batches, oldest first, once", async (t) => {
  const s = store();
  const records = Array.from({ length: 7 }, (_, i) => makeRecord(i));
  records.forEach((r) => s.insert(r));
  const sink = new ScriptedSink(3);
  const d = new CdrDispatcher({ store: s, sinks: [sink], retryMinMs: 10, retryMaxMs: 50 });
  d.start();
  await until(() => d.pending()["scripted"] === 0, "drain");
  t.same(
    sink.batches.map((b) => b.length),
    [3, 3, 1],
  );
  t.same(
    sink.delivered,
    records.map((r) => r.recordId),
  );
  await d.close();
  t.ok(sink.closed, "close() closes the sinks");
  s.close();
});

t.test("a failing sink pauses with backoff, keeps the spool, and drains once it is back", async (t) => {
  const s = store();
  const sink = new ScriptedSink(10);
  sink.up = false;
  const failures: number[] = [];
  const d = new CdrDispatcher({
    store: s,
    sinks: [sink],
    retryMinMs: 20,
    retryMaxMs: 80,
    onFailure: (_n, _e, attempts) => failures.push(attempts),
  });
  d.start();
  const records = Array.from({ length: 5 }, (_, i) => makeRecord(i));
  for (const r of records) {
    s.insert(r);
    d.kick();
  }
  await until(() => failures.length >= 3, "three failures");
  const callsWhilePaused = sink.calls;
  d.kick();
  d.kick();
  t.equal(sink.calls, callsWhilePaused, "kicks do not bypass the pause");
  t.equal(d.pending()["scripted"], 5, "nothing lost while down");
  t.match(s.deliveryState("scripted", records[0]!.recordId), { lastError: /scripted: down/ });
  sink.up = true;
  await until(() => d.pending()["scripted"] === 0, "drain after recovery");
  t.same([...sink.delivered].sort(), records.map((r) => r.recordId).sort(), "each record delivered once");
  t.equal(new Set(sink.delivered).size, sink.delivered.length, "no duplicates");
  await d.close();
  s.close();
});

t.test("a record committed during a delivery is not left behind", async (t) => {
  const s = store();
  const sink = new ScriptedSink(1);
  let open!: () => void;
  sink.gate = new Promise<void>((r) => (open = r));
  const d = new CdrDispatcher({ store: s, sinks: [sink], retryMinMs: 10, retryMaxMs: 50 });
  const a = makeRecord(1);
  const b = makeRecord(2);
  s.insert(a);
  d.start(); // delivery of `a` is now held open by the gate
  await until(() => sink.calls === 1, "first delivery started");
  s.insert(b);
  d.kick(); // arrives while the pump is running
  sink.gate = null;
  open();
  await until(() => d.pending()["scripted"] === 0, "both delivered");
  t.same(sink.delivered, [a.recordId, b.recordId]);
  await d.close();
  s.close();
});

t.test("close() waits for a delivery in flight and records it as delivered", async (t) => {
  const s = store();
  const sink = new ScriptedSink(5);
  let open!: () => void;
  sink.gate = new Promise<void>((r) => (open = r));
  const d = new CdrDispatcher({ store: s, sinks: [sink], retryMinMs: 10, retryMaxMs: 50 });
  const r = makeRecord(3);
  s.insert(r);
  d.start();
  await until(() => sink.calls === 1, "delivery started");
  const closing = d.close();
  open();
  await closing;
  t.equal(s.deliveryState("scripted", r.recordId)?.deliveredMs !== null, true, "marked delivered");
  t.equal(s.pendingCount("scripted"), 0);
  s.close();
});

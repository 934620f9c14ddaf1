/**
 * Webhook sink: a real local HTTP receiver is down (its port closed) while 20 calls end, across a Korus restart,
 * then comes up: every record arrives exactly once, with its Idempotency-Key, and the spool empties. A receiver
 * that fails some POSTs with 503 gets those records again until it accepts each exactly once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CdrDirection, HangupSide, type CdrRecord } from "../../src/cdr/CdrRecord.js";
import { CdrService, type CdrLogger, type CdrServiceConfig } from "../../src/cdr/CdrService.js";
import { freeTcpPort } from "../helpers/ports.js";

const quiet: CdrLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Receiver {
  /** Accepted (2xx) POSTs per Idempotency-Key. */
  accepted: Map<string, CdrRecord[]>;
  /** Every POST, accepted or not. */
  posts: number;
  close(): Promise<void>;
}

function startReceiver(port: number, failFirst = 0): Promise<Receiver> {
  const accepted = new Map<string, CdrRecord[]>();
  const state = { posts: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.posts++;
      if (state.posts <= failFirst) {
        res.writeHead(503).end("busy");
        return;
      }
      const key = req.headers["idempotency-key"];
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as CdrRecord;
      if (req.method !== "POST" || req.headers["content-type"] !== "application/json" || key !== body.recordId) {
        res.writeHead(400).end("bad");
        return;
      }
      accepted.set(key, [...(accepted.get(key) ?? []), body]);
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port }, () =>
      resolve({
        accepted,
        get posts() {
          return state.posts;
        },
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    );
  });
}

function config(dataDir: string, port: number): CdrServiceConfig {
  return {
    dataDir,
    synchronous: "normal",
    postgresUrl: "",
    postgresTable: "korus_cdr",
    webhookUrl: `http://127.0.0.1:${port}/cdr`,
    webhookTimeoutMs: 2_000,
    retryMinMs: 50,
    retryMaxMs: 400,
  };
}

function call(svc: CdrService, i: number): CdrRecord {
  const leg = `leg-${i}`;
  svc.recorder.started(leg, { direction: CdrDirection.Outbound, callId: `wh-${i}@test`, to: `sip:+1555${i}@trunk` });
  svc.recorder.answered(leg);
  return svc.recorder.ended(leg, { hangupSide: HangupSide.Local, endReason: "bye" })!;
}

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("receiver down during 20 calls and a restart, then up: each record arrives exactly once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "korus-cdr-webhook-"));
  const port = await freeTcpPort();
  let svc = new CdrService(config(dir, port), quiet);
  let receiver: Receiver | null = null;
  t.teardown(async () => {
    await svc.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const sent: CdrRecord[] = [];
  for (let i = 0; i < 10; i++) {
    sent.push(call(svc, i));
  }
  await until(() => (svc.store.deliveryState("webhook", sent[0]!.recordId)?.attempts ?? 0) >= 1, "a failed attempt");
  t.match(svc.store.deliveryState("webhook", sent[0]!.recordId)?.lastError, /ECONNREFUSED|fetch failed/);
  t.equal(svc.stats().pending["webhook"], 10, "all spooled while the receiver is down");
  await svc.close(); // Korus restarts with the receiver still down
  svc = new CdrService(config(dir, port), quiet);
  for (let i = 10; i < 20; i++) {
    sent.push(call(svc, i));
  }
  t.equal(svc.stats().pending["webhook"], 20, "the spool survived the restart");
  await sleep(150);
  t.equal(svc.stats().pending["webhook"], 20, "nothing delivered while down");

  receiver = await startReceiver(port);
  await until(() => svc.stats().pending["webhook"] === 0, "the spool to drain");
  await sleep(600); // longer than retryMaxMs: a duplicate would have arrived by now
  const r = receiver;
  t.equal(r.accepted.size, 20, "20 distinct records");
  t.same(
    sent.map((s) => r.accepted.get(s.recordId)?.length ?? 0),
    Array<number>(20).fill(1),
    "each record exactly once",
  );
  t.equal(r.posts, 20, "no extra POSTs");
  t.same(
    sent.map((s) => r.accepted.get(s.recordId)?.[0]),
    sent,
    "bodies are the stored records",
  );
  t.match(svc.store.deliveryState("webhook", sent[19]!.recordId), { deliveredMs: Number, lastError: null });
});

t.test("a receiver that answers 503 gets those records again until it accepts each once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "korus-cdr-webhook-"));
  const port = await freeTcpPort();
  const receiver = await startReceiver(port, 3);
  const svc = new CdrService(config(dir, port), quiet);
  t.teardown(async () => {
    await svc.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const sent = Array.from({ length: 8 }, (_, i) => call(svc, i));
  await until(() => svc.stats().pending["webhook"] === 0, "the spool to drain");
  await sleep(300);
  t.same(
    sent.map((s) => receiver.accepted.get(s.recordId)?.length ?? 0),
    Array<number>(8).fill(1),
    "each accepted exactly once",
  );
  t.equal(receiver.posts, 8 + 3, "three rejected POSTs were retried");
  t.ok((svc.store.deliveryState("webhook", sent[0]!.recordId)?.attempts ?? 0) >= 2, "first record needed retries");
});

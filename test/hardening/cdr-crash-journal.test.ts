/**
 * Issue 9 §8: calls in progress at a `kill -9` are not lost. Against the built server (run `npm run build` first):
 *
 * 20 answered SIP calls (the echo extension), 3 ringing bridged calls (inbound leg to Korus, outbound leg to a
 * callee that sends 180 and never answers) and one WebRTC endpoint are up when Korus is killed with SIGKILL. A
 * restart on the same data dir closes every one of them from the journal: `korus cdr export` lists the 20 SIP
 * calls (by Call-ID) and the WebRTC session as ANSWERED, the 6 ringing legs as not answered, all with end reason
 * `server-crash`, hang-up side system, an end time at the last journal mark before the kill (within
 * journalIntervalMs + slack) and consistent durations; the webhook sink receives each record once. A second restart
 * adds no record and re-sends none.
 */
import "../helpers/loopbackNamespace.js";
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import t from "tap";
import { CdrDirection, Disposition, type CdrRecord } from "../../src/cdr/CdrRecord.js";
import type { InviteSession, MediaHandler } from "../../sip/index.js";
import { RpcClient } from "../helpers/rpcClient.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { localUa } from "../helpers/sipUa.js";
import { interopSlot } from "../helpers/slot.js";

const ANSWERED = 20;
const RINGING = 3;
const JOURNAL_INTERVAL_MS = 2_000; // the default of cdr.journalIntervalMs
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const { range, work, port } = await interopSlot(t, "cdrcrash");

const SDP =
  "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
  `m=audio ${range.max - 10} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n`;
const media = (): MediaHandler => ({
  getOffer: () => SDP,
  setAnswer: () => undefined,
  processOffer: () => SDP,
  close: () => undefined,
});

function exportCdrs(dataDir: string): Promise<CdrRecord[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
      { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err !== null) {
          reject(new Error(`korus cdr export failed: ${err.message}\n${stderr}`));
          return;
        }
        resolve(
          stdout
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => JSON.parse(l) as CdrRecord),
        );
      },
    );
  });
}

/** Resolves when `session` is answered; rejects when it ends first. */
const answered = (s: InviteSession): Promise<void> =>
  new Promise((resolve, reject) => {
    s.on("answered", () => resolve());
    s.on("terminated", (i) => reject(new Error(`call ${s.callId} ended with ${i.status}`)));
  });

t.test(
  "calls up at kill -9 become server-crash CDRs at the next start, exactly once",
  { timeout: 120_000 },
  async (t) => {
    // The webhook sink: counts deliveries per Idempotency-Key.
    const deliveries = new Map<string, number>();
    const hook = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on("end", () => {
        const key = String(req.headers["idempotency-key"] ?? "");
        deliveries.set(key, (deliveries.get(key) ?? 0) + 1);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    t.teardown(() => new Promise<void>((r) => hook.close(() => r())));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/cdr`;

    const dataDir = join(work, "data");
    const calleePort = port();
    const config = {
      sip: {
        port: port(),
        trunks: [{ name: "local", peers: ["127.0.0.1"], auth: "ip", optionsIntervalS: 0 }],
        dialplan: [
          { to: "^sips?:echo@", action: "echo" },
          { to: "^sips?:ring-(\\d+)@", action: "bridge", uri: `sip:ring-$1@127.0.0.1:${calleePort}` },
        ],
      },
      data: { dir: dataDir },
      cdr: { webhookUrl: hookUrl },
    };
    const k = await startKorus(undefined, { workers: 1, config });
    t.teardown(() => k.stop());

    // The callee of the bridged calls rings and never answers.
    const callee = await localUa(calleePort, () => media());
    t.teardown(callee.close);
    const ringingAtCallee: InviteSession[] = [];
    callee.ua.on("incomingCall", (session) => {
      ringingAtCallee.push(session);
      void session.progress().catch(() => undefined);
    });
    const caller = await localUa(port(), () => media());
    t.teardown(caller.close);
    const sipPort = config.sip.port;

    const calls = Array.from({ length: ANSWERED }, (_, i) =>
      caller.ua.call(`sip:echo@127.0.0.1:${sipPort}`, { from: `sip:+1555000${100 + i}@127.0.0.1`, media: media() }),
    );
    await Promise.all(calls.map(answered));
    t.pass(`${ANSWERED} calls answered`);
    const ringing = Array.from({ length: RINGING }, (_, i) =>
      caller.ua.call(`sip:ring-${i}@127.0.0.1:${sipPort}`, { from: "sip:+15550000999@127.0.0.1", media: media() }),
    );
    await Promise.all(ringing.map((s) => new Promise<void>((resolve) => s.on("progress", () => resolve()))));
    for (let i = 0; ringingAtCallee.length < RINGING && i < 100; i++) {
      await sleep(50);
    }
    t.equal(ringingAtCallee.length, RINGING, `${RINGING} bridged calls ring at the callee`);

    const app = await RpcClient.open(k.url);
    const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
    const web = String(
      await app.value("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: pipeline } }),
    );
    await sleep(JOURNAL_INTERVAL_MS + 500); // at least one journal mark after every answer
    const killMs = Date.now();
    await k.kill9();
    await app.close().catch(() => undefined);
    t.same(k.exited, { code: null, signal: "SIGKILL" }, "Korus died by SIGKILL with the calls up");
    // The calls die with the server: drop them here without any signalling.
    await caller.close();
    await callee.close();

    const again = await startKorus(undefined, { workers: 1, config });
    const expected = ANSWERED + 1 + 2 * RINGING;
    for (let i = 0; deliveries.size < expected && i < 200; i++) {
      await sleep(50);
    }
    const records = (await exportCdrs(dataDir)).filter((r) => r.endReason === "server-crash");
    t.equal(records.length, expected, `${expected} records closed as server-crash`);
    const sip = records.filter((r) => r.disposition === Disposition.Answered && r.direction === CdrDirection.Inbound);
    t.same(
      sip.map((r) => r.callId).sort(),
      calls.map((s) => s.callId).sort(),
      `the ${ANSWERED} answered SIP calls, by Call-ID, are ANSWERED`,
    );
    const webrtc = records.find((r) => r.direction === CdrDirection.WebRtc);
    t.match(webrtc, { elementId: web, pipelineId: pipeline, disposition: "ANSWERED" }, "the WebRTC session too");
    const unanswered = records.filter((r) => r.answerTime === null);
    t.equal(unanswered.length, 2 * RINGING, "both legs of each ringing call");
    t.same(
      unanswered
        .filter((r) => r.direction === CdrDirection.Inbound)
        .map((r) => r.callId)
        .sort(),
      ringing.map((s) => s.callId).sort(),
      "the ringing inbound legs, by Call-ID",
    );
    t.same(
      unanswered
        .filter((r) => r.direction === CdrDirection.Outbound)
        .map((r) => r.callId)
        .sort(),
      ringingAtCallee.map((s) => s.callId).sort(),
      "the ringing outbound legs, by Call-ID",
    );
    for (const r of unanswered) {
      t.match(r, { disposition: "FAILED", billsecMs: 0 }, `unanswered ${r.direction} leg: not ANSWERED, no billsec`);
      t.not(r.ringingTime, null, "its ringing time is kept");
    }
    for (const r of records) {
      const end = Date.parse(r.endTime);
      t.ok(
        end <= killMs && end >= killMs - JOURNAL_INTERVAL_MS - 1_500,
        `${r.direction} ${r.callId ?? r.elementId}: end ${r.endTime} is the last mark before the kill`,
      );
      t.match(r, { hangupSide: "system", q850Cause: 41 });
      t.equal(r.durationMs, end - Date.parse(r.startTime), "duration = end − start");
      if (r.answerTime !== null) {
        t.ok(r.billsecMs > 0 && r.billsecMs === end - Date.parse(r.answerTime), "billsec = end − answer > 0");
      }
    }
    t.equal(deliveries.size, expected, "the webhook received every closed record");
    t.same(
      [...deliveries.values()].filter((n) => n !== 1),
      [],
      "each once",
    );
    t.same(new Set(deliveries.keys()), new Set(records.map((r) => r.recordId)), "and exactly those");
    t.match(again.output(), /closed calls left open by a crash/, "the restart logs what it closed");
    await again.stop();

    const third = await startKorus(undefined, { workers: 1, config });
    await sleep(1_000);
    await third.stop();
    const after = await exportCdrs(dataDir);
    t.equal(after.length, records.length, "a second restart adds no record");
    t.equal(new Set(after.map((r) => r.recordId)).size, after.length, "no duplicate record ids");
    t.same(
      [...deliveries.values()].filter((n) => n !== 1),
      [],
      "and re-sends none",
    );
  },
);

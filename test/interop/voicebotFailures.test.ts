/**
 * WebSocketEndpoint when the bot misbehaves (issue 14 §2), against the built server (`npm run build` first):
 *
 * - the bot's socket drops: the element reconnects and the bot gets a fresh greeting;
 * - the bot goes down for good: the caller keeps receiving RTP (silence frames, no gap a carrier would hang up
 *   on), the element retries for `retrySeconds`, then raises FAILED;
 * - with `outageAudio`, the caller hears that file (a 440 Hz tone, by frequency) while the bot is away, looped, and
 *   silence after FAILED; a file outside `files.mediaRoots` leaves the outage silent and the call going;
 * - hostile input (malformed JSON, binary frames on Twilio, an oversized frame, bad base64, a nameless mark, a
 *   flood past the playout cap, odd-length L16 on jambonz) is counted and dropped; the call and the stream go on,
 *   and JSON the protocol does not use is raised as BotMessage.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { openAppSession, type AppSession } from "../helpers/rpcClient.js";
import { startKorus, type KorusProcess } from "../helpers/server.js";
import { measureFrequency, toneLevelDb } from "../helpers/tone.js";
import { RtpCaller, TestBot, type Protocol } from "../helpers/voicebot.js";

t.setTimeout(120_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface EventValue {
  type?: string;
  data?: Record<string, unknown>;
}
const value = (m: { params?: Record<string, unknown> }): EventValue => m.params?.["value"] ?? {};

interface Call {
  s: AppSession;
  ws: string;
  caller: RtpCaller;
}

/** Caller ⇄ RtpEndpoint ⇄ WebSocketEndpoint ⇄ `bot`. */
async function call(
  t: Test,
  server: KorusProcess,
  bot: TestBot,
  protocol: Protocol,
  extra: Record<string, unknown> = {},
): Promise<Call> {
  const caller = await RtpCaller.open();
  t.teardown(() => caller.close());
  const s = await openAppSession(t, server.url);
  const rtp = String(await s.call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: s.pipeline } }));
  const answer = String(
    await s.call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer: caller.offer() } }),
  );
  caller.connectTo(Number(/m=audio (\d+)/.exec(answer)?.[1]));
  const ws = String(
    await s.call("create", {
      type: "WebSocketEndpoint",
      constructorParams: { mediaPipeline: s.pipeline, uri: `ws://127.0.0.1:${bot.port}/`, protocol, ...extra },
    }),
  );
  await s.call("subscribe", { object: ws, type: "StreamStateChanged" });
  await s.call("subscribe", { object: ws, type: "BotMessage" });
  for (const [a, b] of [
    [rtp, ws],
    [ws, rtp],
  ]) {
    await s.call("invoke", { object: a, operation: "connect", operationParams: { sink: b, mediaType: "AUDIO" } });
  }
  return { s, ws, caller };
}

const get = (c: Call, op: string): Promise<unknown> => c.s.call("invoke", { object: c.ws, operation: op });

/** The longest gap between RTP packets the caller received in [from, to). */
function longestGap(c: Call, from: number, to: number): { gap: number; count: number } {
  const at = c.caller.received.filter((r) => r.at >= from && r.at < to).map((r) => r.at);
  let gap = 0;
  for (let i = 1; i < at.length; i++) {
    gap = Math.max(gap, at[i]! - at[i - 1]!);
  }
  return { gap, count: at.length };
}

t.test("bot failures and hostile input", async (t) => {
  const media = mkdtempSync(path.join(tmpdir(), "korus-vb-outage-"));
  t.teardown(() => rmSync(media, { recursive: true, force: true }));
  const wav = path.join(media, "hold.wav");
  // 0.5 s of 440 Hz at 44.1 kHz stereo: decoded to the stream's µ-law 8 kHz mono, looped.
  ffmpegSync(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=0.5", "-ac", "2", wav]);
  const server = await startKorus(t, {
    workers: 1,
    config: { httpMedia: { allowNetworks: ["127.0.0.0/8"] }, files: { mediaRoots: [media] } },
  });

  await t.test("a dropped socket reconnects with a fresh greeting", async (t) => {
    const bot = await TestBot.start("twilio");
    t.teardown(() => bot.close());
    const c = await call(t, server, bot, "twilio");
    const first = await bot.connection(0);
    first.ws.terminate(); // No close frame: a network failure.
    const second = await bot.connection(1, 8000);
    await sleep(300);
    t.same(
      second.json.slice(0, 2).map((j) => j.msg["event"]),
      ["connected", "start"],
      "the new socket starts with connected, start",
    );
    const all = c.s.app.events.filter((m) => value(m).type === "StreamStateChanged").map((m) => value(m).data);
    // From the reconnection on: the first CONNECTING may be the initial one or not, as the subscription races it.
    const states = all.slice(
      all.findIndex((d) => d?.["state"] === "CONNECTING" && String(d["reason"]).includes("dropped")),
    );
    t.match(
      states,
      [{ state: "CONNECTING", reason: /dropped/ }, { state: "STREAMING" }],
      `states: ${states.map((d) => String(d?.["state"])).join(" → ")}`,
    );
    t.equal(await get(c, "getStreamState"), "STREAMING");
  });

  await t.test("the bot goes down: silence keeps flowing, retries, then FAILED", async (t) => {
    const bot = await TestBot.start("twilio");
    const c = await call(t, server, bot, "twilio", { retrySeconds: 2 });
    const conn = await bot.connection(0);
    await sleep(300);
    conn.sendTone(600, 0.5);
    await sleep(600);
    const down = performance.now();
    await bot.crash();
    const failed = await c.s.app.event(
      (m) => value(m).type === "StreamStateChanged" && value(m).data?.["state"] === "FAILED",
      10_000,
    );
    const failedAt = performance.now();
    t.ok(failedAt - down >= 1900, `FAILED after the retry window (${(failedAt - down).toFixed(0)} ms)`);
    t.match(value(failed).data?.["reason"], /gave up/, `reason: ${String(value(failed).data?.["reason"])}`);
    await sleep(500);
    const { gap, count } = longestGap(c, down, performance.now());
    const expected = (performance.now() - down) / 20;
    t.ok(
      count >= expected * 0.9,
      `the caller kept receiving RTP through the outage (${count} of ~${expected.toFixed(0)})`,
    );
    t.ok(gap < 100, `no gap in the caller's RTP (longest ${gap.toFixed(1)} ms)`);
    t.equal(await get(c, "getStreamState"), "FAILED", "getStreamState");
  });

  await t.test("outageAudio: the caller hears the file, looped, while the bot is away", async (t) => {
    const bot = await TestBot.start("twilio");
    const c = await call(t, server, bot, "twilio", { retrySeconds: 2, outageAudio: `file://${wav}` });
    const conn = await bot.connection(0);
    await sleep(300);
    const talk = performance.now();
    conn.sendTone(600, 0.6);
    await sleep(500);
    t.ok(Math.abs(measureFrequency(c.caller.pcm(talk + 100, talk + 500), 8000) - 600) < 10, "the bot is heard first");
    const down = performance.now();
    await bot.crash();
    await sleep(1500);
    const outage = c.caller.pcm(down + 300, down + 1500); // 1.2 s: the 0.5 s file looped more than twice
    const f = measureFrequency(outage, 8000);
    t.ok(Math.abs(f - 440) < 10, `during the outage the caller hears the file's tone: ${f.toFixed(1)} Hz`);
    t.ok(toneLevelDb(outage, 8000, 440) > -30, `at its level (${toneLevelDb(outage, 8000, 440).toFixed(1)} dB)`);
    await c.s.app.event((m) => value(m).type === "StreamStateChanged" && value(m).data?.["state"] === "FAILED", 10_000);
    const failed = performance.now();
    await sleep(400);
    const after = c.caller.pcm(failed + 100, failed + 400);
    t.ok(toneLevelDb(after, 8000, 440) < -45, "after FAILED: silence (the application decides)");
  });

  await t.test("outageAudio outside files.mediaRoots: the outage stays silent, the call goes on", async (t) => {
    const bot = await TestBot.start("twilio");
    const c = await call(t, server, bot, "twilio", { retrySeconds: 1, outageAudio: "file:///etc/passwd" });
    await bot.connection(0);
    const down = performance.now();
    await bot.crash();
    await sleep(600);
    const pcm = c.caller.pcm(down + 100, down + 600);
    t.ok(pcm.length >= 3000, `the caller keeps receiving RTP (${pcm.length} samples)`);
    t.ok(Math.max(...pcm.map(Math.abs)) < 100, "silence");
  });

  await t.test("hostile input from a Twilio bot is counted and dropped", async (t) => {
    const bot = await TestBot.start("twilio");
    t.teardown(() => bot.close());
    const c = await call(t, server, bot, "twilio", { maxQueueSeconds: 5 });
    const conn = await bot.connection(0);
    await sleep(300);
    conn.ws.send("{not json");
    conn.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    conn.ws.send(JSON.stringify({ event: "media", media: { payload: "x".repeat(300 * 1024) } }));
    conn.ws.send(JSON.stringify({ event: "media", media: { payload: "!!notbase64" } }));
    conn.ws.send(JSON.stringify({ event: "mark", mark: {} }));
    conn.ws.send(JSON.stringify({ event: "custom", hello: "world" }));
    conn.sendTone(600, 20, 500); // 20 s into a 5 s queue.
    await sleep(500);
    t.equal(await get(c, "getBotErrors"), 5, "five bad messages counted");
    t.ok(
      Number(await get(c, "getDroppedFrames")) >= 700,
      `the flood past the cap is dropped (${String(await get(c, "getDroppedFrames"))} frames)`,
    );
    t.ok(Number(await get(c, "getQueuedMs")) <= 5000, "the playout queue stays within its cap");
    const msg = await c.s.app.event((m) => value(m).type === "BotMessage", 3000);
    t.match(JSON.parse(String(value(msg).data?.["message"])), { event: "custom" }, "unknown JSON is a BotMessage");
    t.equal(await get(c, "getStreamState"), "STREAMING", "the stream goes on");
    const from = performance.now();
    await sleep(600);
    const f = measureFrequency(c.caller.pcm(from), 8000);
    t.ok(Math.abs(f - 600) < 10, `the caller still hears the bot (${f.toFixed(1)} Hz)`);
    conn.clear();
    await c.caller.sendTone(1000, 0.6);
    const heard = conn.pcm(0, from + 700);
    t.ok(Math.abs(measureFrequency(heard, 8000) - 1000) < 10, "and the bot still hears the caller");
  });

  await t.test("hostile input from a jambonz bot is counted and dropped", async (t) => {
    const bot = await TestBot.start("jambonz");
    t.teardown(() => bot.close());
    const c = await call(t, server, bot, "jambonz");
    const conn = await bot.connection(0);
    await sleep(300);
    conn.ws.send(Buffer.alloc(321), { binary: true }); // not whole 16-bit samples
    conn.ws.send(Buffer.alloc(300 * 1024), { binary: true }); // oversized
    conn.ws.send("[1,2]");
    conn.ws.send(JSON.stringify({ type: "mark", data: { name: "" } }));
    await sleep(300);
    t.equal(await get(c, "getBotErrors"), 4, "four bad messages counted");
    conn.sendTone(600, 0.6);
    const from = performance.now();
    await sleep(500);
    t.ok(Math.abs(measureFrequency(c.caller.pcm(from + 100), 8000) - 600) < 10, "the caller still hears the bot");
    t.equal(await get(c, "getStreamState"), "STREAMING", "the stream goes on");
  });

  await t.test("a refused URI fails create", async (t) => {
    const s = await openAppSession(t, server.url);
    for (const [uri, re] of [
      ["http://127.0.0.1/", /scheme/],
      ["ws://user:pw@127.0.0.1/", /credentials/],
      ["ws://10.1.2.3/", /private/],
    ] as const) {
      const r = await s.app.call("create", {
        type: "WebSocketEndpoint",
        constructorParams: { mediaPipeline: s.pipeline, uri },
        sessionId: s.sessionId,
      });
      t.match(r.error?.message, re, `${uri}: ${r.error?.code} ${r.error?.message}`);
    }
    const r = await s.app.call("create", {
      type: "WebSocketEndpoint",
      constructorParams: { mediaPipeline: s.pipeline, uri: "ws://127.0.0.1/", headers: { "X-A": "a\r\nInjected: 1" } },
      sessionId: s.sessionId,
    });
    t.match(r.error?.message, /CR, LF/, "a header value with CR/LF is refused");
  });
});

/**
 * WebSocketEndpoint audio formats (issue 14 §1), against the built server (`npm run build` first), with RTP callers
 * and a jambonz bot on loopback, checked by frequency:
 * - jambonz 24 kHz: the bot receives 24 kHz L16 carrying the caller's 1 kHz tone; its 600 Hz at 24 kHz reaches the
 *   caller at 600 Hz;
 * - stereo (`channels: 2`): the caller's 1 kHz tone on the left channel, the source connected with
 *   sinkMediaDescription "right" (700 Hz) on the right.
 */
import t from "tap";
import { openAppSession, type AppSession } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { measureFrequency } from "../helpers/tone.js";
import { RtpCaller, TestBot } from "../helpers/voicebot.js";

t.setTimeout(90_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An RtpEndpoint answering `caller`'s offer. */
async function rtpFor(s: AppSession, caller: RtpCaller): Promise<string> {
  const rtp = String(await s.call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: s.pipeline } }));
  const answer = String(
    await s.call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer: caller.offer() } }),
  );
  caller.connectTo(Number(/m=audio (\d+)/.exec(answer)?.[1]));
  return rtp;
}

async function connect(s: AppSession, a: string, b: string, sinkMediaDescription?: string): Promise<void> {
  await s.call("invoke", {
    object: a,
    operation: "connect",
    operationParams: {
      sink: b,
      mediaType: "AUDIO",
      ...(sinkMediaDescription === undefined ? {} : { sinkMediaDescription }),
    },
  });
}

t.test("WebSocketEndpoint formats", async (t) => {
  const server = await startKorus(t, { workers: 1, config: { httpMedia: { allowNetworks: ["127.0.0.0/8"] } } });

  await t.test("jambonz 24 kHz both ways", async (t) => {
    const bot = await TestBot.start("jambonz");
    t.teardown(() => bot.close());
    const caller = await RtpCaller.open();
    t.teardown(() => caller.close());
    const s = await openAppSession(t, server.url);
    const rtp = await rtpFor(s, caller);
    const ws = String(
      await s.call("create", {
        type: "WebSocketEndpoint",
        constructorParams: {
          mediaPipeline: s.pipeline,
          uri: `ws://127.0.0.1:${bot.port}/l`,
          protocol: "jambonz",
          sampleRate: 24000,
        },
      }),
    );
    await connect(s, rtp, ws);
    await connect(s, ws, rtp);
    const conn = await bot.connection();
    await sleep(500);
    t.match(conn.json[0]?.msg, { sampleRate: 24000, mixType: "mono" }, "the metadata says 24 kHz mono");
    const toneStart = performance.now();
    await caller.sendTone(1000, 1.2);
    await sleep(200);
    const heard = conn.pcm(0, toneStart + 300);
    t.ok(heard.length >= 24000 * 0.5, `the bot got 24 kHz audio (${heard.length} samples)`);
    const f1 = measureFrequency(heard, 24000);
    t.ok(Math.abs(f1 - 1000) < 10, `the bot hears the caller's tone at 24 kHz: ${f1.toFixed(1)} Hz`);

    const sent = performance.now();
    conn.sendTone(600, 1.5);
    await sleep(1700);
    const back = caller.pcm(sent + 200, sent + 1400);
    t.ok(back.length >= 8000 * 0.5, `the caller got the bot's audio (${back.length} samples)`);
    const f2 = measureFrequency(back, 8000);
    t.ok(Math.abs(f2 - 600) < 10, `the caller hears the bot's 24 kHz tone at ${f2.toFixed(1)} Hz`);
  });

  await t.test("stereo: the caller left, the right source right", async (t) => {
    const bot = await TestBot.start("jambonz");
    t.teardown(() => bot.close());
    const left = await RtpCaller.open();
    t.teardown(() => left.close());
    const right = await RtpCaller.open();
    t.teardown(() => right.close());
    const s = await openAppSession(t, server.url);
    const rtpL = await rtpFor(s, left);
    const rtpR = await rtpFor(s, right);
    const ws = String(
      await s.call("create", {
        type: "WebSocketEndpoint",
        constructorParams: {
          mediaPipeline: s.pipeline,
          uri: `ws://127.0.0.1:${bot.port}/l`,
          protocol: "jambonz",
          sampleRate: 16000,
          channels: 2,
        },
      }),
    );
    await connect(s, rtpL, ws);
    await connect(s, rtpR, ws, "right");
    const conn = await bot.connection();
    await sleep(500);
    t.match(conn.json[0]?.msg, { sampleRate: 16000, mixType: "stereo" }, "the metadata says stereo");
    const toneStart = performance.now();
    await Promise.all([left.sendTone(1000, 1.2), right.sendTone(700, 1.2)]);
    await sleep(200);
    const l = conn.pcm(0, toneStart + 300);
    const r = conn.pcm(1, toneStart + 300);
    t.ok(l.length >= 16000 * 0.5 && r.length === l.length, `both channels (${l.length}, ${r.length} samples)`);
    const fl = measureFrequency(l, 16000);
    const fr = measureFrequency(r, 16000);
    t.ok(Math.abs(fl - 1000) < 10, `left: the caller's 1 kHz (${fl.toFixed(1)} Hz)`);
    t.ok(Math.abs(fr - 700) < 10, `right: the other source's 700 Hz (${fr.toFixed(1)} Hz)`);
  });
});

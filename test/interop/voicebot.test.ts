/**
 * WebSocketEndpoint end to end against the built server (`npm run build` first), once per protocol (issue 14 §2):
 * a caller (RTP over UDP into an RtpEndpoint) ⇄ WebSocketEndpoint ⇄ a bot written from the protocol documents
 * (test/helpers/voicebot.ts). The bot checks the caller's 1 kHz tone by frequency; it sends a 600 Hz tone back and
 * the caller hears it; a `clear`/`killAudio` mid-playout silences the caller within 60 ms (measured on the RTP the
 * caller receives); its marks come back in order, the first after its audio played, the second (still queued) at
 * the clear; RFC 4733 DTMF from the caller reaches the bot and is raised as DtmfReceived.
 */
import t from "tap";
import { openAppSession } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { measureFrequency, toneLevelDb } from "../helpers/tone.js";
import { RtpCaller, TestBot, type Json, type Protocol } from "../helpers/voicebot.js";

t.setTimeout(120_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface EventValue {
  type?: string;
  object?: string;
  data?: Record<string, unknown>;
}
const value = (m: { params?: Record<string, unknown> }): EventValue => m.params?.["value"] ?? {};

t.test("WebSocketEndpoint with a bot on each protocol", async (t) => {
  const server = await startKorus(t, { workers: 1, config: { httpMedia: { allowNetworks: ["127.0.0.0/8"] } } });

  for (const protocol of ["twilio", "jambonz"] as const satisfies readonly Protocol[]) {
    await t.test(protocol, async (t) => {
      const bot = await TestBot.start(protocol);
      t.teardown(() => bot.close());
      const caller = await RtpCaller.open();
      t.teardown(() => caller.close());
      const s = await openAppSession(t, server.url);
      const rtp = String(
        await s.call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: s.pipeline } }),
      );
      const answer = String(
        await s.call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer: caller.offer() } }),
      );
      caller.connectTo(Number(/m=audio (\d+)/.exec(answer)?.[1]));
      const sampleRate = protocol === "jambonz" ? 16000 : 8000;
      const ws = String(
        await s.call("create", {
          type: "WebSocketEndpoint",
          constructorParams: {
            mediaPipeline: s.pipeline,
            uri: `ws://127.0.0.1:${bot.port}/call`,
            protocol,
            headers: { Authorization: "Bearer t0ken" },
            parameters: { lang: "en" },
            sampleRate,
          },
        }),
      );
      t.match(ws, /WebSocketEndpoint$/, "created as korus.WebSocketEndpoint");
      for (const type of ["StreamStateChanged", "DtmfReceived"]) {
        await s.call("subscribe", { object: ws, type });
      }
      for (const [a, b] of [
        [rtp, ws],
        [ws, rtp],
      ]) {
        await s.call("invoke", { object: a, operation: "connect", operationParams: { sink: b, mediaType: "AUDIO" } });
      }
      const conn = await bot.connection();
      t.equal(conn.headers.authorization, "Bearer t0ken", "the extra header reaches the bot");
      if (protocol === "twilio") {
        await waitFor(() => conn.messages("start").length > 0, 5000);
        t.equal(conn.json[0]?.msg["event"], "connected", "Twilio: connected first");
        const start = conn.messages("start")[0]?.msg["start"] as Json;
        t.match(start, {
          customParameters: { lang: "en" },
          mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000 },
        });
      } else {
        await waitFor(() => conn.json.length > 0, 5000);
        t.equal(conn.subprotocol, "audio.jambonz.org", "jambonz: the subprotocol is audio.jambonz.org");
        t.match(conn.json[0]?.msg, { lang: "en", sampleRate: 16000, mixType: "mono" }, "jambonz: the metadata frame");
      }
      // The socket may open before the subscription: the state is read, not awaited as an event.
      let state: unknown;
      await waitFor(
        () => state === "STREAMING",
        10_000,
        async () => {
          state = await s.call("invoke", { object: ws, operation: "getStreamState" });
        },
      ).catch(() => undefined);
      t.equal(state, "STREAMING", "getStreamState");

      // Caller → bot: a 1 kHz tone, checked by frequency.
      const toneStart = performance.now();
      await caller.sendTone(1000, 1.2);
      await sleep(200);
      const heardByBot = conn.pcm(0, toneStart + 300);
      t.ok(heardByBot.length >= sampleRate * 0.5, `the bot got the caller's audio (${heardByBot.length} samples)`);
      const f1 = measureFrequency(heardByBot, conn.protocol === "twilio" ? 8000 : conn.sampleRate);
      t.ok(Math.abs(f1 - 1000) < 10, `the bot hears the caller's tone: ${f1.toFixed(1)} Hz`);

      // Bot → caller: 600 Hz, mark "a" after 1 s of it, 2 s more, mark "b"; then a barge-in at 1.5 s.
      const sent = performance.now();
      conn.sendTone(600, 1.0);
      conn.mark("a");
      conn.sendTone(600, 2.0);
      conn.mark("b");
      await sleep(1500);
      const clearAt = performance.now();
      conn.clear();
      await sleep(600);
      const heard = caller.pcm(sent + 200, clearAt);
      const f2 = measureFrequency(heard, 8000);
      t.ok(Math.abs(f2 - 600) < 10, `the caller hears the bot's tone: ${f2.toFixed(1)} Hz`);
      const after = caller.received.filter((r) => r.at >= clearAt);
      const silent = after.find((r) => toneLevelDb(r.pcm, 8000, 600) < -45);
      t.ok(silent !== undefined, "the caller's audio drops after the clear");
      const dropMs = (silent?.at ?? Number.POSITIVE_INFINITY) - clearAt;
      t.ok(dropMs <= 60, `barge-in: the 600 Hz stops ${dropMs.toFixed(1)} ms after the clear (≤ 60)`);
      const lateTone = after.filter((r) => r.at > clearAt + 60 && toneLevelDb(r.pcm, 8000, 600) > -45);
      t.equal(lateTone.length, 0, "and stays off");

      const marks = conn.messages("mark").map((m) => ({ at: m.at, ...marks0(m.msg) }));
      t.same(
        marks.map((m) => m.name),
        ["a", "b"],
        "both marks come back, in order",
      );
      const a = marks[0];
      const b = marks[1];
      t.ok(
        a !== undefined && a.at - sent >= 950 && a.at < clearAt,
        `mark a after its 1 s of audio played (${((a?.at ?? 0) - sent).toFixed(0)} ms)`,
      );
      t.ok(b !== undefined && b.at >= clearAt, "mark b, still queued, answered at the clear");
      if (protocol === "jambonz") {
        t.same([a?.event, b?.event], ["playout", "cleared"], "jambonz: playout, then cleared");
      }

      // DTMF: RFC 4733 from the caller.
      await caller.sendDigit(5);
      await waitFor(() => conn.messages("dtmf").length > 0, 3000).catch(() => undefined);
      const dtmf = conn.messages("dtmf")[0]?.msg;
      if (protocol === "twilio") {
        t.match(dtmf, { event: "dtmf", dtmf: { track: "inbound_track", digit: "5" } }, "Twilio dtmf event");
      } else {
        t.match(dtmf, { event: "dtmf", dtmf: "5" }, "jambonz dtmf event");
      }
      t.equal(conn.messages("dtmf").length, 1, "one digit per key press");
      const ev = await s.app.event((m) => value(m).type === "DtmfReceived", 5000);
      t.equal(value(ev).data?.["digit"], "5", "DtmfReceived raised on the element");

      await s.call("release", { object: ws });
      await Promise.race([conn.closed, sleep(3000)]);
      t.equal(conn.ws.readyState, conn.ws.CLOSED, "release closes the bot's socket");
      if (protocol === "twilio") {
        t.equal(conn.json.at(-1)?.msg["event"], "stop", "Twilio: stop is the last message");
      }
    });
  }
});

function marks0(msg: Json): { name?: string; event?: string } {
  const m = (msg["mark"] ?? msg["data"]) as { name?: string; event?: string } | undefined;
  return { name: m?.name, event: m?.event };
}

async function waitFor(pred: () => boolean, ms: number, poll?: () => Promise<void>): Promise<void> {
  const end = performance.now() + ms;
  await poll?.();
  while (!pred()) {
    await poll?.();
    if (performance.now() > end) {
      throw new Error("timed out");
    }
    await sleep(20);
  }
}

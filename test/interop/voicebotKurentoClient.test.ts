/**
 * A kurento-client 7.3.0 application with the generated client module (examples/kurento-module-korus, linked into
 * test/kurento-client) wires RtpEndpoint ⇄ WebSocketEndpoint to a jambonz bot on loopback (issue 14 §2), against
 * the built server (`npm run build` first): `create("WebSocketEndpoint", …)` gives the generated class, its
 * constructor parameters are checked on the client, `getStreamState()` and `on("StreamStateChanged")` work, the bot
 * hears the caller's 1 kHz tone and the caller hears the bot's 600 Hz.
 */
import { createRequire } from "node:module";
import path from "node:path";
import t from "tap";
import {
  cb,
  connect,
  connectClient,
  createPipeline,
  kurento,
  release,
  type Callback,
  type KEvent,
  type MediaElement,
} from "../helpers/kurento.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { measureFrequency } from "../helpers/tone.js";
import { RtpCaller, TestBot } from "../helpers/voicebot.js";

interface WebSocketEndpoint extends MediaElement {
  getStreamState(callback: Callback<string>): void;
}
interface RtpEndpoint extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
}

t.setTimeout(90_000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const requireKc = createRequire(new URL("../kurento-client/package.json", import.meta.url));
// By path: test/kurento-client/node_modules may be shared with another checkout, whose link names its own example.
const korusModule = requireKc(path.join(ROOT, "examples/kurento-module-korus")) as {
  WebSocketEndpoint: abstract new () => unknown;
};
(kurento as unknown as { register: (m: unknown) => void }).register(korusModule);

t.test("kurento-client app: RtpEndpoint ⇄ WebSocketEndpoint ⇄ jambonz bot", async (t) => {
  const server = await startKorus(t, { workers: 1, config: { httpMedia: { allowNetworks: ["127.0.0.0/8"] } } });
  const bot = await TestBot.start("jambonz");
  t.teardown(() => bot.close());
  const caller = await RtpCaller.open();
  t.teardown(() => caller.close());
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));

  t.throws(
    () => pipeline.create("korus.WebSocketEndpoint", { uri: 42 }, () => undefined),
    /uri/,
    "the generated constructorParams are checked on the client",
  );
  let created: unknown;
  const ws = (await cb<MediaElement>((done) =>
    pipeline.create(
      "korus.WebSocketEndpoint",
      { uri: `ws://127.0.0.1:${bot.port}/listen`, protocol: "jambonz", sampleRate: 8000 },
      (err, el) => {
        created = el;
        done(err, el);
      },
    ),
  )) as WebSocketEndpoint;
  t.ok(created instanceof korusModule.WebSocketEndpoint, "an instance of the generated class");
  const states: KEvent[] = [];
  ws.on("StreamStateChanged", (ev) => states.push(ev));

  const rtp = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpoint;
  const answer = await cb<string>((done) => rtp.processOffer(caller.offer(), done));
  caller.connectTo(Number(/m=audio (\d+)/.exec(answer)?.[1]));
  await connect(rtp, ws);
  await connect(ws, rtp);

  const conn = await bot.connection();
  let state = "";
  for (let i = 0; i < 100 && state !== "STREAMING"; i++) {
    state = await cb<string>((done) => ws.getStreamState(done));
    await sleep(50);
  }
  t.equal(state, "STREAMING", "getStreamState() (generated getter)");

  const from = performance.now();
  await caller.sendTone(1000, 1);
  const f1 = measureFrequency(conn.pcm(0, from + 300), 8000);
  t.ok(Math.abs(f1 - 1000) < 10, `the bot hears the caller (${f1.toFixed(1)} Hz)`);
  const sent = performance.now();
  conn.sendTone(600, 1);
  await sleep(1100);
  const f2 = measureFrequency(caller.pcm(sent + 200, sent + 900), 8000);
  t.ok(Math.abs(f2 - 600) < 10, `the caller hears the bot (${f2.toFixed(1)} Hz)`);

  await bot.crash();
  await sleep(500);
  const seen = states.map((s) => String(s["state"]));
  t.ok(seen.includes("CONNECTING"), `a dropped bot raises StreamStateChanged on the client (${seen.join(" → ")})`);
  await release(ws);
});

/**
 * The module door end to end (issue 10 §2, docs/modules.md), against the built server (`npm run build` first):
 *
 * - the example module examples/korus-module-audiolevel, copied to a folder outside the repository and named in
 *   `modules:`, gives AudioLevelFilter to a raw JSON-RPC client: created in a pipeline, fed a real PCMU tone by an
 *   RtpEndpoint, it raises AudioLevel events whose dBov matches the tone's level within 1 dB, at the level of each
 *   of two tones in turn; its period is a property; its control hooks count it on an HTTP route; it is released;
 * - a module whose descriptor is broken, whose type conflicts with another's, or whose dependency is missing
 *   stops start-up: the process exits non-zero and its output names the module.
 */
import { createSocket } from "node:dgram";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { G711Encoder } from "../../media/codecs/index.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { generateTone } from "../helpers/tone.js";

const EXAMPLE = path.join(ROOT, "examples/korus-module-audiolevel");

/** A copy of the example module in a fresh folder outside the repository. */
function copyExample(t: Test, name = "korus-module-audiolevel"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-module-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = path.join(dir, name);
  cpSync(EXAMPLE, target, { recursive: true });
  return target;
}

/** RMS level in dBov of a sine of peak `amplitude` (full-scale square = 0 dBov). */
const sineDbov = (amplitude: number): number => 20 * Math.log10(amplitude / Math.SQRT2 / 32768);

/** The AudioLevel events of `source` received so far, as levels. */
function levels(app: RpcClient, source: string): number[] {
  return app.events
    .map((e: RpcMessage) => e.params?.["value"] as { type?: string; data?: { source?: string; level?: number } })
    .filter((v) => v.type === "AudioLevel" && v.data?.source === source)
    .map((v) => v.data?.level ?? Number.NaN);
}

/** Sends `seconds` of a 440 Hz PCMU tone of peak `amplitude` to `port`, paced at 20 ms. */
async function sendTone(port: number, amplitude: number, seconds: number, seq: { n: number }): Promise<void> {
  const sock = createSocket("udp4");
  const enc = new G711Encoder("PCMU");
  const pcm = generateTone(440, { sampleRate: 8000, samples: 8000 * seconds, amplitude });
  try {
    for (let off = 0; off + 160 <= pcm.length; off += 160) {
      const payload = enc.encode(pcm.subarray(off, off + 160));
      const pkt = Buffer.alloc(12 + payload.length);
      pkt[0] = 0x80;
      pkt[1] = 0;
      pkt.writeUInt16BE(seq.n & 0xffff, 2);
      pkt.writeUInt32BE((seq.n * 160) >>> 0, 4);
      pkt.writeUInt32BE(0x1234abcd, 8);
      pkt.set(payload, 12);
      seq.n++;
      sock.send(pkt, port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sock.close();
  }
}

t.test("the example module, copied outside the repository, measures a real tone's level", async (t) => {
  const dir = copyExample(t);
  const k = await startKorus(t, { workers: 1, config: { modules: [dir] } });
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const first = await app.call("create", { type: "MediaPipeline", constructorParams: {} });
  const sessionId = first.result?.["sessionId"] as string;
  const call = async (method: string, params: Record<string, unknown>): Promise<unknown> =>
    app.value(method, { ...params, sessionId });
  const pipeline = first.result?.["value"] as string;
  const filter = String(
    await call("create", { type: "AudioLevelFilter", constructorParams: { mediaPipeline: pipeline, period: 100 } }),
  );
  t.match(filter, /audiolevel\.AudioLevelFilter$/, "the id carries the module's qualified type");
  t.equal(await call("invoke", { object: filter, operation: "getPeriod" }), 100, "the constructor set the period");
  await call("invoke", { object: filter, operation: "setPeriod", operationParams: { period: 200 } });
  t.equal(await call("invoke", { object: filter, operation: "getPeriod" }), 200, "the period is a property");
  const described = (await app.call("describe", { object: filter, sessionId })).result;
  t.equal(described?.["type"], "AudioLevelFilter");
  t.ok(String(described?.["hierarchy"]).includes("kurento.Filter"), "describe knows its kmd hierarchy");
  const info = (await call("invoke", { object: "manager_ServerManager", operation: "getInfo" })) as {
    modules: { name: string; factories: string[] }[];
  };
  t.same(
    info.modules.find((m) => m.name === "audiolevel")?.factories,
    ["AudioLevelFilter"],
    "getInfo lists the module and its factory",
  );
  const kmdText = String(
    await call("invoke", {
      object: "manager_ServerManager",
      operation: "getKmd",
      operationParams: { moduleName: "audiolevel" },
    }),
  );
  t.match(JSON.parse(kmdText), { name: "audiolevel", events: [{ name: "AudioLevel" }] }, "getKmd serves its kmd");
  const bad = await app.call("create", {
    type: "AudioLevelFilter",
    constructorParams: { mediaPipeline: pipeline, period: "fast" },
    sessionId,
  });
  t.equal(bad.error?.code, 40001, "constructor parameters are validated against the module's kmd");

  const counted = async (): Promise<number> =>
    ((await (await fetch(`${k.httpUrl}/audiolevel/filters`)).json()) as { filters: number }).filters;
  t.equal(await counted(), 1, "the module's control hooks saw the element created (HTTP route)");

  await call("subscribe", { object: filter, type: "AudioLevel" });
  const rtp = String(await call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } }));
  await call("invoke", { object: rtp, operation: "connect", operationParams: { sink: filter, mediaType: "AUDIO" } });
  const offer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 9 RTP/AVP 0",
    "a=rtpmap:0 PCMU/8000",
    "a=sendonly",
    "",
  ].join("\r\n");
  const answer = String(await call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer } }));
  const port = Number(/m=audio (\d+)/.exec(answer)?.[1]);
  t.ok(port > 0, `the answer has an audio port (${port})`);

  const seq = { n: 1 };
  const loud = 12000;
  const quiet = 1500;
  await sendTone(port, loud, 1.2, seq);
  const loudLevels = levels(app, filter);
  await sendTone(port, quiet, 1.2, seq);
  const quietLevels = levels(app, filter).slice(loudLevels.length);
  t.ok(loudLevels.length >= 3, `AudioLevel events a few times a second (${loudLevels.length} in 1.2 s)`);
  t.ok(quietLevels.length >= 3, `and again for the second tone (${quietLevels.length})`);
  // The first event may straddle silence before the tone; the last ones are inside it.
  const lastLoud = loudLevels[loudLevels.length - 1] ?? Number.NaN;
  const lastQuiet = quietLevels[quietLevels.length - 1] ?? Number.NaN;
  t.ok(
    Math.abs(lastLoud - sineDbov(loud)) <= 1,
    `loud tone: ${lastLoud} dBov, expected ${sineDbov(loud).toFixed(2)} ± 1`,
  );
  t.ok(
    Math.abs(lastQuiet - sineDbov(quiet)) <= 1,
    `quiet tone: ${lastQuiet} dBov, expected ${sineDbov(quiet).toFixed(2)} ± 1`,
  );

  await call("release", { object: filter });
  const gone = await app.call("invoke", { object: filter, operation: "getPeriod", sessionId });
  t.equal(gone.error?.code, 40101, "a released filter is gone");
  t.equal(await counted(), 0, "the control hooks saw it released");
  const after = levels(app, filter).length;
  await sendTone(port, loud, 0.5, seq);
  t.equal(levels(app, filter).length, after, "no event after release");
  await call("release", { object: pipeline });
});

/** Starts Korus with `modules` and expects start-up to fail naming `name`. */
async function refused(t: Test, modules: string[], name: string, why: RegExp): Promise<void> {
  const err = await startKorus(undefined, { workers: 1, config: { modules }, startTimeoutMs: 15_000 }).then(
    async (k) => {
      await k.stop();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  t.ok(err !== undefined, "start-up fails");
  const message = err?.message ?? "";
  t.match(message, /korus exited during start-up \(code [1-9]/, "the process exits non-zero");
  t.match(message, new RegExp(`module '${name}'`), `the output names the module '${name}'`);
  t.match(message, why, "and says why");
}

t.test("a module with a broken descriptor refuses start, naming the module", async (t) => {
  const dir = copyExample(t);
  const kmdFile = path.join(dir, "audiolevel.kmd.json");
  const kmd = JSON.parse(readFileSync(kmdFile, "utf8")) as { remoteClasses: { extends?: string }[] };
  kmd.remoteClasses[0]!.extends = "NoSuchBaseClass";
  writeFileSync(kmdFile, JSON.stringify(kmd));
  await refused(t, [dir], "audiolevel", /NoSuchBaseClass/);
  writeFileSync(kmdFile, "{ not json");
  await refused(t, [dir], dir, /not valid JSON/);
});

t.test("two modules describing the same type refuse start, naming the second", async (t) => {
  const a = copyExample(t);
  const b = copyExample(t, "copy");
  const kmdFile = path.join(b, "audiolevel.kmd.json");
  const kmd = JSON.parse(readFileSync(kmdFile, "utf8")) as { name: string };
  kmd.name = "audiolevel2";
  writeFileSync(kmdFile, JSON.stringify(kmd));
  await refused(t, [a, b], "audiolevel2", /AudioLevelFilter.*already describes/);
});

t.test("a module whose dependency is missing refuses start, naming it", async (t) => {
  const dir = copyExample(t);
  const pkgFile = path.join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(pkgFile, "utf8")) as { korus: { dependencies: string[] } };
  pkg.korus.dependencies = ["speechkit"];
  writeFileSync(pkgFile, JSON.stringify(pkg));
  await refused(t, [dir], "audiolevel", /depends on module 'speechkit'/);
});

t.test("a module whose worker entry throws refuses start, naming it", async (t) => {
  const dir = copyExample(t);
  writeFileSync(path.join(dir, "worker.js"), 'export default function register() { throw new Error("boom"); }\n');
  await refused(t, [dir], "audiolevel", /boom/);
});

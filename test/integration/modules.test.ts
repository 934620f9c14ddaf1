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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { copyExample, PCMU_SENDONLY_OFFER, sendTone, sineDbov } from "../helpers/audiolevelModule.js";
import { openAppSession, RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";

/** The AudioLevel events of `source` received so far, as levels. */
function levels(app: RpcClient, source: string): number[] {
  return app.events
    .map((e: RpcMessage) => e.params?.["value"] as { type?: string; data?: { source?: string; level?: number } })
    .filter((v) => v.type === "AudioLevel" && v.data?.source === source)
    .map((v) => v.data?.level ?? Number.NaN);
}

t.test("the example module, copied outside the repository, measures a real tone's level", async (t) => {
  const dir = copyExample(t);
  const k = await startKorus(t, { workers: 1, config: { modules: [dir] } });
  const { app, sessionId, pipeline, call } = await openAppSession(t, k.url);
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
  const answer = String(
    await call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer: PCMU_SENDONLY_OFFER } }),
  );
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

t.test("the module's configuration section reaches its worker and control entries", async (t) => {
  const dir = copyExample(t);
  const k = await startKorus(t, { workers: 1, config: { modules: [dir], audiolevel: { period: 500 } } });
  const { app, pipeline, call } = await openAppSession(t, k.url);
  const filter = String(
    await call("create", { type: "AudioLevelFilter", constructorParams: { mediaPipeline: pipeline } }),
  );
  t.equal(
    await call("invoke", { object: filter, operation: "getPeriod" }),
    500,
    "the configured period is the default",
  );
  const route = (await (await fetch(`${k.httpUrl}/audiolevel/filters`)).json()) as { period?: number };
  t.equal(route.period, 500, "the control entry received the section too");
  await call("subscribe", { object: filter, type: "AudioLevel" });
  const rtp = String(await call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } }));
  await call("invoke", { object: rtp, operation: "connect", operationParams: { sink: filter, mediaType: "AUDIO" } });
  const answer = String(
    await call("invoke", { object: rtp, operation: "processOffer", operationParams: { offer: PCMU_SENDONLY_OFFER } }),
  );
  const port = Number(/m=audio (\d+)/.exec(answer)?.[1]);
  await sendTone(port, 8000, 2.2, { n: 1 });
  await new Promise((r) => setTimeout(r, 200));
  // 2.2 s of audio at one event per 500 ms: 4 events (at 200 ms, the example's own default, it would be 11).
  const n = levels(app, filter).length;
  t.ok(n >= 3 && n <= 5, `AudioLevel events at the configured period (${n} in 2.2 s, expected 4)`);
  await call("release", { object: pipeline });
});

/** Starts Korus with the example module and `section` as its configuration; expects exit status 2 and `why`. */
async function refusedConfig(t: Test, section: Record<string, unknown>, why: RegExp): Promise<void> {
  const dir = copyExample(t);
  const err = await startKorus(undefined, {
    workers: 1,
    config: { modules: [dir], audiolevel: section },
    startTimeoutMs: 15_000,
  }).then(
    async (k) => {
      await k.stop();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  t.match(err?.message ?? "start-up did not fail", /korus exited during start-up \(code 2,/, "exit status 2");
  t.match(err?.message ?? "", why, "the output names the key path and the reason");
}

t.test("an invalid or unknown key in a module's section refuses start with its path", async (t) => {
  await refusedConfig(t, { period: 5 }, /config: audiolevel\.period: must be an integer from 20 to 10000, got 5/);
  await refusedConfig(t, { perod: 300 }, /config: audiolevel\.perod: unknown key \(known: period\)/);
});

/** A module without element types whose control entry serves `ControlApi.invoke` at GET /probe/invoke. */
function probeModule(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-probe-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const korus = { kmd: "./probe.kmd.json", worker: "./worker.js", control: "./control.js" };
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "probe", type: "module", korus }));
  writeFileSync(
    path.join(dir, "probe.kmd.json"),
    JSON.stringify({ name: "probe", version: "1.0.0", remoteClasses: [], complexTypes: [], events: [] }),
  );
  writeFileSync(path.join(dir, "worker.js"), "export default function register() {}\n");
  writeFileSync(
    path.join(dir, "control.js"),
    `export default function control(api) {
  const route = async (req, res) => {
    const url = new URL(req.url, "http://korus");
    if (url.pathname !== "/probe/invoke") return false;
    const q = url.searchParams;
    let body;
    try {
      body = { value: await api.invoke(q.get("id"), q.get("op"), JSON.parse(q.get("args") ?? "{}")) };
    } catch (err) {
      body = { error: { name: err.name, code: err.code, message: err.message } };
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    return true;
  };
  return { routes: [route] };
}
`,
  );
  return dir;
}

t.test("ControlApi.invoke runs an operation on a live object in its worker", async (t) => {
  const k = await startKorus(t, { workers: 1, config: { modules: [copyExample(t), probeModule(t)] } });
  const { app, sessionId, pipeline } = await openAppSession(t, k.url);
  const filter = String(
    await app.value("create", {
      type: "AudioLevelFilter",
      constructorParams: { mediaPipeline: pipeline, period: 300 },
      sessionId,
    }),
  );
  type Answer = { value?: unknown; error?: { name?: string; code?: number; message?: string } };
  const invoke = async (id: string, op: string, args: Record<string, unknown> = {}): Promise<Answer> => {
    const q = new URLSearchParams({ id, op, args: JSON.stringify(args) });
    return (await (await fetch(`${k.httpUrl}/probe/invoke?${q.toString()}`)).json()) as Answer;
  };
  t.same(await invoke(filter, "getPeriod"), { value: 300 }, "a getter answers its value");
  t.same(await invoke(filter, "setPeriod", { period: 600 }), { value: null }, "a setter answers null");
  t.equal(
    await app.value("invoke", { object: filter, operation: "getPeriod", sessionId }),
    600,
    "the operation ran on the element clients see",
  );
  const rejected = await invoke(filter, "setPeriod", { period: 5 });
  t.match(rejected.error?.message, /20 to 10000/, "the worker's error is the rejection");
  t.equal(await app.value("invoke", { object: filter, operation: "getPeriod", sessionId }), 600, "and changed nothing");
  t.match(
    await invoke("no-such-object", "getPeriod"),
    { error: { name: "KurentoError", code: 40101 } },
    "an unknown object rejects MEDIA_OBJECT_NOT_FOUND",
  );
  await app.value("release", { object: filter, sessionId });
  t.match(await invoke(filter, "getPeriod"), { error: { code: 40101 } }, "so does a released one");
  await app.value("release", { object: pipeline, sessionId });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { KORUS_KMD } from "../../../../src/kurento/korusKmd.js";
import { korusModule, ModuleError, resolveModules, workerModules } from "../../../../src/modules/index.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-loader-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Spec {
  kmd?: unknown;
  deps?: string[];
  manifest?: Record<string, unknown>;
}

/** Writes a module folder named `name`; its kmd describes one Filter class `<Name>Filter` unless given. */
function mod(name: string, spec: Spec = {}): string {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  const cls = `${name.charAt(0).toUpperCase()}${name.slice(1)}Filter`;
  const kmd = spec.kmd ?? {
    name,
    version: "1.0.0",
    remoteClasses: [
      { name: cls, extends: "Filter", constructor: { params: [{ name: "mediaPipeline", type: "MediaPipeline" }] } },
    ],
    complexTypes: [],
    events: [],
  };
  writeFileSync(path.join(d, "m.kmd.json"), typeof kmd === "string" ? kmd : JSON.stringify(kmd));
  writeFileSync(path.join(d, "worker.js"), "export default function register() {}\n");
  writeFileSync(
    path.join(d, "package.json"),
    JSON.stringify({
      name,
      korus: spec.manifest ?? { kmd: "./m.kmd.json", worker: "./worker.js", dependencies: spec.deps ?? [] },
    }),
  );
  return d;
}

const builtin = [korusModule(new URL("file:///korus/dist/media/mediaWorker.js"))];

t.test("modules load dependencies first; their types join Kurento's and Korus's", (t) => {
  const b = mod("beta", { deps: ["alpha"] });
  const a = mod("alpha");
  const { modules, kmd } = resolveModules(builtin, [b, a], dir);
  t.same(
    modules.map((m) => m.name),
    ["korus", "alpha", "beta"],
  );
  t.equal(kmd.classByType("alpha.AlphaFilter")?.ancestors[0], "Filter");
  t.ok(kmd.classByType("SipEndpoint"), "the korus module's types");
  t.ok(kmd.classByType("WebRtcEndpoint"), "Kurento's types");
  t.same(workerModules(modules)[0], {
    name: "korus",
    worker: "file:///korus/dist/media/elements/sipModule.js",
    types: ["SipEndpoint", "SipGateway", "WebSocketEndpoint"],
    settings: {},
  });
  t.match(workerModules(modules)[2], { name: "beta", types: ["BetaFilter"], worker: /^file:\/\/.*worker\.js$/ });
  t.equal(KORUS_KMD.name, "korus");
  t.end();
});

const refuses = (t: Test, specs: string[], module: string, why: RegExp): void => {
  try {
    resolveModules(builtin, specs, dir);
    t.fail("expected a ModuleError");
  } catch (err) {
    t.ok(err instanceof ModuleError, String(err));
    t.equal((err as ModuleError).module, module);
    t.match((err as Error).message, why);
  }
};

t.test("every refusal names the module", (t) => {
  refuses(t, [mod("gamma", { deps: ["delta"] })], "gamma", /depends on module 'delta', which is not loaded/);
  refuses(t, [mod("c1", { deps: ["c2"] }), mod("c2", { deps: ["c1"] })], "c1", /dependency cycle: c1 -> c2 -> c1/);
  refuses(t, [mod("twin"), mod("twin2", { kmd: { name: "twin", version: "1", remoteClasses: [] } })], "twin", /taken/);
  refuses(t, [mod("core2", { kmd: { name: "core", version: "1" } })], "core", /taken \(by Kurento\)/);
  refuses(
    t,
    [mod("clash", { kmd: { name: "clash", version: "1", remoteClasses: [{ name: "WebRtcEndpoint" }] } })],
    "clash",
    /class 'WebRtcEndpoint', which module 'elements' already describes/,
  );
  refuses(
    t,
    [mod("orphan", { kmd: { name: "orphan", version: "1", remoteClasses: [{ name: "X", extends: "Nope" }] } })],
    "orphan",
    /class 'Nope' is not described/,
  );
  const broken = mod("broken", { kmd: "{" });
  refuses(t, [broken], broken, /not valid JSON/);
  refuses(t, [mod("noversion", { kmd: { name: "noversion" } })], "noversion", /'version' must be a string/);
  refuses(
    t,
    [
      mod("badparam", {
        kmd: { name: "badparam", version: "1", remoteClasses: [{ name: "Y", constructor: { params: [{}] } }] },
      }),
    ],
    "badparam",
    /parameter/,
  );
  const noworker = mod("noworker", { manifest: { kmd: "./m.kmd.json", worker: "./missing.js" } });
  refuses(t, [noworker], "noworker", /korus\.worker file .* does not exist/);
  const plain = path.join(dir, "plain");
  mkdirSync(plain);
  writeFileSync(path.join(plain, "package.json"), "{}");
  refuses(t, [plain], plain, /no 'korus' object/);
  refuses(t, ["korus-no-such-package-xyz"], "korus-no-such-package-xyz", /npm package not found/);
  t.end();
});

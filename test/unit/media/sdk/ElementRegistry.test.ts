import t from "tap";
import { registerBuiltinElements } from "../../../../media/elements/index.js";
import { PassThrough } from "../../../../media/elements/PassThrough.js";
import {
  createWorkerSdk,
  ElementRegistry,
  ElementRegistryError,
  loadWorkerModules,
} from "../../../../media/sdk/index.js";
import type { Logger } from "../../../../media/logger.js";

const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

t.test("Kurento's types register through the registry; a second registration of a type is refused", (t) => {
  const r = new ElementRegistry();
  registerBuiltinElements(r);
  t.same(r.types().sort(), [
    "Composite",
    "Dispatcher",
    "DispatcherOneToMany",
    "HubPort",
    "PassThrough",
    "PlayerEndpoint",
    "RecorderEndpoint",
    "RtpEndpoint",
    "WebRtcEndpoint",
  ]);
  t.equal(r.get("PassThrough"), PassThrough);
  t.equal(r.moduleOf("RtpEndpoint"), "elements");
  t.equal(r.get("SipEndpoint"), undefined, "SipEndpoint comes with the korus module, not as a built-in");
  t.throws(() => r.register("PassThrough", PassThrough, "mine"), {
    name: "ElementRegistryError",
    message: "module 'mine': element type 'PassThrough' is already registered by module 'core'",
  });
  t.throws(() => r.register("bad name", PassThrough, "mine"), ElementRegistryError);
  t.end();
});

t.test("a module's SDK registers only the concrete types its kmd describes", (t) => {
  const r = new ElementRegistry();
  const sdk = createWorkerSdk(r, "audiolevel", ["AudioLevelFilter"], logger);
  t.equal(sdk.module, "audiolevel");
  t.type(sdk.AudioFilter, "function");
  sdk.registerElement("AudioLevelFilter", PassThrough);
  t.equal(r.moduleOf("AudioLevelFilter"), "audiolevel");
  t.throws(() => sdk.registerElement("Other", PassThrough), /does not describe/);
  t.end();
});

t.test("loadWorkerModules names the module whose entry fails to import or has no default function", async (t) => {
  const r = new ElementRegistry();
  await t.rejects(
    loadWorkerModules(r, [{ name: "ghost", worker: "file:///nonexistent/worker.js", types: [] }], logger),
    /module 'ghost': its worker entry .* failed to load/,
  );
  const noDefault = `data:text/javascript,${encodeURIComponent("export const x = 1;")}`;
  await t.rejects(
    loadWorkerModules(r, [{ name: "nodefault", worker: noDefault, types: [] }], logger),
    /module 'nodefault': .*no default export function/,
  );
  const throws = `data:text/javascript,${encodeURIComponent("export default () => { throw new Error('bad'); };")}`;
  await t.rejects(
    loadWorkerModules(r, [{ name: "thrower", worker: throws, types: [] }], logger),
    /module 'thrower'.*bad/,
  );
});

t.test("a module's entry receives its configuration section as sdk.config ({} without one)", async (t) => {
  const r = new ElementRegistry();
  t.same(createWorkerSdk(r, "plain", [], logger).config, {}, "no section: {}");
  const entry = `data:text/javascript,${encodeURIComponent(
    "export default (sdk) => { if (sdk.config.period !== 500) throw new Error('period ' + sdk.config.period); };",
  )}`;
  await t.resolves(
    loadWorkerModules(r, [{ name: "level", worker: entry, types: [], settings: { period: 500 } }], logger),
  );
  await t.rejects(loadWorkerModules(r, [{ name: "level", worker: entry, types: [] }], logger), /period undefined/);
});

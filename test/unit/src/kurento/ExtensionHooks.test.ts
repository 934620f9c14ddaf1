/**
 * The stop-gap combinator over KurentoServer's one extension slot (src/kurento/ExtensionHooks.ts): WebRTC CDR hooks
 * and the SIP service's hooks installed together, in order, with first-answer rules for singletons and operations.
 */
import t from "tap";
import type { JsonObject } from "../../../../media/index.js";
import type { ClassInfo } from "../../../../src/kurento/kmd.js";
import { ExtensionHooks } from "../../../../src/kurento/ExtensionHooks.js";
import type { KurentoExtension } from "../../../../src/kurento/KurentoServer.js";
import type { KObject } from "../../../../src/kurento/ObjectRegistry.js";

function slot(): { installed: () => KurentoExtension | undefined; hooks: ExtensionHooks } {
  let ext: KurentoExtension | undefined;
  const hooks = new ExtensionHooks({
    setExtension: (e) => {
      ext = e;
    },
  });
  return { installed: () => ext, hooks };
}

const obj = { id: "o1" } as KObject;
const cls = { name: "SipGateway" } as ClassInfo;

t.test("one extension is installed as it is; removing the last empties the slot", async (t) => {
  const { installed, hooks } = slot();
  const a: KurentoExtension = {};
  const remove = hooks.add(a);
  t.equal(installed(), a);
  remove();
  t.equal(installed(), undefined);
  remove();
  t.equal(installed(), undefined, "removing twice is harmless");
});

t.test("several: every elementCreated and objectsGone hook runs in order; first answer wins", async (t) => {
  const { installed, hooks } = slot();
  const calls: string[] = [];
  hooks.add({
    elementCreated: () => {
      calls.push("a.created");
    },
    objectsGone: () => {
      calls.push("a.gone");
    },
    workerEvent: () => false,
  });
  const removeB = hooks.add({
    createSingleton: () => "b-singleton",
    elementCreated: () => {
      calls.push("b.created");
    },
    operation: (_o, op) => (op === "x" ? () => "b" : undefined),
    objectsGone: () => {
      calls.push("b.gone");
    },
    workerEvent: (_id, event) => event === "mine",
  });
  hooks.add({ createSingleton: () => "c-singleton", operation: () => () => "c" });
  const ext = installed();
  t.equal(ext?.createSingleton?.(cls), "b-singleton");
  t.equal(ext?.elementCreated?.(obj, {}), undefined, "synchronous hooks keep the create synchronous");
  ext?.objectsGone?.([obj], "released");
  t.same(calls, ["a.created", "b.created", "a.gone", "b.gone"]);
  t.equal(ext?.operation?.(obj, "x", {})?.(), "b");
  t.equal(ext?.operation?.(obj, "y", {})?.(), "c");
  const data: JsonObject = {};
  t.equal(ext?.workerEvent?.("o1", "mine", data), true);
  t.equal(ext?.workerEvent?.("o1", "other", data), false);
  removeB();
  t.equal(installed()?.createSingleton?.(cls), "c-singleton");
});

t.test("an asynchronous elementCreated chains the hooks after it, and its failure fails the create", async (t) => {
  const { installed, hooks } = slot();
  const calls: string[] = [];
  hooks.add({
    elementCreated: async () => {
      await new Promise((r) => setTimeout(r, 5));
      calls.push("a");
    },
  });
  hooks.add({
    elementCreated: () => {
      calls.push("b");
      throw new Error("claim failed");
    },
  });
  await t.rejects(Promise.resolve(installed()?.elementCreated?.(obj, {})), /claim failed/);
  t.same(calls, ["a", "b"]);
});

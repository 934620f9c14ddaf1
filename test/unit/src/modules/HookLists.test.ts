import t from "tap";
import type { ClassInfo } from "../../../../src/kurento/kmd.js";
import type { KObject } from "../../../../src/kurento/ObjectRegistry.js";
import { Writable } from "node:stream";
import { createRootLogger } from "../../../../src/logging/logger.js";
import { HookLists } from "../../../../src/modules/index.js";

function lists(): { hooks: HookLists; errors: unknown[] } {
  const errors: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      errors.push(chunk.toString("utf8"));
      cb();
    },
  });
  return { hooks: new HookLists(createRootLogger("error", sink)), errors };
}
const cls = { name: "SipGateway" } as ClassInfo;
const obj = { id: "o1" } as KObject;

t.test("first answer wins for createSingleton, operation and workerEvent, in registration order", (t) => {
  const { hooks } = lists();
  const asked: string[] = [];
  hooks.add("a", {
    createSingleton: () => {
      asked.push("a");
      return undefined;
    },
    operation: () => undefined,
    workerEvent: (_id, ev) => ev === "a-only",
  });
  hooks.add("b", {
    createSingleton: () => {
      asked.push("b");
      return "from-b";
    },
    operation: (_o, op) => (op === "x" ? () => "b-ran" : undefined),
    workerEvent: () => true,
  });
  hooks.add("c", {
    createSingleton: () => {
      asked.push("c");
      return "from-c";
    },
    workerEvent: () => {
      asked.push("c-event");
      return true;
    },
  });
  t.equal(hooks.createSingleton(cls), "from-b");
  t.same(asked, ["a", "b"], "c is not asked once b answered");
  t.equal(hooks.operation(obj, "x", {})?.(), "b-ran");
  t.equal(hooks.operation(obj, "y", {}), undefined, "nobody takes y over");
  t.equal(hooks.workerEvent("o1", "a-only", {}), true);
  t.equal(hooks.workerEvent("o1", "other", {}), true);
  t.notOk(asked.includes("c-event"), "a consumed event reaches no later hook");
  t.same(hooks.modules, ["a", "b", "c"]);
  t.throws(() => hooks.add("a", {}), /already added/);
  hooks.remove("b");
  t.equal(hooks.createSingleton(cls), "from-c", "after b is removed, c answers");
  t.end();
});

t.test("elementCreated and start run every hook in order; the first failure stops them", async (t) => {
  const { hooks } = lists();
  const ran: string[] = [];
  hooks.add("a", { elementCreated: () => void ran.push("a"), start: () => void ran.push("start-a") });
  hooks.add("b", {
    elementCreated: async () => {
      await new Promise((r) => setTimeout(r, 5));
      ran.push("b");
      throw new Error("refused");
    },
    start: () => {
      throw new Error("no db");
    },
  });
  hooks.add("c", { elementCreated: () => void ran.push("c"), start: () => void ran.push("start-c") });
  await t.rejects(hooks.elementCreated(obj, {}), /refused/);
  t.same(ran, ["a", "b"], "awaited one by one; c never ran");
  await t.rejects(hooks.start(), /module 'b': start hook failed: Error: no db/);
  t.notOk(ran.includes("start-c"));
});

t.test("objectsGone, sessionClosed and shutdown run every hook; failures are logged", async (t) => {
  const { hooks, errors } = lists();
  const ran: string[] = [];
  hooks.add("a", {
    objectsGone: () => {
      throw new Error("a broke");
    },
    sessionClosed: (id) => void ran.push(`a:${id}`),
    shutdown: () => void ran.push("down-a"),
    routes: [() => false],
  });
  hooks.add("b", {
    objectsGone: (o, reason) => void ran.push(`b:${o.length}:${reason}`),
    sessionClosed: () => {
      throw new Error("b broke");
    },
    shutdown: () => {
      throw new Error("b shutdown");
    },
    routes: [() => true],
  });
  hooks.objectsGone([obj], "worker-died", Promise.resolve({}));
  hooks.sessionClosed("s1");
  await hooks.shutdown();
  await new Promise((r) => setImmediate(r));
  t.same(ran, ["b:1:worker-died", "a:s1", "down-a"], "shutdown runs in reverse order (b, then a)");
  t.equal(errors.length, 3, "each failure logged");
  t.equal(hooks.routes().length, 2);
  t.ok(hooks.has("routes"));
  t.notOk(hooks.has("createSingleton"));
});

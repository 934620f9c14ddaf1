/**
 * The Kurento server runs the modules' control hooks (docs/modules.md §5) at the right moments, with the order and
 * answer rules of the hook lists: a module's hooks, added as a control entry's would be, see elements created and
 * released, take operations over, consume worker events and answer singleton creates; sessionClosed fires on
 * closeSession.
 */
import t from "tap";
import type { JsonObject } from "../../../../media/index.js";
import type { KObject } from "../../../../src/kurento/ObjectRegistry.js";
import { RpcClient } from "../../../helpers/rpcClient.js";
import { startTestServer } from "../../../helpers/inProcessServer.js";

t.test("a module's hooks run at the Kurento server's moments", async (t) => {
  const server = await startTestServer();
  t.teardown(() => server.stop());
  const seen: string[] = [];
  let refuse = false;
  server.kurento.hooks.add("probe", {
    elementCreated: (obj: KObject, ctor: JsonObject) => {
      seen.push(`created ${obj.cls.name} ${Object.keys(ctor).join(",")}`);
      if (refuse) {
        throw new TypeError("probe refuses this one");
      }
    },
    objectsGone: (objects, reason) => seen.push(`gone ${objects.map((o) => o.cls.name).join(",")} ${reason}`),
    operation: (obj, op) => (obj.cls.name === "PassThrough" && op === "getName" ? () => "probe-name" : undefined),
    workerEvent: (_id, event) => event === "ElementConnected",
    sessionClosed: (id) => seen.push(`session ${id.length > 0 ? "closed" : "?"}`),
    createSingleton: (cls) => (cls.name === "Composite" ? "manager_ServerManager" : undefined),
  });
  t.teardown(() => server.kurento.hooks.remove("probe"));

  const c = await RpcClient.open(server.url);
  t.teardown(() => c.close());
  const first = await c.call("create", { type: "MediaPipeline", constructorParams: {} });
  const sessionId = String(first.result?.["sessionId"]);
  const pipeline = String(first.result?.["value"]);
  const value = (method: string, params: Record<string, unknown>): Promise<unknown> =>
    c.value(method, { ...params, sessionId });
  const a = String(await value("create", { type: "PassThrough", constructorParams: { mediaPipeline: pipeline } }));
  const b = String(await value("create", { type: "PassThrough", constructorParams: { mediaPipeline: pipeline } }));
  t.same(seen.splice(0), ["created PassThrough mediaPipeline", "created PassThrough mediaPipeline"]);

  t.equal(await value("invoke", { object: a, operation: "getName" }), "probe-name", "operation taken over");
  t.equal(
    await value("create", { type: "Composite", constructorParams: { mediaPipeline: pipeline } }),
    "manager_ServerManager",
    "createSingleton answered",
  );

  await value("subscribe", { object: a, type: "ElementConnected" });
  await value("subscribe", { object: a, type: "MediaFlowOutStateChanged" });
  await value("invoke", { object: a, operation: "connect", operationParams: { sink: b } });
  await new Promise((r) => setTimeout(r, 300));
  t.notOk(
    c.events.some((e) => (e.params?.["value"] as { type?: string }).type === "ElementConnected"),
    "a consumed worker event reaches no client",
  );

  refuse = true;
  const refused = await c.call("create", {
    type: "PassThrough",
    constructorParams: { mediaPipeline: pipeline },
    sessionId,
  });
  refuse = false;
  t.match(refused.error?.message, /probe refuses this one/, "a throwing elementCreated fails the create");
  t.same(seen.splice(0), ["created PassThrough mediaPipeline", "gone PassThrough released"], "and releases it");

  await value("release", { object: a });
  t.same(seen.splice(0), ["gone PassThrough released"]);
  await c.call("closeSession", { sessionId, release: true });
  t.ok(seen.includes("session closed"), "sessionClosed ran");
  t.ok(
    seen.some((s) => s.startsWith("gone ") && s.includes("MediaPipeline") && s.endsWith("released")),
    "the pipeline and its remaining element left with closeSession's release",
  );
});

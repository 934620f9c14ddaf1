/**
 * Silent teardown on the control plane (issue 10 §1, docs/closures.md): however a pipeline ends (closeSession with
 * `release: true`, session GC), its worker gets one `object.release` for the whole tree, never one per child, and
 * every port comes back; the client hears ObjectDestroyed for each object and nothing else about them.
 */
import t, { type Test } from "tap";
import type { MediaMethod, MediaParams } from "../../../media/index.js";
import { startTestServer, type TestServer } from "../../helpers/inProcessServer.js";
import { RpcClient, type RpcMessage } from "../../helpers/rpcClient.js";

t.setTimeout(60_000);

let server: TestServer;
const requests: string[] = [];
t.before(async () => {
  server = await startTestServer({ kurento: { gcPeriodMs: 1000 } });
  for (const w of server.pool.workers) {
    const send = w.request.bind(w);
    w.request = <M extends MediaMethod>(method: M, params: MediaParams<M>) => {
      requests.push(method === "object.release" && "objectId" in params ? `release ${params.objectId}` : method);
      return send(method, params);
    };
  }
});
t.teardown(() => server.stop());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A pipeline of three RtpEndpoints holding ports (generateOffer), connected in a ring; the session refs the
 * pipeline last, so a release in reference order would take the children one by one. */
async function ring(c: RpcClient): Promise<{ pipeline: string; elements: string[] }> {
  const pipeline = String(await c.value("create", { type: "MediaPipeline" }));
  const elements: string[] = [];
  for (let i = 0; i < 3; i++) {
    const e = String(await c.value("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } }));
    await c.value("invoke", { object: e, operation: "generateOffer" });
    elements.push(e);
  }
  for (let i = 0; i < 3; i++) {
    await c.value("invoke", {
      object: elements[i],
      operation: "connect",
      operationParams: { sink: elements[(i + 1) % 3] },
    });
  }
  await c.call("unref", { object: pipeline });
  await c.call("ref", { object: pipeline });
  return { pipeline, elements };
}

async function portsInUse(): Promise<number> {
  let n = 0;
  for (const w of server.pool.workers) {
    n += (await w.request("worker.dump", {})).portsInUse;
  }
  return n;
}

const eventType = (m: RpcMessage): string => String((m.params?.["value"] as { type?: string } | undefined)?.type);

async function open(t: Test): Promise<RpcClient> {
  const c = await RpcClient.open(server.url);
  t.teardown(() => c.close());
  return c;
}

t.test("closeSession with release: one request for the pipeline of three endpoints, ports back", async (t) => {
  const c = await open(t);
  const watcher = await open(t);
  await watcher.value("subscribe", { object: "manager_ServerManager", type: "ObjectDestroyed" });
  const { pipeline, elements } = await ring(c);
  for (const e of elements) {
    for (const type of ["ElementDisconnected", "MediaStateChanged", "ConnectionStateChanged"]) {
      await watcher.value("subscribe", { object: e, type });
    }
  }
  t.ok((await portsInUse()) >= 6, "three RTP/RTCP port pairs in use");
  const sid = String((await c.call("ping")).result?.["sessionId"]);
  requests.length = 0;
  watcher.events.length = 0;
  await c.call("closeSession", { sessionId: sid, release: true });
  t.same(requests, [`release ${pipeline}`], "one request: the pipeline's release");
  t.equal(await portsInUse(), 0, "every port returned");
  await sleep(300);
  t.same(
    watcher.events.map(eventType).sort(),
    ["ObjectDestroyed", "ObjectDestroyed", "ObjectDestroyed", "ObjectDestroyed"],
    "ObjectDestroyed for the pipeline and its three elements, no event about the elements themselves",
  );
});

t.test("session GC: one request for the pipeline of three endpoints, ports back", async (t) => {
  const c = await RpcClient.open(server.url);
  const { pipeline } = await ring(c);
  requests.length = 0;
  await c.close();
  const deadline = Date.now() + 10_000;
  while (server.kurento.objects.has(pipeline) && Date.now() < deadline) {
    await sleep(100);
  }
  await sleep(200);
  t.notOk(server.kurento.objects.has(pipeline), "collected");
  t.same(requests, [`release ${pipeline}`], "one request: the pipeline's release");
  t.equal(await portsInUse(), 0, "every port returned");
});

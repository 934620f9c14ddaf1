/**
 * A control plane that keeps strangers out (issue 9): with `kurento.auth: tokens`, a WebSocket upgrade without a
 * valid token gets HTTP 401 and is never upgraded, the admin routes need a token, /health does not; two
 * applications with their own tokens cannot see, use, subscribe to, list, release or resume each other's objects
 * and sessions (another application's ids answer exactly as missing ones: 40101, 40007, or a no-op release).
 */
import "../helpers/loopbackNamespace.js";
import t from "tap";
import WebSocket from "ws";
import { RpcClient } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";

t.setTimeout(90_000);

const TOKEN_A = "token-of-application-a-0123456789";
const TOKEN_B = "token-of-application-b-9876543210";

/** The HTTP status an upgrade gets (101 when it opens). */
const upgradeStatus = (url: string, headers: Record<string, string> = {}): Promise<number> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once("open", () => {
      ws.close();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once("error", reject);
  });

t.test("two applications with tokens", async (t) => {
  const server = await startKorus(t, {
    workers: 1,
    config: {
      kurento: {
        auth: "tokens",
        tokens: [
          { application: "app-a", token: TOKEN_A },
          { application: "app-b", token: TOKEN_B },
        ],
      },
    },
  });

  t.equal(await upgradeStatus(server.url), 401, "no token: 401, not upgraded");
  t.equal(await upgradeStatus(`${server.url}?access_token=wrong-token-wrong-token`), 401, "a wrong token: 401");
  t.equal(await upgradeStatus(server.url, { authorization: "Bearer nope" }), 401, "a wrong bearer token: 401");
  t.equal(await upgradeStatus(server.url, { authorization: `Bearer ${TOKEN_A}` }), 101, "a bearer token opens");
  t.equal((await fetch(`${server.httpUrl}/health`)).status, 200, "/health needs no token (yet)");
  const admin = await fetch(`${server.httpUrl}/admin/workers`);
  t.equal(admin.status, 401, "the admin route needs a token");
  const adminOk = await fetch(`${server.httpUrl}/admin/workers`, { headers: { authorization: `Bearer ${TOKEN_B}` } });
  t.equal(adminOk.status, 200, "the admin route with a token");

  const a = await RpcClient.open(`${server.url}?access_token=${TOKEN_A}`);
  const b = await RpcClient.open(`${server.url}?access_token=${TOKEN_B}`);
  t.teardown(() => Promise.all([a.close(), b.close()]));
  const pA = (await a.value("create", { type: "MediaPipeline" })) as string;
  const eA = (await a.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: pA } })) as string;
  const sidA = (await a.call("ping")).result?.["sessionId"] as string;
  await b.call("describe", { object: "manager_ServerManager" });
  await b.value("subscribe", { object: "manager_ServerManager", type: "ObjectCreated" });
  await a.value("subscribe", { object: "manager_ServerManager", type: "ObjectCreated" });
  const pB = (await b.value("create", { type: "MediaPipeline" })) as string;

  const code = async (m: Promise<{ error?: { code: number } }>): Promise<number | undefined> => (await m).error?.code;
  t.equal(await code(b.call("describe", { object: pA })), 40101, "describe another app's pipeline: 40101");
  t.equal(await code(b.call("invoke", { object: eA, operation: "getName" })), 40101, "invoke: 40101");
  t.equal(await code(b.call("subscribe", { object: eA, type: "ElementConnected" })), 40101, "subscribe: 40101");
  t.equal(
    await code(b.call("create", { type: "PassThrough", constructorParams: { mediaPipeline: pA } })),
    40101,
    "a parent of another app: 40101",
  );
  t.equal(await code(b.call("connect", { sessionId: sidA })), 40007, "connect to another app's session: 40007");
  t.equal(
    await code(b.call("invoke", { object: "manager_ServerManager", operation: "getName", sessionId: sidA })),
    40007,
    "naming another app's session in a request: 40007",
  );
  t.equal(await code(b.call("release", { object: pA })), undefined, "release answers as for an unknown id");
  t.equal(await a.value("invoke", { object: eA, operation: "getName" }), eA, "…and released nothing");
  t.same(
    await b.value("invoke", { object: "manager_ServerManager", operation: "getPipelines" }),
    [pB],
    "getPipelines lists only app B's",
  );
  t.same(
    await a.value("invoke", { object: "manager_ServerManager", operation: "getPipelines" }),
    [pA],
    "getPipelines lists only app A's",
  );
  const sessionsB = (await b.value("invoke", {
    object: "manager_ServerManager",
    operation: "getSessions",
  })) as string[];
  t.notOk(sessionsB.includes(sidA), "getSessions does not list app A's session");
  // A's own ObjectCreated arrives (events are in order), none about B's pipeline did before it.
  const pA2 = (await a.value("create", { type: "MediaPipeline" })) as string;
  await a.event((m) => JSON.stringify(m).includes(pA2), 5000);
  t.notOk(
    a.events.some((m) => JSON.stringify(m).includes(pB)),
    "app A gets no ObjectCreated about app B's pipeline",
  );
  t.equal(await code(a.call("release", { object: pA })), undefined, "the owner releases its pipeline");
  t.equal(await code(a.call("describe", { object: pA })), 40101);
});

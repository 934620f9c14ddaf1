/**
 * Issue 9, item 10: releasing a singleton answered "ok". KMS answers success to `release manager_ServerManager`
 * and keeps the object (MediaSet::release only drops the sessions' references to it); Korus answers a clear error
 * instead, 40111 MEDIA_OBJECT_OPERATION_NOT_SUPPORTED, for every server-wide singleton (the ServerManager, Korus's
 * SipGateway), and the singleton keeps working.
 */
import "../helpers/loopbackNamespace.js";
import t from "tap";
import { RpcClient } from "../helpers/rpcClient.js";
import { startTestServer } from "../helpers/inProcessServer.js";
import { freeTcpPort } from "../helpers/ports.js";

t.setTimeout(60_000);

t.test("release of a singleton is refused with 40111", async (t) => {
  const server = await startTestServer({ sip: { enabled: true, port: await freeTcpPort() } });
  t.teardown(() => server.stop());
  const c = await RpcClient.open(server.url);
  t.teardown(() => c.close());
  const m = await c.call("release", { object: "manager_ServerManager" });
  t.equal(m.error?.code, 40111, "ServerManager: 40111");
  t.equal(m.error?.data?.type, "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED");
  t.ok(Array.isArray(await c.value("invoke", { object: "manager_ServerManager", operation: "getPipelines" })));
  const gw = (await c.value("create", { type: "SipGateway" })) as string;
  const g = await c.call("release", { object: gw });
  t.equal(g.error?.code, 40111, "SipGateway: 40111");
  t.equal(await c.value("create", { type: "SipGateway" }), gw, "the gateway is still there");
});

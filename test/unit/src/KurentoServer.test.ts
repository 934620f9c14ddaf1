/**
 * Protocol-layer tests of the Kurento JSON-RPC server (kurento-protocol.md §2–§6): every method, the error codes,
 * the session rules, transactions with newref, and descriptor-driven validation. Raw frames, so the wire format
 * that kurento-client relies on is checked exactly.
 */
import t, { type Test } from "tap";
import WebSocket from "ws";
import { RpcClient, type RpcMessage } from "../../helpers/rpcClient.js";
import { startTestServer, type TestServer } from "../../helpers/inProcessServer.js";

t.setTimeout(60_000);

let server: TestServer;
t.before(async () => {
  server = await startTestServer({ kurento: { gcPeriodMs: 1000 } });
});
t.teardown(async () => {
  await server.stop();
});

const open = async (t: Test): Promise<RpcClient> => {
  const c = await RpcClient.open(server.url);
  t.teardown(() => c.close());
  return c;
};
const code = (m: RpcMessage): number | undefined => m.error?.code;
const result = (m: RpcMessage): Record<string, unknown> => m.result ?? {};

t.test("ping answers pong before any session, without a sessionId", async (t) => {
  const c = await open(t);
  const withParams = await c.call("ping", { interval: 5000 });
  t.same(withParams, { jsonrpc: "2.0", id: withParams.id, result: { value: "pong" } });
  const bare = await c.call("ping");
  t.same(bare.result, { value: "pong" });
});

t.test("describe manager_ServerManager creates a session and binds it to the socket", async (t) => {
  const c = await open(t);
  const d = await c.call("describe", { object: "manager_ServerManager" });
  const sid = result(d)["sessionId"];
  t.type(sid, "string");
  t.match(result(d), {
    type: "ServerManager",
    qualifiedType: "kurento.ServerManager",
    hierarchy: ["kurento.MediaObject"],
  });
  // Rule 1: the socket's session is injected into later requests, and ping then reports it.
  const p = await c.call("ping");
  t.same(p.result, { sessionId: sid, value: "pong" });
  const created = await c.call("create", { type: "MediaPipeline" });
  t.equal(result(created)["sessionId"], sid, "sessionId injected and returned");
});

t.test("getInfo lists core, elements, filters and korus", async (t) => {
  const c = await open(t);
  const info = (await c.value("invoke", { object: "manager_ServerManager", operation: "getInfo" })) as {
    modules: { name: string; factories: string[] }[];
    capabilities: string[];
    __type__: string;
  };
  t.same(
    info.modules.map((m) => m.name),
    ["core", "elements", "filters", "korus"],
  );
  t.ok(info.modules.find((m) => m.name === "elements")?.factories.includes("WebRtcEndpoint"));
  t.same(info.capabilities, ["transactions"]);
  t.equal(info.__type__, "ServerInfo");
  const kmd = (await c.value("invoke", {
    object: "manager_ServerManager",
    operation: "getKmd",
    operationParams: { moduleName: "korus" },
  })) as string;
  t.equal((JSON.parse(kmd) as { name: string }).name, "korus");
  const bad = await c.call("invoke", {
    object: "manager_ServerManager",
    operation: "getKmd",
    operationParams: { moduleName: "nope" },
  });
  t.equal(code(bad), 40500);
  t.type(await c.value("invoke", { object: "manager_ServerManager", operation: "getUsedMemory" }), "number");
  t.type(await c.value("invoke", { object: "manager_ServerManager", operation: "getCpuCount" }), "number");
  t.type(
    await c.value("invoke", {
      object: "manager_ServerManager",
      operation: "getUsedCpu",
      operationParams: { interval: 100 },
    }),
    "number",
  );
});

t.test("create: ids in Kurento's formats, qualified types, KMS error codes", async (t) => {
  const c = await open(t);
  const p = (await c.value("create", { type: "kurento.MediaPipeline", properties: {} })) as string;
  t.match(p, /^[0-9a-f-]{36}_kurento\.MediaPipeline$/);
  const e = (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  t.match(e, new RegExp(`^${p}/[0-9a-f-]{36}_kurento\\.PassThrough$`));
  t.equal(code(await c.call("create", { type: "NoSuchThing" })), 40108, "unknown type → 40108");
  t.equal(code(await c.call("create", { type: "MediaElement" })), 40108, "abstract type → 40108");
  t.equal(code(await c.call("create", { type: "foo.PassThrough" })), 40108, "wrong module prefix → 40108");
  const missing = await c.call("create", { type: "PassThrough", constructorParams: {} });
  t.equal(code(missing), 40001);
  t.match(missing.error?.message, /mediaPipeline/, "the field is named");
  t.equal(missing.error?.data?.type, "MARSHALL_ERROR");
  const unknownParent = await c.call("create", {
    type: "PassThrough",
    constructorParams: { mediaPipeline: "x_kurento.MediaPipeline" },
  });
  t.equal(code(unknownParent), 40101);
  const wrongKind = await c.call("create", { type: "PassThrough", constructorParams: { mediaPipeline: e } });
  t.equal(code(wrongKind), 40001, "a PassThrough is not a MediaPipeline");
  const badDefault = await c.call("create", {
    type: "WebRtcEndpoint",
    constructorParams: { mediaPipeline: p, recvonly: "yes" },
  });
  t.equal(code(badDefault), 40001);
  t.match(badDefault.error?.message, /recvonly/);
});

t.test("invoke: MediaObject properties, tags and errors", async (t) => {
  const c = await open(t);
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const e = (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  t.equal(await c.value("invoke", { object: e, operation: "getName" }), e, "default name is the id");
  t.equal(await c.value("invoke", { object: e, operation: "setName", operationParams: { name: "n1" } }), null);
  t.equal(await c.value("invoke", { object: e, operation: "getName" }), "n1");
  t.equal(await c.value("invoke", { object: e, operation: "getMediaPipeline" }), p);
  t.equal(await c.value("invoke", { object: e, operation: "getParent" }), p);
  t.equal(await c.value("invoke", { object: p, operation: "getParent" }), null);
  t.equal(await c.value("invoke", { object: p, operation: "getMediaPipeline" }), p);
  t.same(await c.value("invoke", { object: p, operation: "getChildren" }), [e]);
  t.equal(await c.value("invoke", { object: e, operation: "getId" }), e);
  const ct = (await c.value("invoke", { object: e, operation: "getCreationTime" })) as number;
  t.ok(Math.abs(ct - Date.now() / 1000) < 60, "creationTime in seconds");
  await c.value("invoke", { object: e, operation: "addTag", operationParams: { key: "k", value: "v" } });
  t.equal(await c.value("invoke", { object: e, operation: "getTag", operationParams: { key: "k" } }), "v");
  t.same(await c.value("invoke", { object: e, operation: "getTags" }), [
    { __module__: "kurento", __type__: "Tag", key: "k", value: "v" },
  ]);
  const noTag = await c.call("invoke", { object: e, operation: "getTag", operationParams: { key: "zz" } });
  t.equal(code(noTag), 40110);
  await c.value("invoke", { object: e, operation: "removeTag", operationParams: { key: "zz" } });
  t.equal(
    await c.value("invoke", { object: e, operation: "getEncoderBitrate" }),
    300000,
    "kmd property served by the worker",
  );
  const unknownOp = await c.call("invoke", { object: e, operation: "frobnicate", operationParams: { a: 1 } });
  t.equal(code(unknownOp), 40008);
  t.equal(unknownOp.error?.message, "Method 'frobnicate' with 1 parameters not found");
  const readOnly = await c.call("invoke", { object: e, operation: "setId", operationParams: { id: "x" } });
  t.equal(code(readOnly), 40008, "no setter for a final property");
  const badType = await c.call("invoke", { object: e, operation: "setName", operationParams: { name: 5 } });
  t.equal(code(badType), 40001);
  t.match(badType.error?.message, /'name' parameter should be a String/);
  const badEnum = await c.call("invoke", { object: e, operation: "getStats", operationParams: { mediaType: "SMELL" } });
  t.equal(code(badEnum), 40001);
  const unknownObj = await c.call("invoke", { object: "nope", operation: "getName" });
  t.equal(code(unknownObj), 40101);
  t.equal(unknownObj.error?.data?.type, "MEDIA_OBJECT_NOT_FOUND");
  const flowing = await c.value("invoke", {
    object: e,
    operation: "isMediaFlowingIn",
    operationParams: { mediaType: "AUDIO" },
  });
  t.equal(flowing, false);
  const stats = (await c.value("invoke", { object: e, operation: "getStats" })) as Record<string, { type: string }>;
  t.equal(stats[e]?.type, "element");
});

t.test("connect semantics: self-loop, fan-out, one source per sink, 40004 across pipelines", async (t) => {
  const c = await open(t);
  const p1 = (await c.value("create", { type: "MediaPipeline" })) as string;
  const p2 = (await c.value("create", { type: "MediaPipeline" })) as string;
  const mk = async (p: string): Promise<string> =>
    (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  const [a, b, d] = [await mk(p1), await mk(p1), await mk(p1)];
  const x = await mk(p2);
  await c.value("subscribe", { object: a, type: "ElementConnected" });
  await c.value("subscribe", { object: b, type: "ElementDisconnected" });
  t.equal(
    await c.value("invoke", { object: a, operation: "connect", operationParams: { sink: a, mediaType: "AUDIO" } }),
    null,
  );
  await c.value("invoke", { object: a, operation: "connect", operationParams: { sink: d } });
  await c.value("invoke", { object: b, operation: "connect", operationParams: { sink: d, mediaType: "VIDEO" } });
  const ev = await c.event((m) => (m.params?.["value"] as { type: string }).type === "ElementConnected");
  const data = (ev.params?.["value"] as { data: Record<string, unknown> }).data;
  t.match(data, {
    source: a,
    type: "ElementConnected",
    mediaType: "AUDIO",
    sink: a,
    sourceMediaDescription: "default",
  });
  t.type(data["timestampMillis"], "string");
  const dSources = (await c.value("invoke", { object: d, operation: "getSourceConnections" })) as {
    source: string;
    type: string;
  }[];
  t.same(
    dSources.map((s) => `${s.type}:${s.source === a ? "a" : "b"}`).sort(),
    ["AUDIO:a", "DATA:a", "VIDEO:b"],
    "b replaced a as d's VIDEO source",
  );
  const aSinks = (await c.value("invoke", {
    object: a,
    operation: "getSinkConnections",
    operationParams: { mediaType: "AUDIO" },
  })) as { sink: string }[];
  t.same(aSinks.map((s) => s.sink).sort(), [a, d].sort(), "fan-out");
  const cross = await c.call("invoke", { object: a, operation: "connect", operationParams: { sink: x } });
  t.equal(code(cross), 40004);
  t.equal(cross.error?.data?.type, "CONNECT_ERROR");
  await c.value("invoke", { object: b, operation: "disconnect", operationParams: { sink: d, mediaType: "VIDEO" } });
  await c.event((m) => (m.params?.["value"] as { type: string }).type === "ElementDisconnected");
  const after = (await c.value("invoke", {
    object: d,
    operation: "getSourceConnections",
    operationParams: { mediaType: "VIDEO" },
  })) as unknown[];
  t.equal(after.length, 0);
});

t.test("subscribe: 40106 for unknown events, 6.x names accepted and emitted as subscribed", async (t) => {
  const c = await open(t);
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const e = (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  const bad = await c.call("subscribe", { object: e, type: "IceCandidateFound" });
  t.equal(code(bad), 40106, "PassThrough has no IceCandidateFound");
  t.equal(bad.error?.message, "Event 'IceCandidateFound' not supported");
  const sub6 = await c.call("subscribe", { object: e, type: "MediaFlowOutStateChange" });
  t.type(result(sub6)["value"], "string");
  const sub7 = await c.call("subscribe", { object: e, type: "MediaFlowOutStateChanged" });
  t.not(result(sub7)["value"], result(sub6)["value"]);
  const dup = await c.call("subscribe", { object: e, type: "MediaFlowOutStateChanged" });
  t.type(result(dup)["value"], "string", "a repeated subscribe gets a new id");
  server.kurento.onWorkerEvent(e, "MediaFlowOutStateChanged", {
    state: "FLOWING",
    padName: "default",
    mediaType: "AUDIO",
  });
  await new Promise((r) => setTimeout(r, 200));
  const names = c.events
    .filter((m) => (m.params?.["value"] as { object: string }).object === e)
    .map((m) => (m.params?.["value"] as { type: string }).type);
  t.same(names.sort(), ["MediaFlowOutStateChange", "MediaFlowOutStateChanged"], "one per name, no duplicates");
  t.same(await c.call("unsubscribe", { object: e, subscription: result(sub6)["value"] }).then(result), {
    sessionId: result(sub6)["sessionId"],
  });
  const err = await c.call("subscribe", { object: "nope", type: "Error" });
  t.equal(code(err), 40101);
});

t.test("release cascades with ObjectDestroyed; released objects answer 40101; unknown ids are fine", async (t) => {
  const c = await open(t);
  await c.value("subscribe", { object: "manager_ServerManager", type: "ObjectDestroyed" });
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const e = (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  const r = await c.call("release", { object: p });
  t.same(Object.keys(result(r)), ["sessionId"], "release result has no value");
  await c.event((m) => (m.params?.["value"] as { data: { objectId: string } }).data.objectId === e);
  await c.event((m) => (m.params?.["value"] as { data: { objectId: string } }).data.objectId === p);
  t.equal(code(await c.call("invoke", { object: e, operation: "getName" })), 40101);
  t.equal(code(await c.call("describe", { object: p })), 40101);
  t.notOk(
    ((await c.value("invoke", { object: "manager_ServerManager", operation: "getPipelines" })) as string[]).includes(p),
  );
  t.equal(code(await c.call("release", { object: p })), undefined, "releasing twice is not an error");
  t.equal(code(await c.call("release", { object: "never-existed" })), undefined);
});

t.test("transaction: newref substitution, stop at first failure, malformed ids", async (t) => {
  const c = await open(t);
  await c.call("describe", { object: "manager_ServerManager" });
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const tx = await c.call("transaction", {
    operations: [
      {
        jsonrpc: "2.0",
        id: 0,
        method: "create",
        params: { type: "PassThrough", constructorParams: { mediaPipeline: p } },
      },
      {
        jsonrpc: "2.0",
        id: 1,
        method: "invoke",
        params: { object: "newref:0", operation: "connect", operationParams: { sink: "newref:0" } },
      },
      {
        jsonrpc: "2.0",
        id: 2,
        method: "invoke",
        params: { object: "newref:0", operation: "getTag", operationParams: { key: "x" } },
      },
      {
        jsonrpc: "2.0",
        id: 3,
        method: "invoke",
        params: { object: "newref:0", operation: "setName", operationParams: { name: "never" } },
      },
    ],
  });
  const steps = result(tx)["value"] as RpcMessage[];
  t.equal(steps.length, 3, "processing stops at the first failure");
  const newId = steps[0]?.result?.["value"] as string;
  t.match(newId, /_kurento\.PassThrough$/);
  t.equal(steps[1]?.result?.["value"], null);
  t.equal(steps[2]?.error?.code, 40110);
  t.equal(await c.value("invoke", { object: newId, operation: "getName" }), newId, "step 3 never ran");
  const badId = await c.call("transaction", { operations: [{ jsonrpc: "2.0", id: 7, method: "ping" }] });
  t.equal(code(badId), 40008);
  t.equal(badId.error?.message, "Id of request '0' should be '0'");
  const badRef = await c.call("transaction", {
    operations: [{ jsonrpc: "2.0", id: 0, method: "invoke", params: { object: "newref:5", operation: "getName" } }],
  });
  t.equal((result(badRef)["value"] as RpcMessage[])[0]?.error?.code, 40008);
  const outside = await c.call("invoke", { object: "newref:0", operation: "getName" });
  t.equal(code(outside), 40109);
});

t.test("sessions: connect resumes on a new socket, events follow it; 40007 for unknown sessions", async (t) => {
  const c1 = await open(t);
  const p = (await c1.value("create", { type: "MediaPipeline" })) as string;
  const sid = (await c1.call("ping")).result?.["sessionId"] as string;
  const e = (await c1.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  await c1.value("subscribe", { object: e, type: "ElementConnected" });
  await c1.close();
  const c2 = await open(t);
  t.equal(code(await c2.call("connect", { sessionId: "00000000-0000-0000-0000-000000000000" })), 40007);
  const resumed = await c2.call("connect", { sessionId: sid });
  t.same(result(resumed), { sessionId: sid, serverId: server.kurento.serverId });
  await c2.value("invoke", { object: e, operation: "connect", operationParams: { sink: e, mediaType: "AUDIO" } });
  const ev = await c2.event((m) => (m.params?.["value"] as { object: string }).object === e);
  t.equal((ev.params?.["value"] as { type: string }).type, "ElementConnected", "subscription survived the drop");
  t.same(result(await c2.call("keepAlive", { sessionId: sid })), { sessionId: sid });
  t.equal(code(await c2.call("keepAlive", { sessionId: "nope" })), 40007);
  const fresh = await open(t);
  const newSession = await fresh.call("connect");
  t.type(result(newSession)["sessionId"], "string");
  t.not(result(newSession)["sessionId"], sid);
  t.ok(
    ((await c2.value("invoke", { object: "manager_ServerManager", operation: "getSessions" })) as string[]).includes(
      sid,
    ),
  );
});

t.test("a repeated request (same id and session) gets the identical cached response", async (t) => {
  const c = await open(t);
  await c.call("describe", { object: "manager_ServerManager" });
  const first = await c.call("create", { type: "MediaPipeline" }, 4242);
  const again = await c.call("create", { type: "MediaPipeline" }, 4242);
  t.same(again, first);
});

t.test("framing errors: -32700, -32600, -32601; oversized frames refused", async (t) => {
  const c = await open(t);
  const parse = await c.raw("{not json");
  t.same(parse, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error." } });
  t.equal(code(await c.raw("[]")), -32600, "batch");
  t.equal(code(await c.raw('{"jsonrpc":"1.0","id":1,"method":"ping"}')), -32600, "bad version");
  t.equal(code(await c.raw('{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}')), -32600, "object id");
  t.equal(code(await c.raw('{"jsonrpc":"2.0","id":1}')), -32600, "no method");
  t.equal(code(await c.call("frobnicate", {})), -32601);
  const stringId = await c.call("ping", {}, "abc");
  t.equal(stringId.id, "abc", "string ids are echoed");
  const big = await RpcClient.open(server.url);
  const closed = new Promise<number>((resolve) => big.ws.once("close", (codeNum: number) => resolve(codeNum)));
  big.ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(2_000_000) } }));
  t.equal(await closed, 1009, "frame over maxFrameBytes closes with 1009");
  t.equal((await c.call("ping")).result?.["value"], "pong", "the server is still fine");
});

t.test("a wrong WebSocket path completes the upgrade and closes with 1002", async (t) => {
  const ws = new WebSocket(server.url.replace("/kurento", "/other"));
  const [codeNum, reason] = await new Promise<[number, string]>((resolve) =>
    ws.once("close", (cd: number, r: Buffer) => resolve([cd, r.toString()])),
  );
  t.equal(codeNum, 1002);
  t.equal(reason, "Invalid path");
  const withQuery = await RpcClient.open(`${server.url}?access_token=abc`);
  t.equal((await withQuery.call("ping")).result?.["value"], "pong", "query strings are allowed");
  await withQuery.close();
});

t.test("GC releases the objects of sessions nobody keeps alive", async (t) => {
  const c = await RpcClient.open(server.url);
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  await c.close();
  const deadline = Date.now() + 10_000;
  while (server.kurento.objects.has(p) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  t.notOk(server.kurento.objects.has(p), "collected after the GC periods");
  const alive = await open(t);
  const kept = (await alive.value("create", { type: "MediaPipeline" })) as string;
  await new Promise((r) => setTimeout(r, 2500));
  t.ok(server.kurento.objects.has(kept), "a session with an open socket is kept alive");
});

t.test("closeSession with release:true releases the session's objects", async (t) => {
  const c = await open(t);
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const sid = (await c.call("ping")).result?.["sessionId"] as string;
  const r = await c.call("closeSession", { sessionId: sid, release: true });
  t.equal(r.result, null);
  t.notOk(server.kurento.objects.has(p));
});

t.test("GET /health answers 200 with a JSON status", async (t) => {
  const res = await fetch(`http://127.0.0.1:${server.port}/health`);
  t.equal(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  t.equal(body["status"], "ok");
  t.equal(body["workers"], 2);
});

t.test("korus extensions of Kurento classes: RtpEndpoint.sendDtmf, DtmfReceived, Korus ctor params", async (t) => {
  const c = await open(t);
  const p = (await c.value("create", { type: "MediaPipeline" })) as string;
  const rtp = (await c.value("create", {
    type: "RtpEndpoint",
    constructorParams: { mediaPipeline: p, mediaTimeoutMs: 0, rtcpIntervalMs: 2000 },
  })) as string;
  const sub = await c.call("subscribe", { object: rtp, type: "DtmfReceived" });
  t.type(result(sub)["value"], "string", "RtpEndpoint accepts DtmfReceived subscriptions");
  const pt = (await c.value("create", { type: "PassThrough", constructorParams: { mediaPipeline: p } })) as string;
  t.equal(code(await c.call("subscribe", { object: pt, type: "DtmfReceived" })), 40106, "PassThrough has none");
  const badType = await c.call("invoke", { object: rtp, operation: "sendDtmf", operationParams: { digits: 5 } });
  t.equal(code(badType), 40001, "sendDtmf's digits must be a String");
  t.match(badType.error?.message, /digits/);
  const notNegotiated = await c.call("invoke", {
    object: rtp,
    operation: "sendDtmf",
    operationParams: { digits: "12#" },
  });
  t.ok(notNegotiated.error !== undefined, "sendDtmf before negotiation is refused by the element");
  t.not(code(notNegotiated), 40105, "… but the method is known (not 'method not found')");
  const kmd = (await c.value("invoke", {
    object: "manager_ServerManager",
    operation: "getKmd",
    operationParams: { moduleName: "korus" },
  })) as string;
  t.match(kmd, /"DtmfReceived"/, "getKmd(korus) carries the event and the extension");
});

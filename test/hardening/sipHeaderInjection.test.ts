/**
 * Issue 9, defect 5 (SIP header injection) and the call() error codes of defect 10, against the built server:
 * `SipEndpoint.call()` with application text that would break a SIP header line (CR/LF in a header value, a header
 * name that is not a token, NUL, CRLF in the display name or the target) is refused with 40001 naming the header or
 * parameter, a header the stack owns (a second Call-ID) with 40107, a bad `from` with 40001, and the trunk peer (a
 * raw UDP socket standing in for the carrier) receives nothing. A well-formed extra header still reaches the peer.
 */
import "../helpers/loopbackNamespace.js";
import { createSocket } from "node:dgram";
import t from "tap";
import { RpcClient } from "../helpers/rpcClient.js";
import { startKorus } from "../helpers/server.js";
import { interopSlot } from "../helpers/slot.js";

t.setTimeout(90_000);

const { port } = await interopSlot(t, "siphdr");
const sipPort = port();
const peerPort = port();
const k = await startKorus(t, { workers: 1, config: { sip: { port: sipPort } } });

// The carrier: records every datagram Korus sends it, and answers nothing.
const received: string[] = [];
const peer = createSocket("udp4");
peer.on("message", (m) => received.push(m.toString("latin1")));
await new Promise<void>((resolve) => peer.bind(peerPort, "127.0.0.1", resolve));
t.teardown(() => peer.close());

const app = await RpcClient.open(k.url);
t.teardown(() => app.close());
const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
const newLeg = async (): Promise<string> =>
  String(await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }));
const target = `sip:4930123@127.0.0.1:${peerPort}`;
const options = (o: Record<string, unknown>): Record<string, unknown> => ({
  __module__: "korus",
  __type__: "CallOptions",
  from: "sip:app@127.0.0.1",
  ...o,
});
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cases: { name: string; uri: string; options: Record<string, unknown>; code: number; names: string }[] = [
  {
    name: "CRLF in a header value",
    uri: target,
    options: { headers: { "X-A": "v\r\nVia: evil" } },
    code: 40001,
    names: "X-A",
  },
  {
    name: "a smuggled second request",
    uri: target,
    options: { headers: { "X-B": "v\r\n\r\nBYE sip:x@127.0.0.1 SIP/2.0" } },
    code: 40001,
    names: "X-B",
  },
  {
    name: "a header name with a space",
    uri: target,
    options: { headers: { "X A": "v" } },
    code: 40001,
    names: '"X A"',
  },
  {
    name: "a header name with a colon",
    uri: target,
    options: { headers: { "Via: evil\r\nX": "v" } },
    code: 40001,
    names: "Via: evil",
  },
  {
    name: "NUL in a header value",
    uri: target,
    options: { headers: { "X-N": "a\u0000b" } },
    code: 40001,
    names: "X-N",
  },
  {
    name: "CRLF in the display name",
    uri: target,
    options: { displayName: "Alice\r\nVia: evil" },
    code: 40001,
    names: "options.displayName",
  },
  { name: "CRLF in the target", uri: `${target}\r\nVia: evil`, options: {}, code: 40001, names: "uri" },
  {
    name: "a duplicate Call-ID",
    uri: target,
    options: { headers: { "Call-ID": "dup@127.0.0.1" } },
    code: 40107,
    names: "Call-ID",
  },
  { name: "a compact Call-ID (i)", uri: target, options: { headers: { i: "dup@127.0.0.1" } }, code: 40107, names: "i" },
  {
    name: "a Via header",
    uri: target,
    options: { headers: { Via: "SIP/2.0/UDP 6.6.6.6" } },
    code: 40107,
    names: "Via",
  },
  { name: "a bad from", uri: target, options: { from: "not a uri" }, code: 40001, names: "options.from" },
  { name: "CRLF in from", uri: target, options: { from: "sip:a@b\r\nVia: x" }, code: 40001, names: "options.from" },
  {
    name: "URI headers in the target",
    uri: `${target}?Via=evil`,
    options: {},
    code: 40107,
    names: "uri",
  },
];

for (const c of cases) {
  t.test(`call() with ${c.name} is refused with ${c.code}`, async (t) => {
    const leg = await newLeg();
    const before = received.length;
    const r = await app.call("invoke", {
      object: leg,
      operation: "call",
      operationParams: { uri: c.uri, options: options(c.options) },
    });
    t.equal(r.error?.code, c.code, `code (${r.error?.message ?? "no error"})`);
    t.ok(r.error?.message.includes(c.names), `the message names ${c.names}: ${r.error?.message ?? ""}`);
    t.equal(await app.value("invoke", { object: leg, operation: "getCallState" }), "IDLE", "no call was placed");
    await sleep(300);
    t.equal(received.length, before, "the trunk peer received nothing");
    await app.value("release", { object: leg });
  });
}

t.test("a well-formed extra header reaches the peer, on its own line", async (t) => {
  const leg = await newLeg();
  await app.value("invoke", {
    object: leg,
    operation: "call",
    operationParams: {
      uri: target,
      options: options({ displayName: "Alice", headers: { "X-Account": "42", Privacy: "id" } }),
    },
  });
  for (let i = 0; i < 50 && !received.some((m) => m.startsWith("INVITE ")); i++) {
    await sleep(100);
  }
  const invite = received.find((m) => m.startsWith("INVITE "));
  t.ok(invite !== undefined, "the INVITE arrived");
  const lines = (invite ?? "").split("\r\n");
  t.ok(lines.includes("X-Account: 42"), "X-Account is one header line");
  t.ok(lines.includes("Privacy: id"), "Privacy is one header line");
  t.equal(lines.filter((l) => /^(Call-ID|i):/i.test(l)).length, 1, "one Call-ID");
  t.ok(
    lines.some((l) => l.startsWith('From: "Alice" <sip:app@127.0.0.1>')),
    "the display name is quoted in From",
  );
  await app.value("invoke", { object: leg, operation: "hangup" });
  await app.value("release", { object: leg });
});

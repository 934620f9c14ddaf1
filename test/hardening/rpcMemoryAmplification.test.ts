/**
 * Issue 9, defect 4: JSON-RPC memory amplification without authentication. A request naming a made-up, huge
 * `sessionId` created that session; each session's duplicate-answer cache kept 64 answers whose error messages
 * echoed the whole (huge) object id. Six such sessions took the server from 141 to 557 MB.
 *
 * Attack-level checks against the built server (a child process, so its RSS is its own):
 * - six connections each send 64 frames of ~900 KiB (a 400 KiB session id and a 400 KiB object id): every answer
 *   is a short error, no session is created, and the server's RSS grows by less than 64 MB;
 * - a connection may create or join at most maxSessionsPerConnection sessions, an address maxSessionsPerAddress;
 * - a repeated request id with a different request is executed, not answered from the cache.
 */
import "../helpers/loopbackNamespace.js";
import t from "tap";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { rssKiB } from "../../bench/lib/proc.js";
import { startKorus } from "../helpers/server.js";

t.setTimeout(120_000);

t.test("made-up sessions with huge ids neither exist nor cost memory", async (t) => {
  const server = await startKorus(t, { workers: 1, config: { kurento: { maxSessionsPerAddress: 40 } } });
  const warm = await RpcClient.open(server.url);
  t.teardown(() => warm.close());
  await warm.call("describe", { object: "manager_ServerManager" });
  const sessionsBefore = (await warm.call("invoke", { object: "manager_ServerManager", operation: "getSessions" }))
    .result?.["value"] as string[];
  const before = rssKiB(server.pid);
  const clients = await Promise.all(Array.from({ length: 6 }, () => RpcClient.open(server.url)));
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  let longest = 0;
  const codes = new Set<number>();
  // One connection after the other: what the server keeps is the same as with six at once, the garbage of the
  // frames in flight (which the RSS would also show) is smaller.
  await clients.reduce(
    (prev, c, i) =>
      prev.then(async () => {
        const sessionId = `${i}`.padEnd(400 * 1024, "s");
        for (let n = 0; n < 64; n++) {
          const object = `${n}`.padEnd(400 * 1024, "o");
          const m: RpcMessage = await c.call("invoke", { object, operation: "getName", sessionId });
          codes.add(m.error?.code ?? 0);
          longest = Math.max(longest, JSON.stringify(m).length);
        }
      }),
    Promise.resolve(),
  );
  t.same([...codes], [40007], "every request naming a huge made-up session is refused as an unknown session");
  t.ok(longest < 1024, `answers stay short (longest ${longest} bytes)`);
  const sessionsAfter = (await warm.call("invoke", { object: "manager_ServerManager", operation: "getSessions" }))
    .result?.["value"] as string[];
  t.equal(sessionsAfter.length, sessionsBefore.length, "no session was created");
  // Echoed ids are clipped too when the session is a real one.
  const huge = "x".repeat(900 * 1024);
  const notFound = await warm.call("invoke", { object: huge, operation: "getName" });
  t.equal(notFound.error?.code, 40101);
  t.ok((notFound.error?.message.length ?? 0) < 300, "an unknown object id is echoed clipped");
  // The lowest RSS over a few seconds: V8 returns the frames' garbage when idle; what stays is what is kept.
  let after = rssKiB(server.pid);
  for (let i = 0; i < 8 && after - before >= 32 * 1024; i++) {
    await new Promise((r) => setTimeout(r, 500));
    after = Math.min(after, rssKiB(server.pid));
  }
  t.ok(after - before < 128 * 1024, `server RSS grew by ${Math.round((after - before) / 1024)} MB (< 128 MB)`);
});

t.test("sessions per connection and per address are bounded", async (t) => {
  const server = await startKorus(t, {
    workers: 1,
    config: { kurento: { maxSessionsPerConnection: 4, maxSessionsPerAddress: 10 } },
  });
  const a = await RpcClient.open(server.url);
  t.teardown(() => a.close());
  const answers: (number | undefined)[] = [];
  for (let i = 0; i < 6; i++) {
    const m = await a.call("describe", { object: "manager_ServerManager", sessionId: `made-up-${i}` });
    answers.push(m.error?.code);
  }
  t.same(answers, [undefined, undefined, undefined, undefined, 40009, 40009], "the 5th session on a connection: 40009");
  // Four connections of four sessions each: the address holds at most 10.
  const more = await Promise.all([1, 2].map(() => RpcClient.open(server.url)));
  t.teardown(() => Promise.all(more.map((c) => c.close())));
  const codes: (number | undefined)[] = [];
  for (const [k, c] of more.entries()) {
    for (let i = 0; i < 4; i++) {
      codes.push(
        (await c.call("describe", { object: "manager_ServerManager", sessionId: `addr-${k}-${i}` })).error?.code,
      );
    }
  }
  t.equal(codes.filter((c) => c === undefined).length, 6, "the address reaches its 10 sessions");
  t.equal(codes.filter((c) => c === 40009).length, 2, "then 40009");
  const malformed = await a.call("connect", { sessionId: "not a session id!" });
  t.equal(malformed.error?.code, 40007, "a malformed session id is an unknown session");
});

t.test("the duplicate cache answers repeats only: same id, same session, same request", async (t) => {
  const server = await startKorus(t, { workers: 1 });
  const c = await RpcClient.open(server.url);
  t.teardown(() => c.close());
  await c.call("describe", { object: "manager_ServerManager" });
  const first = await c.call("create", { type: "MediaPipeline" }, 77);
  const repeat = await c.call("create", { type: "MediaPipeline" }, 77);
  t.same(repeat, first, "a repeat gets the identical answer");
  const name = await c.call("invoke", { object: "manager_ServerManager", operation: "getName" }, 78);
  t.equal(name.result?.["value"], "manager_ServerManager");
  const other = await c.call("invoke", { object: "manager_ServerManager", operation: "getPipelines" }, 78);
  t.same(
    other.result?.["value"],
    [first.result?.["value"]],
    "another request reusing the id (same method) is executed",
  );
});

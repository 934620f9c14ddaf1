/**
 * Kurento protocol mismatches found by running Kurento's own client test suite and tutorials against Korus (issue 13
 * §1), each reproduced at the JSON-RPC level with raw frames:
 *
 * - `ref` naming a session the server has not seen creates it, as KMS's MediaSet::ref does (not 40007);
 * - `getInfo` advertises only types `create` accepts: every advertised factory is creatable (no 40108);
 * - RtpEndpoint answers the suite's `m=video … RTP/AVP 96 97 98` offer (H264 without fmtp, MP4V-ES, H263-1998)
 *   with H.264 only, packetization-mode 0 and the RFC 6184 §8.1 default profile;
 * - WebRtcEndpoint answers that plain RTP/AVP offer as KMS does: every m-line rejected with port 0 and the offered
 *   protocol kept, and no library's message leaks;
 * - video an element cannot pass on (an audio-only RtpEndpoint, a Composite's HubPort) is dropped with a log line
 *   naming the element, never silently.
 *
 * Run `npm run build` first (the media workers run from dist/).
 */
import { randomUUID } from "node:crypto";
import t, { type Test } from "tap";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startTestServer, type TestServer } from "../helpers/inProcessServer.js";
import { Phone, sleep } from "../unit/media/rtp/fixtures/rtpHarness.js";

t.setTimeout(90_000);

let server: TestServer;
t.before(async () => {
  server = await startTestServer({ kurento: { gcPeriodMs: 60_000 } });
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

/** The Kurento client test suite's offer (clients/javascript/client/test/elements/RtpEndpoint.js). */
const SUITE_OFFER =
  "v=0\r\n" +
  "o=- 12345 12345 IN IP4 95.125.31.136\r\n" +
  "s=-\r\n" +
  "c=IN IP4 95.125.31.136\r\n" +
  "t=0 0\r\n" +
  "m=video 52126 RTP/AVP 96 97 98\r\n" +
  "a=rtpmap:96 H264/90000\r\n" +
  "a=rtpmap:97 MP4V-ES/90000\r\n" +
  "a=rtpmap:98 H263-1998/90000\r\n" +
  "a=recvonly\r\n" +
  "b=AS:384\r\n";

t.test("ref with a session id the server has not seen creates that session (KMS MediaSet::ref)", async (t) => {
  const a = await open(t);
  const pipeline = (await a.value("create", { type: "MediaPipeline" })) as string;
  const b = await open(t);
  const fresh = randomUUID();
  const r = await b.call("ref", { object: pipeline, sessionId: fresh });
  t.equal(code(r), undefined, "no error (was 40007)");
  t.same(r.result, { sessionId: fresh });
  const sessions = (await b.value("invoke", {
    object: "manager_ServerManager",
    operation: "getSessions",
    sessionId: fresh,
  })) as string[];
  t.ok(sessions.includes(fresh), "the session exists now");
  t.same((await b.call("unref", { object: pipeline, sessionId: fresh })).result, { sessionId: fresh }, "unref it");
  // Still refused: an unknown object (40101) and a malformed session id (40007).
  t.equal(code(await b.call("ref", { object: "nope", sessionId: randomUUID() })), 40101);
  t.equal(code(await b.call("ref", { object: pipeline, sessionId: "bad id with spaces" })), 40007);
  await a.value("release", { object: pipeline });
});

interface ModuleInfo {
  name: string;
  factories: string[];
}

/** Minimal constructor parameters for `type` (every required one), from the objects made so far. */
function minimalParams(type: string, pipeline: string, hubs: Record<string, string>): Record<string, unknown> {
  switch (type) {
    case "MediaPipeline": {
      return {};
    }
    case "HubPort": {
      return { hub: hubs["Composite"] };
    }
    case "PlayerEndpoint": {
      return { mediaPipeline: pipeline, uri: "file:///nonexistent/korus-conformance.webm" };
    }
    case "RecorderEndpoint": {
      return { mediaPipeline: pipeline, uri: "file:///tmp/korus-conformance-never-written.webm" };
    }
    default: {
      return { mediaPipeline: pipeline };
    }
  }
}

t.test("getInfo advertises only creatable types: each factory is created (no 40108)", async (t) => {
  const c = await open(t);
  const info = (await c.value("invoke", { object: "manager_ServerManager", operation: "getInfo" })) as {
    modules: ModuleInfo[];
  };
  const all = info.modules.flatMap((m) => m.factories);
  t.ok(all.includes("WebRtcEndpoint") && all.includes("MediaPipeline") && all.includes("HubPort"), all.join(","));
  t.notOk(all.includes("ServerManager"), "ServerManager is not a factory");
  for (const never of ["FaceOverlayFilter", "GStreamerFilter", "ZBarFilter", "HttpPostEndpoint"]) {
    t.notOk(all.includes(never), `${never} is not advertised while nothing implements it`);
  }
  const pipeline = (await c.value("create", { type: "MediaPipeline" })) as string;
  const hubs: Record<string, string> = {};
  // Hubs first, so that HubPort has one.
  const order = [...all].sort((x, y) => Number(y === "Composite") - Number(x === "Composite"));
  for (const type of order) {
    const r = await c.call("create", { type, constructorParams: minimalParams(type, pipeline, hubs) });
    t.not(code(r), 40108, `${type}: ${r.error?.message ?? "created"}`);
    const id = r.result?.["value"];
    if (typeof id === "string") {
      hubs[type] = id;
    } else {
      // A parameter error is acceptable (e.g. a file that does not exist), "factory not found" is not.
      t.ok(r.error !== undefined, `${type}: an error when not created`);
    }
  }
  t.ok(hubs["RtpEndpoint"] !== undefined && hubs["WebRtcEndpoint"] !== undefined, "the endpoints were created");
  await c.value("release", { object: pipeline });
});

t.test("RtpEndpoint answers the suite's H264/MP4V-ES/H263-1998 video offer with H.264 only", async (t) => {
  const c = await open(t);
  const pipeline = (await c.value("create", { type: "MediaPipeline" })) as string;
  const ep = (await c.value("create", {
    type: "RtpEndpoint",
    constructorParams: { mediaPipeline: pipeline },
  })) as string;
  const r = await c.call("invoke", { object: ep, operation: "processOffer", operationParams: { offer: SUITE_OFFER } });
  t.equal(code(r), undefined, `processOffer: ${r.error?.message ?? "ok"} (was 40205 no common codec)`);
  const answer = (r.result?.["value"] as string | undefined) ?? "";
  const mline = /^m=video (\d+) RTP\/AVP (.+)$/m.exec(answer);
  t.ok(mline !== null, `an RTP/AVP video m-line:\n${answer}`);
  t.not(mline?.[1], "0", "the video m-line is accepted (port ≠ 0)");
  t.equal(mline?.[2]?.trim(), "96", "only the H.264 payload type is answered");
  t.match(answer, /a=rtpmap:96 H264\/90000/);
  t.notMatch(answer, /MP4V-ES|H263/, "MP4V-ES and H263-1998 are not answered");
  // RFC 6184 §8.2.2: same packetization mode (absent = 0) and profile as offered (absent = 42000A, Baseline).
  const fmtp = /a=fmtp:96 (.*)/.exec(answer)?.[1] ?? "";
  t.match(fmtp, /packetization-mode=0/);
  t.match(fmtp, /profile-level-id=42000a/i);
  t.match(answer, /a=sendonly/, "recvonly offer → sendonly answer");
  const remote = await c.value("invoke", { object: ep, operation: "getRemoteSessionDescriptor" });
  t.equal(remote, SUITE_OFFER);
  await c.value("release", { object: pipeline });
});

t.test("WebRtcEndpoint answers a plain RTP/AVP offer with its m-lines rejected, as KMS does", async (t) => {
  const c = await open(t);
  const pipeline = (await c.value("create", { type: "MediaPipeline" })) as string;
  const ep = (await c.value("create", {
    type: "WebRtcEndpoint",
    constructorParams: { mediaPipeline: pipeline },
  })) as string;
  const r = await c.call("invoke", { object: ep, operation: "processOffer", operationParams: { offer: SUITE_OFFER } });
  t.equal(code(r), undefined, `processOffer: ${r.error?.message ?? "ok"}`);
  const answer = (r.result?.["value"] as string | undefined) ?? "";
  t.match(answer, /^v=0\r\n/);
  t.match(answer, /^m=video 0 RTP\/AVP 96 97 98$/m, `rejected with port 0, the offered protocol kept:\n${answer}`);
  t.equal((answer.match(/^m=/gm) ?? []).length, 1, "one m-line per offered m-line");
  t.notMatch(answer, /mid not assigned|werift/i);
  t.equal(await c.value("invoke", { object: ep, operation: "getRemoteSessionDescriptor" }), SUITE_OFFER);
  t.equal(await c.value("invoke", { object: ep, operation: "getLocalSessionDescriptor" }), answer);
  // KMS negotiates once: a second offer is refused with its own code, not a library's text.
  const again = await c.call("invoke", {
    object: ep,
    operation: "processOffer",
    operationParams: { offer: SUITE_OFFER },
  });
  t.equal(code(again), 40208);
  // gatherCandidates and addIceCandidate after such an answer neither fail nor crash the worker.
  t.equal(code(await c.call("invoke", { object: ep, operation: "gatherCandidates" })), undefined);
  await c.value("release", { object: pipeline });
});

t.test("video an element cannot pass on is never dropped silently: a log line names the element", async (t) => {
  const c = await open(t);
  const pipeline = (await c.value("create", { type: "MediaPipeline" })) as string;
  const rtp = async (): Promise<string> =>
    (await c.value("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: pipeline } })) as string;
  const source = await rtp();
  const audioOnly = await rtp();
  const composite = (await c.value("create", {
    type: "Composite",
    constructorParams: { mediaPipeline: pipeline },
  })) as string;
  const port = (await c.value("create", { type: "HubPort", constructorParams: { hub: composite } })) as string;
  const video = await Phone.open();
  const phone = await Phone.open();
  t.teardown(() => {
    video.close();
    phone.close();
  });
  const offer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=video ${video.port} RTP/AVP 96`,
    "a=rtpmap:96 VP8/90000",
    "a=sendrecv",
    "",
  ].join("\r\n");
  const answer = (await c.value("invoke", {
    object: source,
    operation: "processOffer",
    operationParams: { offer },
  })) as string;
  video.target = { address: "127.0.0.1", port: Number(/^m=video (\d+)/m.exec(answer)?.[1]) };
  phone.aimAt(
    (await c.value("invoke", {
      object: audioOnly,
      operation: "processOffer",
      operationParams: { offer: phone.offer({ codecs: "0" }) },
    })) as string,
  );
  await c.value("invoke", { object: source, operation: "connect", operationParams: { sink: audioOnly } });
  await c.value("invoke", { object: source, operation: "connect", operationParams: { sink: port } });
  const named = (id: string): boolean => server.logLines.some((l) => l.includes(id) && /video/i.test(l));
  for (let i = 0; i < 100 && !(named(audioOnly) && named(port)); i++) {
    video.send(96, i, i * 3000, 0x5555, Buffer.from([0x10, 0x01, 0x00, 0x00, 0x9d]), true);
    await sleep(20);
  }
  t.ok(named(audioOnly), "the audio-only RtpEndpoint says it drops video");
  t.ok(named(port), "the Composite's HubPort says it drops video");
  await c.value("release", { object: pipeline });
});

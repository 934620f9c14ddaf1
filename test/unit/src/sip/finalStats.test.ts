/**
 * A leg's final stats reach its CDR with the release itself (issue 10 §2, docs/closures.md): an inbound SIP call,
 * claimed by a SipEndpoint and fed real RTP, whose pipeline the application releases. The CDR of the leg counts the
 * packets, and the control plane sent its worker exactly one request for it all (`object.release`): no getStats,
 * isMediaTranscoding or getFinalMedia racing the release.
 */
import dgram from "node:dgram";
import t, { type Test } from "tap";
import type { MediaMethod, MediaParams } from "../../../../media/index.js";
import type { InviteSession, MediaHandler } from "../../../../sip/index.js";
import type { CdrRecord } from "../../../../src/cdr/index.js";
import { startTestServer, type TestServer } from "../../../helpers/inProcessServer.js";
import { freeTcpPort } from "../../../helpers/ports.js";
import { RpcClient, type RpcMessage } from "../../../helpers/rpcClient.js";
import { ended, localUa } from "../../../helpers/sipUa.js";

t.setTimeout(60_000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) {
    await sleep(20);
  }
}

const isIncoming = (m: RpcMessage): boolean =>
  (m.params?.["value"] as { type?: string } | undefined)?.type === "IncomingCall";

/**
 * An in-process server with SIP, a call from a local UA claimed by a SipEndpoint and answered, and 30 PCMA packets
 * sent to it; the CDR records and the worker requests are recorded.
 */
async function answeredCall(t: Test): Promise<{
  server: TestServer;
  app: RpcClient;
  pipeline: string;
  call: InviteSession;
  records: CdrRecord[];
  requests: string[];
}> {
  const sipPort = await freeTcpPort();
  const server = await startTestServer({
    media: { workers: 1 },
    sip: { enabled: true, port: sipPort, claimTimeoutMs: 20_000, dialplan: [] },
  });
  t.teardown(() => server.stop());
  const recorder = server.cdr?.recorder;
  if (recorder === undefined) {
    throw new Error("the test server records CDRs");
  }
  const records: CdrRecord[] = [];
  const recordEnd = recorder.ended.bind(recorder);
  recorder.ended = (legId, end) => {
    const r = recordEnd(legId, end);
    if (r !== null) {
      records.push(r);
    }
    return r;
  };
  const requests: string[] = [];
  for (const w of server.pool.workers) {
    const send = w.request.bind(w);
    w.request = <M extends MediaMethod>(method: M, params: MediaParams<M>) => {
      requests.push("operation" in params ? `${method} ${params.operation}` : method);
      return send(method, params);
    };
  }

  // The caller: a UA of Korus's own SIP stack, its RTP from a plain UDP socket.
  const phone = dgram.createSocket("udp4");
  await new Promise<void>((r) => phone.bind(0, "127.0.0.1", r));
  t.teardown(() => phone.close());
  const offer = [
    "v=0",
    "o=caller 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${phone.address().port} RTP/AVP 8`,
    "a=rtpmap:8 PCMA/8000",
    "a=sendrecv",
    "",
  ].join("\r\n");
  let answer = "";
  const media: MediaHandler = {
    getOffer: () => offer,
    setAnswer: (sdp) => {
      answer = sdp;
    },
    processOffer: () => offer,
    close: () => undefined,
  };
  const { ua, close } = await localUa(await freeTcpPort());
  t.teardown(close);
  const app = await RpcClient.open(server.url);
  t.teardown(() => app.close());
  await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  const call = ua.call(`sip:100@127.0.0.1:${sipPort}`, { from: "sip:200@127.0.0.1", media });
  const answered = new Promise<void>((resolve) => call.on("answered", () => resolve()));
  const ev = await app.event(isIncoming);
  const callId = String((ev.params?.["value"] as { data: Record<string, unknown> }).data["callId"]);
  const pipeline = String(await app.value("create", { type: "MediaPipeline" }));
  const leg = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline, callId } }),
  );
  await app.value("invoke", { object: leg, operation: "answer" });
  await answered;
  const port = Number(/m=audio (\d+)/.exec(answer)?.[1]);
  t.ok(port > 0, `Korus answered with its RTP port ${port}`);

  const header = Buffer.alloc(12);
  for (let i = 0; i < 30; i++) {
    header.writeUInt8(0x80, 0);
    header.writeUInt8(i === 0 ? 0x88 : 0x08, 1);
    header.writeUInt16BE(1000 + i, 2);
    header.writeUInt32BE(160 * i, 4);
    header.writeUInt32BE(0x5151, 8);
    phone.send(Buffer.concat([header, Buffer.alloc(160, 0xd5)]), port, "127.0.0.1");
    await sleep(5);
  }
  await sleep(300);

  return { server, app, pipeline, call, records, requests };
}

t.test("a SIP leg released with its pipeline: the CDR counts its packets, no stats request races", async (t) => {
  const { app, pipeline, call, records, requests } = await answeredCall(t);
  requests.length = 0;
  await app.value("release", { object: pipeline });
  await ended(call);
  await until(() => records.length > 0, 5000);
  t.equal(records.length, 1, "one CDR");
  t.equal(records[0]?.media.rx.packets, 30, "the CDR counts the 30 packets the caller sent");
  t.equal(records[0]?.media.transcoded, false, "and the media facts that came with them");
  await sleep(200);
  t.same(requests, ["object.release"], "one request to the worker: the release, which returned the final stats");
});

t.test("shutdown: the CDR of a live call is written, with its stats, before stop() resolves", async (t) => {
  const { server, records } = await answeredCall(t);
  await server.stop();
  t.equal(records.length, 1, "the call's CDR was written by the time stop() resolved");
  t.equal(records[0]?.endReason, "shutdown");
  t.equal(records[0]?.media.rx.packets, 30, "with the caller's 30 packets");
});

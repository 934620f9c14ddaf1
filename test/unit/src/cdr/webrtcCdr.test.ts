/**
 * Issue 10 §2: CDRs of WebRTC legs no longer depend on SIP. A server with `sip.enabled: false` and CDRs on: a
 * WebRtcEndpoint session connected with a werift peer (real ICE/DTLS-SRTP on 127.0.0.1) and released gives one
 * CDR record, a WebRTC leg, answered, ended by its release. (The in-process server runs the built media workers:
 * `npm run build` first.)
 */
import t from "tap";
import { RpcClient, type RpcMessage } from "../../../helpers/rpcClient.js";
import { startTestServer } from "../../../helpers/inProcessServer.js";
import { makePeer, offerFromPeer, waitConnected } from "../../media/fixtures/webrtcHarness.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("sip disabled: a WebRTC session still gets its CDR", async (t) => {
  t.setTimeout(60_000);
  const server = await startTestServer({ media: { workers: 1 }, sip: { enabled: false } });
  t.teardown(() => server.stop());
  t.equal(server.sip, undefined, "no SIP service");
  const cdr = server.cdr;
  if (cdr === undefined) {
    t.fail("CDRs are on by default");
    return;
  }
  const app = await RpcClient.open(server.url);
  t.teardown(() => app.close());
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  const web = String(
    await app.value("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  await app.value("subscribe", { object: web, type: "IceCandidateFound" });
  const pc = makePeer();
  t.teardown(() => pc.close());
  const { sdp } = await offerFromPeer(pc);
  const answer = String(
    await app.value("invoke", { object: web, operation: "processOffer", operationParams: { offer: sdp } }),
  );
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const seen = new Set<RpcMessage>();
  const trickle = setInterval(() => {
    for (const m of app.events) {
      const v = m.params?.["value"] as { object?: string; type?: string; data?: Record<string, unknown> } | undefined;
      if (!seen.has(m) && v?.object === web && v.type === "IceCandidateFound") {
        seen.add(m);
        const c = v.data?.["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
        pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }).catch(
          () => undefined,
        );
      }
    }
  }, 20);
  t.teardown(() => clearInterval(trickle));
  await app.value("invoke", { object: web, operation: "gatherCandidates" });
  await waitConnected(pc);
  t.equal(cdr.store.count(), 0, "no record while the session runs");

  await app.value("release", { object: pipeline });
  const deadline = Date.now() + 10_000;
  while (cdr.store.count() === 0 && Date.now() < deadline) {
    await sleep(50);
  }
  const records = [...cdr.store.query({ sinceMs: 0, untilMs: Date.now() + 60_000 })];
  t.equal(records.length, 1, "one CDR record");
  const r = records[0];
  t.equal(r?.direction, "webrtc");
  t.equal(r?.elementId, web, "the record names the WebRtcEndpoint");
  t.equal(r?.pipelineId, pipeline);
  t.equal(r?.disposition, "ANSWERED");
  t.equal(r?.endReason, "released");
});

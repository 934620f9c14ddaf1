/**
 * kurento-client 7.3.0 (the real npm package) against the built Korus server, following the Node tutorials:
 * hello-world loopback, one2one, one2many, reconnection after a dropped socket, and error mapping. Media is
 * checked by content: the werift peers send payloads that name their sender and are compared byte for byte on
 * arrival (test/helpers/weriftPeer.ts).
 */
import t, { type Test } from "tap";
import {
  addCandidate,
  cb,
  cbError,
  connect,
  connectClient,
  createPipeline,
  createWebRtc,
  negotiate,
  release,
  type KEvent,
  type MediaElement,
  type MediaObject,
  type MediaPipeline,
  type ServerManager,
  type WebRtcEndpoint,
} from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { startTcpProxy } from "../helpers/tcpProxy.js";
import { WeriftPeer, type Direction } from "../helpers/weriftPeer.js";

t.setTimeout(180_000);

const server = await startKorus(t);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`'s value, or "timeout" after `ms` (the timer is cleared so it cannot hold the process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A werift "browser" wired to `ep` as in the tutorials: its candidates go to addIceCandidate at once. */
function browserFor(
  t: Test,
  ep: WebRtcEndpoint,
  id: string,
  dirs: { audio?: Direction; video?: Direction } = {},
  keyframeEvery?: number,
): { peer: WeriftPeer; candidateErrors: unknown[] } {
  const candidateErrors: unknown[] = [];
  const peer = new WeriftPeer({
    id,
    audio: dirs.audio ?? "sendrecv",
    video: dirs.video ?? "sendrecv",
    ...(keyframeEvery === undefined ? {} : { keyframeEvery }),
    onLocalCandidate: (c) => {
      addCandidate(ep, c).catch((err: unknown) => candidateErrors.push(err));
    },
  });
  t.teardown(() => peer.close());
  return { peer, candidateErrors };
}

/** Every intact packet received from `from` carries a counter the sender really sent, in non-decreasing order. */
function checkSequence(t: Test, receiver: WeriftPeer, sender: WeriftPeer, kind: "audio" | "video"): void {
  const got = receiver.receivedFrom(sender.id, kind);
  const bad = got.filter((r) => r.counter >= sender.sent[kind]);
  t.equal(bad.length, 0, `${receiver.id} got only ${kind} frames ${sender.id} sent`);
  let reordered = 0;
  for (let i = 1; i < got.length; i++) {
    if (got[i]!.counter < got[i - 1]!.counter) {
      reordered++;
    }
  }
  t.ok(reordered <= 2, `${kind} from ${sender.id} to ${receiver.id} in order (${reordered} reordered)`);
}

t.test("hello-world loopback: WebRtcEndpoint connected to itself returns the peer's own Opus and VP8", async (t) => {
  t.setTimeout(60_000);
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const ep = await createWebRtc(pipeline);
  const { peer, candidateErrors } = browserFor(t, ep, "hello");
  // hello-world order: the browser's offer and candidates exist before processOffer; connect(ep, ep) first.
  const offer = await peer.createOffer();
  t.ok(peer.localCandidates.length > 0, "the browser trickled candidates before processOffer");
  await connect(ep, ep);
  const answer = await negotiate(ep, peer, offer);
  t.match(answer, /a=rtpmap:\d+ opus\/48000\/2/i, "answer keeps Opus");
  t.match(answer, /a=rtpmap:\d+ VP8\/90000/i, "answer keeps VP8");
  peer.startMedia();
  await peer.waitForPayloads("hello", "audio", 50, 15_000);
  await peer.waitForPayloads("hello", "video", 30, 15_000);
  const firstVideo = peer.receivedFrom("hello", "video")[0]!;
  t.ok(firstVideo.keyframe, "the first video frame forwarded is a keyframe");
  // Steady state: over 2 s nearly every frame comes back.
  const a0 = peer.sent.audio;
  const since = Date.now();
  await sleep(2000);
  const sentAudio = peer.sent.audio - a0;
  const gotAudio = peer.countFrom("hello", "audio", since);
  t.ok(gotAudio >= sentAudio * 0.8, `audio loop keeps up (${gotAudio}/${sentAudio})`);
  t.ok(peer.countFrom("hello", "video", since) >= 40, "video keeps looping");
  checkSequence(t, peer, peer, "audio");
  checkSequence(t, peer, peer, "video");
  t.equal(peer.corrupt, 0, "no payload altered");
  t.same(candidateErrors, [], "addIceCandidate accepted every browser candidate");
  await release(pipeline);
});

t.test("one2one: two endpoints cross-connected, each peer receives the other's payloads", async (t) => {
  t.setTimeout(60_000);
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const callerEp = await createWebRtc(pipeline);
  const calleeEp = await createWebRtc(pipeline);
  const caller = browserFor(t, callerEp, "caller");
  const callee = browserFor(t, calleeEp, "callee");
  await connect(callerEp, calleeEp);
  await connect(calleeEp, callerEp);
  await negotiate(callerEp, caller.peer, await caller.peer.createOffer());
  await negotiate(calleeEp, callee.peer, await callee.peer.createOffer());
  caller.peer.startMedia();
  callee.peer.startMedia();
  for (const kind of ["audio", "video"] as const) {
    await caller.peer.waitForPayloads("callee", kind, 30, 15_000);
    await callee.peer.waitForPayloads("caller", kind, 30, 15_000);
  }
  t.equal(caller.peer.receivedFrom("caller").length, 0, "the caller does not hear itself");
  t.equal(callee.peer.receivedFrom("callee").length, 0, "the callee does not hear itself");
  for (const kind of ["audio", "video"] as const) {
    checkSequence(t, caller.peer, callee.peer, kind);
    checkSequence(t, callee.peer, caller.peer, kind);
  }
  t.equal(caller.peer.corrupt + callee.peer.corrupt, 0, "no payload altered");
  t.same([...caller.candidateErrors, ...callee.candidateErrors], []);
  await release(pipeline);
});

t.test("one2many: 1 presenter, 3 recvonly viewers; releasing a viewer leaves the others receiving", async (t) => {
  t.setTimeout(90_000);
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const presenterEp = await createWebRtc(pipeline);
  // The presenter sends keyframes only when asked (first frame, PLI/FIR): viewers depend on Korus's requests.
  const presenter = browserFor(t, presenterEp, "presenter", { audio: "sendonly", video: "sendonly" }, 1_000_000);
  await negotiate(presenterEp, presenter.peer, await presenter.peer.createOffer());
  presenter.peer.startMedia();
  const viewers: { ep: WebRtcEndpoint; peer: WeriftPeer; errors: unknown[] }[] = [];
  for (let i = 0; i < 3; i++) {
    const ep = await createWebRtc(pipeline);
    const v = browserFor(t, ep, `viewer${i}`, { audio: "recvonly", video: "recvonly" });
    await connect(presenterEp, ep);
    await negotiate(ep, v.peer, await v.peer.createOffer());
    viewers.push({ ep, peer: v.peer, errors: v.candidateErrors });
  }
  for (const v of viewers) {
    await v.peer.waitForPayloads("presenter", "audio", 25, 15_000);
    await v.peer.waitForPayloads("presenter", "video", 15, 15_000);
    const video = v.peer.receivedFrom("presenter", "video");
    const firstKey = video.find((r) => r.keyframe);
    t.ok(
      firstKey !== undefined && firstKey.at - video[0]!.at <= 1000,
      `${v.peer.id} gets a keyframe within 1 s of its first video packet`,
    );
    // Like KMS, Korus drops delta frames for a new sink until a keyframe.
    t.ok(video[0]!.keyframe, `${v.peer.id} starts on a keyframe`);
  }
  t.equal(presenter.peer.received.length, 0, "the presenter receives nothing back");
  t.ok(
    presenter.peer.keyframeRequests >= 1,
    `Korus asked the presenter for keyframes (${presenter.peer.keyframeRequests})`,
  );
  // Release viewer1 mid-way.
  const gone = viewers[1]!;
  await release(gone.ep);
  await sleep(500);
  const goneCount = gone.peer.received.length;
  const stillFrom = Date.now();
  await sleep(1500);
  t.equal(gone.peer.received.length, goneCount, "the released viewer gets nothing more");
  for (const v of [viewers[0]!, viewers[2]!]) {
    t.ok(v.peer.countFrom("presenter", "audio", stillFrom) >= 40, `${v.peer.id} still receives audio`);
    t.ok(v.peer.countFrom("presenter", "video", stillFrom) >= 20, `${v.peer.id} still receives video`);
    checkSequence(t, v.peer, presenter.peer, "audio");
    checkSequence(t, v.peer, presenter.peer, "video");
  }
  t.equal(
    viewers.reduce((n, v) => n + v.peer.corrupt, 0),
    0,
    "no payload altered",
  );
  t.same(
    viewers.flatMap((v) => v.errors),
    [],
    "every viewer candidate accepted",
  );
  await release(pipeline);
});

t.test("reconnect: after the socket drops, kurento-client resumes its session and events keep coming", async (t) => {
  t.setTimeout(60_000);
  const proxy = await startTcpProxy(server.port);
  t.teardown(() => proxy.close());
  // A request lost with a dropped socket (e.g. a ping) keeps its request_timeout timer alive: keep it short so
  // the test process can exit soon after the last test.
  const handle = await connectClient(t, `ws://127.0.0.1:${proxy.port}/kurento`, { request_timeout: 3000 });
  const client = handle.client;
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const a = await cb<MediaElement>((done) => pipeline.create("PassThrough", done));
  const b = await cb<MediaElement>((done) => pipeline.create("PassThrough", done));
  const events: KEvent[] = [];
  a.on("ElementConnected", (ev) => events.push(ev));
  await cb((done) => a.getName(done)); // the subscribe above has been answered
  const sessionId = handle.sessionId;
  t.type(sessionId, "string", "client has a session");

  const reconnected = new Promise<boolean>((resolve) => client.once("reconnected", resolve));
  t.equal(proxy.dropAll(), 1, "the client's socket was cut");
  const same = await within(reconnected, 15_000);
  t.equal(same, true, "reconnected(true): the server accepted connect {sessionId}");
  t.equal(handle.sessionId, sessionId, "same session id");
  t.ok(proxy.accepted >= 2, "a new socket was opened");

  // Objects survived and the subscription made before the drop still delivers on the new socket.
  await connect(a, b);
  const deadline = Date.now() + 5000;
  while (events.length === 0 && Date.now() < deadline) {
    await sleep(20);
  }
  t.equal(events.length >= 1, true, "ElementConnected delivered after the reconnection");
  const ev = events[0];
  t.equal(ev?.["mediaType"] !== undefined, true, "event carries mediaType");
  const name = await cb<string>((done) => pipeline.getName(done));
  t.type(name, "string", "the pipeline still answers");

  // A request written while the socket is already dead is lost (no server can answer it); kurento-jsonrpc's
  // retry (max_retries) re-sends it, same id, on the new socket and it completes.
  const { client: retrying } = await connectClient(t, `ws://127.0.0.1:${proxy.port}/kurento`, {
    request_timeout: 1000,
    max_retries: 3,
  });
  const p2 = await createPipeline(retrying);
  t.teardown(() => release(p2).catch(() => undefined));
  const again = new Promise<boolean>((resolve) => retrying.once("reconnected", resolve));
  proxy.dropAll();
  const pending = cb<MediaElement>((done) => p2.create("PassThrough", done), 20_000);
  t.equal(await within(again, 15_000), true, "second reconnection");
  const c = await pending;
  t.match(c.id, /PassThrough$/, "the request issued during the drop completed after a retry");
  await release(p2);
  await release(pipeline);
});

t.test("errors are mapped to the codes and classes kurento-client expects", async (t) => {
  t.setTimeout(60_000);
  const { client } = await connectClient(t, server.url);

  const missing = await cbError((done) =>
    client.getMediaobjectById("00000000-0000-0000-0000-000000000000_kurento.MediaPipeline", done),
  );
  t.type(missing, ReferenceError, "unknown object → ReferenceError");
  t.equal(missing.code, 40101, "unknown object → 40101");
  t.equal(missing.data?.type, "MEDIA_OBJECT_NOT_FOUND");

  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const unknownMethod = await cbError((done) => pipeline._invoke(undefined, "frobnicate", undefined, done));
  t.equal(unknownMethod.code, 40008, "unknown method → 40008 as KMS");
  const unknownGetter = await cbError((done) => pipeline._invoke(undefined, "getNoSuchProperty", undefined, done));
  t.equal(unknownGetter.code, 40008, "unknown property getter → 40008");
  const unknownSetter = await cbError((done) =>
    pipeline._invoke(undefined, "setNoSuchProperty", { noSuchProperty: 1 }, done),
  );
  t.equal(unknownSetter.code, 40008, "unknown property setter → 40008");

  const pt = await cb<MediaElement>((done) => pipeline.create("PassThrough", done));
  const ptId = pt.id;
  await release(pt);
  const afterRelease = await cbError((done) => pt._invoke(undefined, "getName", undefined, done));
  t.equal(afterRelease.code, 40101, "invoke on a released object → 40101");
  const describeReleased = await cbError((done) => client.getMediaobjectById(ptId, done));
  t.equal(describeReleased.code, 40101, "describe of a released object → 40101");
  t.type(describeReleased, ReferenceError);

  // A second client (another session) sees the pipeline but not the released element.
  const { client: other } = await connectClient(t, server.url);
  const found = await cb<MediaObject>((done) => other.getMediaobjectById(pipeline.id, done));
  t.equal(found.id, pipeline.id, "another session can describe a live pipeline");
  const manager = await cb<ServerManager>((done) => other.getServerManager(done));
  const pipelines = await cb<MediaPipeline[]>((done) => manager.getPipelines(done));
  t.ok(
    pipelines.some((p) => p.id === pipeline.id),
    "ServerManager.getPipelines lists it",
  );
  await release(pipeline);
});

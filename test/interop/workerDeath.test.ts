/**
 * A media worker dies (POST /admin/workers/0/kill) under kurento-client: the pipelines it held raise Error and
 * are gone (40101, no longer in ServerManager.getPipelines), the other worker's pipelines keep working, and a new
 * pipeline with a WebRtcEndpoint carries media again.
 */
import t from "tap";
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
  type MediaPipeline,
  type ServerManager,
} from "../helpers/kurento.js";
import { httpJson, startKorus } from "../helpers/server.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";

t.setTimeout(90_000);

const server = await startKorus(t, { workers: 2 });

interface WorkerInfo {
  index: number;
  dead: boolean;
  pipelines: number;
}

async function workers(): Promise<WorkerInfo[]> {
  const res = await httpJson(`${server.httpUrl}/admin/workers`);
  return (res.body as { workers: WorkerInfo[] }).workers;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("killing worker 0 releases its pipelines with Error events; the rest keeps working", async (t) => {
  const { client } = await connectClient(t, server.url);
  const pipelines: MediaPipeline[] = [];
  const errors = new Map<string, KEvent[]>();
  for (let i = 0; i < 4; i++) {
    const p = await createPipeline(client);
    pipelines.push(p);
    errors.set(p.id, []);
    p.on("Error", (ev) => errors.get(p.id)!.push(ev));
    // An element in each, to check the whole subtree goes.
    await cb<MediaElement>((done) => p.create("PassThrough", done));
  }
  t.teardown(() => Promise.all(pipelines.map((p) => release(p).catch(() => undefined))));
  const before = await workers();
  t.same(
    before.map((w) => w.pipelines),
    [2, 2],
    "4 pipelines spread over the 2 workers",
  );

  const kill = await httpJson(`${server.httpUrl}/admin/workers/0/kill`, "POST");
  t.equal(kill.status, 200, "kill accepted");

  const deadline = Date.now() + 10_000;
  const affected = (): MediaPipeline[] => pipelines.filter((p) => errors.get(p.id)!.length > 0);
  while (affected().length < 2 && Date.now() < deadline) {
    await sleep(50);
  }
  await sleep(300); // let any wrong extra Error arrive
  const hit = affected();
  const spared = pipelines.filter((p) => !hit.includes(p));
  t.equal(hit.length, 2, "exactly the 2 pipelines of worker 0 raised Error");
  const ev = errors.get(hit[0]?.id ?? "")?.[0];
  t.type(ev?.["description"], "string", "Error carries a description");
  t.type(ev?.["errorCode"], "number", "Error carries an errorCode");

  for (const p of hit) {
    const err = await cbError((done) => p.getName(done));
    t.equal(err.code, 40101, "a dead worker's pipeline answers 40101");
    const described = await cbError((done) => client.getMediaobjectById(`${p.id}/nope_kurento.PassThrough`, done));
    t.equal(described.code, 40101);
  }
  // A fresh client (no cache) cannot describe them either.
  const { client: fresh } = await connectClient(t, server.url);
  for (const p of hit) {
    const err = await cbError((done) => fresh.getMediaobjectById(p.id, done));
    t.type(err, ReferenceError, "describe of a dead pipeline → ReferenceError");
    t.equal(err.code, 40101);
  }
  const manager = await cb<ServerManager>((done) => fresh.getServerManager(done));
  const listed = (await cb<MediaPipeline[]>((done) => manager.getPipelines(done))).map((p) => p.id);
  for (const p of hit) {
    t.notOk(listed.includes(p.id), "getPipelines no longer lists a dead pipeline");
  }
  for (const p of spared) {
    t.ok(listed.includes(p.id), "getPipelines still lists a surviving pipeline");
    t.type(await cb<string>((done) => p.getName(done)), "string", "a surviving pipeline answers");
    const a = await cb<MediaElement>((done) => p.create("PassThrough", done));
    const b = await cb<MediaElement>((done) => p.create("PassThrough", done));
    await connect(a, b);
    t.pass("a surviving pipeline creates and connects elements");
  }

  // The replacement worker is up.
  let after = await workers();
  const until = Date.now() + 10_000;
  while (after.some((w) => w.dead) && Date.now() < until) {
    await sleep(100);
    after = await workers();
  }
  t.equal(after.length, 2, "still 2 workers");
  t.notOk(
    after.some((w) => w.dead),
    "the killed worker was replaced",
  );

  // New pipelines (spread over both workers, so one lands on the replacement) carry WebRTC media.
  for (let i = 0; i < 2; i++) {
    const p = await createPipeline(client);
    pipelines.push(p);
    const ep = await createWebRtc(p);
    const id = `after-kill-${i}`;
    const peer = new WeriftPeer({
      id,
      onLocalCandidate: (c) => {
        addCandidate(ep, c).catch(() => undefined);
      },
    });
    t.teardown(() => peer.close());
    await connect(ep, ep);
    await negotiate(ep, peer, await peer.createOffer());
    peer.startMedia();
    await peer.waitForPayloads(id, "audio", 25, 15_000);
    await peer.waitForPayloads(id, "video", 15, 15_000);
    t.equal(peer.corrupt, 0, `${id}: loopback media intact`);
    await peer.close();
  }
  const final = await workers();
  t.ok(
    final.every((w) => w.pipelines >= 1),
    `both workers (incl. the replacement) hold pipelines: ${final.map((w) => w.pipelines).join(", ")}`,
  );
});

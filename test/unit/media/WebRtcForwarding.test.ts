import t from "tap";
import type { RTCPeerConnection } from "werift";
import type { Connection } from "../../../media/core/MediaElement.js";
import { MediaElement } from "../../../media/core/MediaElement.js";
import type { MediaPacket } from "../../../media/core/types.js";
import {
  Harness,
  connectPeer,
  until,
  collectReceived,
  invoke,
  makePeer,
  rtp,
  sleep,
  vp8,
} from "./fixtures/webrtcHarness.js";

/** PLIs the peer's video sender received. */
function countPli(peer: RTCPeerConnection): { n: number } {
  const c = { n: 0 };
  const video = peer.getTransceivers().find((x) => x.kind === "video");
  video?.sender.onPictureLossIndication.subscribe(() => c.n++);
  return c;
}

t.test("A1 then A2 feeding B: payloads arrive, seq and timestamp stay continuous, PLIs travel", async (t) => {
  t.setTimeout(30_000);
  const h = new Harness();
  const [a1, a2, b] = [await h.endpoint(), await h.endpoint(), await h.endpoint()];
  const [p1, p2, pb] = [makePeer(), makePeer(), makePeer()];
  t.teardown(async () => {
    await Promise.all([p1.close(), p2.close(), pb.close()]);
    h.pipeline.release();
  });
  const got = collectReceived(pb);
  const s1 = await connectPeer(h, a1, p1);
  const s2 = await connectPeer(h, a2, p2);
  await connectPeer(h, b, pb);
  const pli1 = countPli(p1);
  const pli2 = countPli(p2);

  // Warm-up: each source's peer has sent video, so its endpoint knows the SSRC to ask for keyframes.
  s1.video.writeRtp(rtp(98, 0, vp8("warm", true)));
  s2.video.writeRtp(rtp(29_998, 0, vp8("warm", true)));
  await until(() => h.eventsOf(a1, "MediaStateChanged").length > 0 && h.eventsOf(a2, "MediaStateChanged").length > 0);

  h.pipeline.connect(a1, b, undefined, "default", "default");
  await until(() => pli1.n > 0);
  t.ok(pli1.n > 0, "connecting a video sink makes A1 send PLI to its peer");
  for (let i = 0; i < 10; i++) {
    s1.video.writeRtp(rtp(100 + i, 90_000 + 3000 * i, vp8(`A1-${i}`, i === 0), true));
    s1.audio.writeRtp(rtp(500 + i, 960 * i, Buffer.from(`a1-${i}`)));
    await sleep(5);
  }
  await until(() => got.video.length >= 10);

  h.pipeline.connect(a2, b, undefined, "default", "default"); // replaces A1 on B's pads
  await until(() => pli2.n > 0);
  t.ok(pli2.n > 0, "switching B to A2 asks A2's peer for a keyframe");
  t.same(
    b.sourceConnections("VIDEO").map((c) => c.source.id),
    [a2.id],
    "one source per sink pad",
  );
  for (let i = 0; i < 10; i++) {
    s2.video.writeRtp(rtp(30_000 + i, 7_777_000 + 3000 * i, vp8(`A2-${i}`, i === 0), true));
    await sleep(5);
  }
  await until(() => got.video.length >= 20);

  const tags = got.video.map((p) => p.subarray(2).toString());
  t.same(
    tags,
    [...[...Array(10).keys()].map((i) => `A1-${i}`), ...[...Array(10).keys()].map((i) => `A2-${i}`)],
    "B's peer gets A1's frames, then A2's",
  );
  for (let i = 1; i < got.seqs.length; i++) {
    t.equal(got.seqs[i], ((got.seqs[i - 1] ?? 0) + 1) % 65536, `seq continuous at ${i}`);
  }
  const tsStep = ((got.ts[10] ?? 0) - (got.ts[9] ?? 0) + 2 ** 32) % 2 ** 32;
  t.ok(tsStep > 0 && tsStep < 90_000 * 5, `timestamp moves forward by a plausible gap across the switch (${tsStep})`);
  t.equal(got.audio.length, 10, "audio forwarded too");

  // A PLI from B's peer travels upstream to the current source's peer.
  await sleep(250);
  const before = pli2.n;
  const pbVideo = pb.getTransceivers().find((x) => x.kind === "video");
  const bSsrc = pbVideo?.receiver.tracks[0]?.ssrc ?? 0;
  await pbVideo?.receiver.sendRtcpPLI(bSsrc);
  await until(() => pli2.n > before);
  t.ok(pli2.n > before, "PLI from B's peer reaches A2's peer");
  const stats = (await invoke(b, "getStats", { mediaType: "VIDEO" })) as Record<string, Record<string, unknown>>;
  const out = Object.values(stats).find((s) => s["type"] === "outboundrtp");
  t.equal(out?.["packetsSent"], 20);
  t.ok((out?.["pliCount"] as number) >= 1, "B counts the PLI its peer sent");
});

/** A source that pushes hand-made packets into the pipeline. */
class TestSource extends MediaElement {
  push(p: MediaPacket): void {
    this.sendToSinks(p);
  }
  protected override onMedia(_p: MediaPacket, _c: Connection): void {
    // a pure source
  }
  protected override dispose(): void {
    // nothing
  }
}

t.test("a codec the peer did not negotiate is dropped with a rate-limited warning", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const b = await h.endpoint();
  const pb = makePeer();
  t.teardown(async () => {
    await pb.close();
    h.pipeline.release();
  });
  const got = collectReceived(pb);
  await connectPeer(h, b, pb);
  const src = await h.element(TestSource);
  h.pipeline.connect(src, b, "VIDEO", "default", "default");
  const pkt = (codec: string, seq: number, tag: string): MediaPacket => ({
    kind: "VIDEO",
    codec,
    clockRate: 90000,
    payloadType: codec === "h264" ? 102 : 96,
    ssrc: 1234,
    sequenceNumber: seq,
    timestamp: seq * 3000,
    marker: true,
    // Keyframes (an H.264 IDR, a VP8 key frame): a new sink only starts on one.
    payload: codec === "h264" ? Buffer.from([0x65, 1, 2, 3]) : vp8(tag, true),
    keyframe: true,
    arrivalMs: performance.now(),
  });
  for (let i = 0; i < 20; i++) {
    src.push(pkt("h264", i, "h"));
  }
  src.push(pkt("vp8", 20, "ok"));
  await until(() => got.video.length >= 1);
  t.same(
    got.video.map((p) => p.subarray(2).toString()),
    ["ok"],
    "only the negotiated codec reaches the peer",
  );
  const drops = h.warnings.filter((w) => w.includes("not negotiated"));
  t.ok(drops.length >= 1 && drops.length <= 5, `drop warnings are rate limited (${drops.length})`);
});

class CountingSource extends TestSource {
  keyframeRequests = 0;
  override handleKeyframeRequest(): void {
    this.keyframeRequests++;
  }
}

t.test("video to a new sink starts on a keyframe; a source switch waits for the next one", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const b = await h.endpoint();
  const pb = makePeer();
  t.teardown(async () => {
    await pb.close();
    h.pipeline.release();
  });
  const got = collectReceived(pb);
  await connectPeer(h, b, pb);
  const pkt = (ssrc: number, seq: number, tag: string, key: boolean): MediaPacket => ({
    kind: "VIDEO",
    codec: "vp8",
    clockRate: 90000,
    payloadType: 96,
    ssrc,
    sequenceNumber: seq,
    timestamp: seq * 3000,
    marker: true,
    payload: vp8(tag, key),
    keyframe: key,
    arrivalMs: performance.now(),
  });
  const s1 = await h.element(CountingSource);
  h.pipeline.connect(s1, b, "VIDEO", "default", "default");
  const asked = s1.keyframeRequests;
  for (let i = 0; i < 5; i++) {
    s1.push(pkt(1, i, `d${i}`, false));
  }
  t.ok(s1.keyframeRequests > asked, "delta frames to a sink without a keyframe make it ask upstream");
  s1.push(pkt(1, 5, "K5", true));
  s1.push(pkt(1, 6, "d6", false));
  await until(() => got.video.length >= 2);
  const s2 = await h.element(CountingSource);
  h.pipeline.connect(s2, b, "VIDEO", "default", "default");
  s2.push(pkt(2, 100, "x100", false));
  s2.push(pkt(2, 101, "K101", true));
  s2.push(pkt(2, 102, "x102", false));
  await until(() => got.video.length >= 4);
  await sleep(200);
  t.same(
    got.video.map((p) => p.subarray(2).toString()),
    ["K5", "d6", "K101", "x102"],
    "deltas before the first keyframe of each source are held back",
  );
});

/**
 * RTCP from a WebRTC peer on the fast path: its SRTCP is unprotected by FastRtpPath's SrtpStage and reaches the
 * endpoint's RTCP session. A PLI from B's peer travels upstream (B → A) and makes A ask its own peer for a keyframe.
 */
import t from "tap";
import { Harness, connectPeer, until, makePeer, rtp, sleep, vp8 } from "../fixtures/webrtcHarness.js";

const UNTIL_MS = 5000;

t.test("a PLI from B's peer (SRTCP on the fast path) makes A ask its peer for a keyframe", async (t) => {
  t.setTimeout(30_000);
  const h = new Harness();
  const [a, b] = [await h.endpoint(), await h.endpoint()];
  const [pa, pb] = [makePeer(), makePeer()];
  t.teardown(async () => {
    await Promise.all([pa.close(), pb.close()]);
    h.pipeline.release();
  });
  const ssrcAtPb: number[] = [];
  pb.onTrack.subscribe((track) => {
    if (track.kind === "video") {
      track.onReceiveRtp.subscribe((p) => ssrcAtPb.push(p.header.ssrc));
    }
  });
  const sa = await connectPeer(h, a, pa);
  await connectPeer(h, b, pb);
  let plisAtA = 0;
  pa.getTransceivers()
    .find((x) => x.kind === "video")
    ?.sender.onPictureLossIndication.subscribe(() => plisAtA++);

  sa.video.writeRtp(rtp(98, 0, vp8("warm", true))); // A learns its peer's video SSRC
  await until(() => h.eventsOf(a, "MediaStateChanged").length > 0, UNTIL_MS);
  h.pipeline.connect(a, b, undefined, "default", "default");
  for (let i = 0; i < 5; i++) {
    sa.video.writeRtp(rtp(100 + i, 3000 * i, vp8(`A-${i}`, i === 0), true));
    await sleep(10);
  }
  await until(() => ssrcAtPb.length >= 5 && plisAtA > 0, UNTIL_MS);
  t.ok(ssrcAtPb.length >= 5, "B's peer receives A's video");
  await sleep(300);
  const before = plisAtA;

  const receiver = pb.getTransceivers().find((x) => x.kind === "video")?.receiver;
  await receiver?.sendRtcpPLI(ssrcAtPb[0]!);
  await until(() => plisAtA > before, UNTIL_MS);
  t.ok(plisAtA > before, `B's peer's PLI reached A's peer as a keyframe request (${before} → ${plisAtA})`);
});

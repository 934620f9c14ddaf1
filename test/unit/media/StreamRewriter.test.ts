import t from "tap";
import { StreamRewriter, seqNewer } from "../../../media/rtp/StreamRewriter.js";
import { isH264Keyframe, isKeyframe, isVp8Keyframe } from "../../../media/rtp/keyframe.js";

t.test("StreamRewriter keeps seq and timestamp continuous across source switches", (t) => {
  const rw = new StreamRewriter();
  const a = {};
  const b = {};
  const out: [number, number][] = [];
  const feed = (src: object, ssrc: number, seq: number, ts: number, now: number): void => {
    rw.rewrite(src, ssrc, seq, ts, 90000, now);
    out.push([rw.seq, rw.timestamp]);
  };
  feed(a, 1, 65534, 4_294_960_000, 0);
  feed(a, 1, 65535, 4_294_963_000, 33);
  feed(a, 1, 0, 704, 66); // both wrap
  t.same(out, [
    [65534, 4_294_960_000],
    [65535, 4_294_963_000],
    [0, 704],
  ]);
  feed(b, 2, 12345, 1000, 166); // new source 100 ms later
  t.equal(rw.seq, 1, "new source continues at last + 1");
  t.equal(rw.timestamp, 704 + 9000, "timestamp continues by the wall-clock gap in the source clock");
  feed(b, 2, 12346, 4000, 199);
  t.same([rw.seq, rw.timestamp], [2, 704 + 9000 + 3000], "offsets constant within a source");
  feed(b, 2, 12348, 10000, 260); // a gap (loss) is preserved
  t.equal(rw.seq, 4);
  feed(b, 2, 12347, 7000, 261); // late packet: rewritten, does not move the continuation point
  t.equal(rw.seq, 3);
  feed(a, 3, 500, 0, 261); // same element, new SSRC: also a switch
  t.equal(rw.seq, 5, "continues after the newest packet, not the late one");
  t.ok(rw.timestamp > 704 + 9000 + 9000, "timestamp moves forward");
  t.equal(rw.switches, 2);
  t.end();
});

t.test("seqNewer uses serial arithmetic", (t) => {
  t.ok(seqNewer(1, 0));
  t.ok(seqNewer(0, 65535));
  t.notOk(seqNewer(65535, 0));
  t.notOk(seqNewer(5, 5));
  t.end();
});

t.test("VP8 keyframes", (t) => {
  t.ok(isVp8Keyframe(Uint8Array.from([0x10, 0x00])), "S=1, PID=0, P=0");
  t.notOk(isVp8Keyframe(Uint8Array.from([0x10, 0x01])), "interframe");
  t.notOk(isVp8Keyframe(Uint8Array.from([0x00, 0x00])), "not a partition start");
  // X with I (15-bit picture id), L, T: descriptor is 1 + 1 + 2 + 1 + 1 bytes.
  t.ok(isVp8Keyframe(Uint8Array.from([0x90, 0xe0, 0x80, 0x01, 0x00, 0x00, 0x00])));
  t.notOk(isVp8Keyframe(Uint8Array.from([0x90, 0xe0, 0x80, 0x01, 0x00, 0x00, 0x01])));
  t.notOk(isVp8Keyframe(Uint8Array.from([0x90, 0x80])), "truncated");
  t.notOk(isVp8Keyframe(new Uint8Array(0)));
  t.end();
});

t.test("H.264 keyframes", (t) => {
  t.ok(isH264Keyframe(Uint8Array.from([0x65, 0x88])), "IDR");
  t.ok(isH264Keyframe(Uint8Array.from([0x67, 0x42])), "SPS");
  t.notOk(isH264Keyframe(Uint8Array.from([0x41, 0x9a])), "non-IDR slice");
  t.ok(isH264Keyframe(Uint8Array.from([0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce])), "STAP-A with SPS");
  t.notOk(isH264Keyframe(Uint8Array.from([0x78, 0, 2, 0x41, 0x9a])), "STAP-A without");
  t.ok(isH264Keyframe(Uint8Array.from([0x7c, 0x85, 0x88])), "FU-A start of IDR");
  t.notOk(isH264Keyframe(Uint8Array.from([0x7c, 0x05, 0x88])), "FU-A continuation");
  t.notOk(isH264Keyframe(Uint8Array.from([0x7c])), "truncated FU-A");
  t.notOk(isKeyframe("opus", Uint8Array.from([0x00])));
  t.ok(isKeyframe("h264", Uint8Array.from([0x65])));
  t.end();
});

import t from "tap";
import { H264Assembler, Vp8Assembler, avcDecoderConfig, type RtpIn } from "../../../../media/record/depacketize.js";
import { recordingProfile } from "../../../../media/record/profiles.js";
import { spsSize } from "../../../../media/record/h264Sps.js";

const pkt = (sequenceNumber: number, timestamp: number, marker: boolean, payload: number[]): RtpIn => ({
  sequenceNumber,
  timestamp,
  marker,
  payload: Uint8Array.from(payload),
});

/** A VP8 keyframe header (RFC 6386 §9.1): 320x240. */
const VP8_KEY = [0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];

t.test("VP8: descriptor stripped, frame up to the marker, keyframe size, loss waits for a keyframe", (t) => {
  const a = new Vp8Assembler();
  // X=1, S=1, PID=0; I=1 with a 15-bit picture id (M=1): 4-byte descriptor.
  t.equal(a.push(pkt(1, 90, false, [0x90, 0x80, 0x80, 0x01, ...VP8_KEY])), undefined);
  const f = a.push(pkt(2, 90, true, [0x80, 0x80, 0x80, 0x01, 0xaa, 0xbb]));
  t.same(f && [...f.data], [...VP8_KEY, 0xaa, 0xbb]);
  t.match(f, { keyframe: true, width: 320, height: 240, timestamp: 90 });
  // An interframe with a hole in its sequence numbers: dropped, and the next interframe too.
  t.equal(a.push(pkt(3, 180, false, [0x10, 0x01])), undefined);
  t.equal(a.push(pkt(5, 180, true, [0x00, 0x02])), undefined);
  t.equal(a.push(pkt(6, 270, true, [0x10, 0x01, 0x02])), undefined, "no interframe before the next keyframe");
  t.ok(a.needKeyframe);
  t.match(a.push(pkt(7, 360, true, [0x10, ...VP8_KEY])), { keyframe: true });
  t.match(a.push(pkt(8, 450, true, [0x10, 0x01, 0x02])), { keyframe: false, timestamp: 450 });
  t.end();
});

t.test("H.264: single NAL, STAP-A and FU-A become length-prefixed NAL units; SPS/PPS kept", (t) => {
  const a = new H264Assembler();
  const sps = [0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x40, 0x7b, 0x20];
  const pps = [0x68, 0xce, 0x3c, 0x80];
  const stap = [0x78, 0, sps.length, ...sps, 0, pps.length, ...pps];
  t.equal(a.push(pkt(10, 3000, false, stap)), undefined);
  // FU-A of an IDR slice (type 5) in three fragments.
  t.equal(a.push(pkt(11, 3000, false, [0x7c, 0x85, 1, 2])), undefined);
  t.equal(a.push(pkt(12, 3000, false, [0x7c, 0x05, 3])), undefined);
  const f = a.push(pkt(13, 3000, true, [0x7c, 0x45, 4, 5]));
  t.ok(f?.keyframe, "an IDR makes a keyframe");
  t.same(f && [...f.data], [0, 0, 0, sps.length, ...sps, 0, 0, 0, pps.length, ...pps, 0, 0, 0, 6, 0x65, 1, 2, 3, 4, 5]);
  t.same(a.sps && [...a.sps], sps);
  t.same(a.pps && [...a.pps], pps);
  const cfg = avcDecoderConfig(a.sps!, a.pps!);
  t.same([...cfg.subarray(0, 8)], [1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, sps.length]);
  t.match(a.push(pkt(14, 6000, true, [0x41, 9, 9])), { keyframe: false }, "a single non-IDR NAL unit");
  t.end();
});

t.test("an SPS gives the picture size", (t) => {
  // x264 baseline 320x240 SPS.
  const sps = Uint8Array.from([
    0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03,
    0x20, 0xf1, 0x42, 0xa4, 0x80,
  ]);
  t.same(spsSize(sps), { width: 320, height: 240 });
  t.equal(spsSize(Uint8Array.from([0x67])), undefined, "a truncated SPS gives nothing, not a throw");
  t.end();
});

t.test("profiles", (t) => {
  t.match(recordingProfile(undefined), { name: "WEBM", audio: true, video: true, container: "webm" });
  t.match(recordingProfile("MP4_AUDIO_ONLY"), { audio: true, video: false, container: "mp4" });
  t.match(recordingProfile("MKV_VIDEO_ONLY"), { audio: false, video: true, container: "mkv" });
  for (const bad of ["KURENTO_SPLIT_RECORDER", "JPEG_VIDEO_ONLY", "FLV", 7]) {
    t.throws(() => recordingProfile(bad), {
      name: "MediaOperationError",
      kurentoType: "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
    });
  }
  t.end();
});

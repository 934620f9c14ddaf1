/**
 * The player's video plumbing without processes: IVF parsing across chunk boundaries, VP8/VP9 packetising
 * (descriptors, marker, keyframe flag as media/rtp/keyframe.ts reads it, reassembly by the recorder's
 * depacketisers), the passthrough/transcode plan, and ffmpeg's arguments (copy vs libvpx, the input confinement).
 */
import t from "tap";
import type { MediaPacket } from "../../../../media/core/types.js";
import { IvfFormatError, IvfReader } from "../../../../media/player/ivf.js";
import { readerArgs } from "../../../../media/player/MediaReader.js";
import { isVp9FrameKey, packetizeFrame } from "../../../../media/player/packetize.js";
import { planVideo } from "../../../../media/player/videoPlan.js";
import { VideoSender } from "../../../../media/player/VideoSender.js";
import { Vp8Assembler, Vp9Assembler } from "../../../../media/record/depacketize.js";
import { isVp8Keyframe } from "../../../../media/rtp/keyframe.js";

function ivf(frames: { pts: number; data: Uint8Array }[]): Uint8Array {
  const h = Buffer.alloc(32);
  h.write("DKIF", 0);
  h.writeUInt16LE(32, 6);
  h.write("VP80", 8);
  h.writeUInt16LE(640, 12);
  h.writeUInt16LE(480, 14);
  h.writeUInt32LE(30, 16);
  h.writeUInt32LE(1, 20);
  const parts: Buffer[] = [h];
  for (const f of frames) {
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.data.length, 0);
    fh.writeBigInt64LE(BigInt(f.pts), 4);
    parts.push(fh, Buffer.from(f.data));
  }
  return Buffer.concat(parts);
}

/** A VP8 keyframe start (frame tag P=0, start code, 640x480) followed by `n` filler bytes. */
function vp8Key(n: number): Uint8Array {
  const f = new Uint8Array(10 + n);
  f.set([0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01]);
  for (let i = 10; i < f.length; i++) {
    f[i] = i & 0xff;
  }
  return f;
}

t.test("IVF frames come out whole, whatever the chunking", async (t) => {
  const bytes = ivf([
    { pts: 0, data: vp8Key(3000) },
    { pts: 1, data: new Uint8Array([0x51, 1, 2, 3]) },
    { pts: 2, data: new Uint8Array(0) },
  ]);
  const r = new IvfReader();
  const got = [];
  for (let i = 0; i < bytes.length; i += 7) {
    got.push(...r.push(bytes.subarray(i, i + 7)));
  }
  t.same(r.header, { fourcc: "VP80", width: 640, height: 480, timebaseNum: 1, timebaseDen: 30 });
  t.same(
    got.map((f) => [Math.round(f.ptsMs), f.data.length]),
    [
      [0, 3010],
      [33, 4],
      [67, 0],
    ],
  );
  t.throws(() => new IvfReader().push(new Uint8Array(40)), IvfFormatError, "not IVF");
  const huge = Buffer.from(ivf([]));
  const bad = Buffer.concat([huge, Buffer.from([0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0])]);
  t.throws(() => new IvfReader().push(bad), IvfFormatError, "an absurd frame size is refused");
});

t.test("VP8: RFC 7741 descriptors, marker on the last packet, keyframe flag; reassembles", async (t) => {
  const frame = vp8Key(3000);
  const s = new VideoSender();
  const out: MediaPacket[] = [];
  s.send("vp8", frame, 1000, 0, (p) => out.push(p));
  s.send("vp8", new Uint8Array([0x51, 9, 9]), 1000 + 100 / 3, 33, (p) => out.push(p));
  t.equal(out.length, 4, "3 packets of ≤1200 bytes for 3010 bytes, then 1");
  t.ok(
    out.every((p) => p.payload.length <= 1200),
    "payloads ≤ 1200",
  );
  t.same(
    out.map((p) => p.marker),
    [false, false, true, true],
    "marker on each frame's last packet",
  );
  t.same(
    out.map((p) => p.keyframe),
    [true, false, false, false],
  );
  t.ok(isVp8Keyframe(out[0]?.payload ?? new Uint8Array()), "media/rtp/keyframe.ts sees the keyframe");
  t.equal(((out[3]?.timestamp ?? 0) - (out[0]?.timestamp ?? 0)) >>> 0, 3000, "90 kHz timestamps from the clock");
  t.equal(((out[3]?.sequenceNumber ?? 0) - (out[0]?.sequenceNumber ?? 0)) & 0xffff, 3, "continuous sequence numbers");
  const a = new Vp8Assembler();
  const frames = out.map((p) => a.push(p)).filter((f) => f !== undefined);
  t.equal(frames.length, 2, "the recorder's depacketiser reassembles both frames");
  t.same(Buffer.from(frames[0]?.data ?? []), Buffer.from(frame), "byte for byte");
  t.same([frames[0]?.width, frames[0]?.height], [640, 480]);
});

t.test("VP9: B/E/P flags and reassembly", async (t) => {
  const key = new Uint8Array(2500).fill(7);
  key[0] = 0x82; // frame_marker 2, profile 0, show_existing 0, frame_type 0 (key)
  const inter = new Uint8Array([0x86, 1, 2]); // frame_type 1
  t.ok(isVp9FrameKey(key));
  t.notOk(isVp9FrameKey(inter));
  const ps = packetizeFrame("vp9", key, 5);
  t.same(
    ps.map((p) => (p[0] ?? 0) & 0x4c),
    [0x08, 0x00, 0x04],
    "B on the first, E on the last, P clear",
  );
  t.equal((packetizeFrame("vp9", inter, 6)[0]?.[0] ?? 0) & 0x40, 0x40, "P on an inter frame");
  const a = new Vp9Assembler();
  let got: { data: Uint8Array } | undefined;
  ps.forEach((payload, i) => {
    got = a.push({ sequenceNumber: i, timestamp: 1, marker: i === ps.length - 1, payload }) ?? got;
  });
  t.same(Buffer.from(got?.data ?? []), Buffer.from(key), "reassembled");
});

t.test("the plan: passthrough when every sink takes the file's codec, else VP8, else an error", async (t) => {
  t.same(planVideo("vp8", [undefined, ["vp8", "h264"]]), { mode: "copy" });
  t.same(planVideo("vp9", [["vp8", "vp9"]]), { mode: "copy" });
  t.same(planVideo("vp9", [["vp8"], ["vp8", "vp9"]]), { mode: "vp8" }, "one sink without VP9: transcode");
  t.same(planVideo("h264", [["vp8"]]), { mode: "vp8" });
  t.same(planVideo("hevc", []), { mode: "vp8" }, "no negotiated sink: VP8");
  const e = planVideo("h264", [["h264"]]);
  t.ok("error" in e && e.error.includes("h264 video: its sinks take only h264"), "an H.264-only sink: an error");
});

t.test("ffmpeg's arguments: copy or libvpx, the file as /proc/self/fd/0 with whitelists", async (t) => {
  const copy = readerArgs({ startMs: 1500, audio: true, video: "copy" }, "fd");
  const s = copy.join(" ");
  t.match(s, /-protocol_whitelist file -format_whitelist \S+ -ss 1\.500 -i \/proc\/self\/fd\/0/);
  t.notMatch(s, /hls|concat|dash/, "no playlist demuxer");
  t.match(s, /-map 0:v:0 -an -c:v copy -f ivf pipe:3/);
  t.match(s, /-map 0:a:0 -vn -f s16le/);
  const vp8 = readerArgs({ startMs: 0, audio: false, video: "vp8" }, "pipe").join(" ");
  t.match(vp8, /-protocol_whitelist pipe -i pipe:0/);
  t.match(vp8, /-c:v libvpx -deadline realtime/);
  t.match(vp8, /-force_key_frames expr:gte\(t,n_forced\*1\)/, "a keyframe every second");
  t.notMatch(vp8, /s16le/, "no audio output for a file without audio");
});

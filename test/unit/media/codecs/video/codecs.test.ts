/**
 * The native video codecs, checked by content: frames encoded by our encoders decode (with our decoders AND with
 * the ffmpeg CLI) to the colours and motion that went in; x264's output is constrained baseline; forceKeyframe,
 * setBitrate and a change of source size do what they say.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { container, lumaPsnr, movingI420, planeMean, rgbToYuv, solidI420 } from "../../../../../bench/lib/video.js";
import {
  type EncodedVideoFrame,
  VideoDecoder,
  VideoEncoder,
  type VideoCodecName,
} from "../../../../../media/codecs/video/index.js";
import { ffmpegSync } from "../../../../helpers/ffmpeg.js";

const CODECS: readonly VideoCodecName[] = ["vp8", "vp9", "h264"];
const W = 320;
const H = 240;
const TICK = 3000; // 30 fps on the 90 kHz clock

const dir = mkdtempSync(join(tmpdir(), "korus-video-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

async function encodeAll(enc: VideoEncoder, frames: readonly Uint8Array[], w = W, h = H): Promise<EncodedVideoFrame[]> {
  const out: EncodedVideoFrame[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (f === undefined) {
      continue;
    }
    const e = await enc.encode({ data: f, width: w, height: h }, i * TICK);
    if (e === null) {
      throw new Error(`frame ${i} was dropped`);
    }
    out.push(e);
  }
  return out;
}

/** Our decoder: the decoded frames, copied out of the pool. */
async function decodeAll(codec: VideoCodecName, frames: readonly EncodedVideoFrame[]): Promise<Uint8Array[]> {
  const dec = new VideoDecoder({ codec });
  const out: Uint8Array[] = [];
  try {
    for (const f of frames) {
      for (const d of (await dec.decode(f.data, f.timestamp)) ?? []) {
        out.push(Uint8Array.from(d.data));
        d.release();
      }
    }
  } finally {
    dec.close();
  }
  return out;
}

function probe(file: string): Record<string, string> {
  const r = spawnSync("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "flat=s=_", file], {
    timeout: 30_000,
  });
  const fields: Record<string, string> = {};
  for (const line of r.stdout.toString().split("\n")) {
    const m = /^streams_stream_0_(\w+)=(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) {
      fields[m[1]] = m[2].replace(/^"|"$/g, "");
    }
  }
  return fields;
}

/** ffmpeg's decode of our stream, as I420 frames. */
function ffmpegDecode(
  codec: VideoCodecName,
  frames: readonly EncodedVideoFrame[],
  name: string,
): { file: string; frames: Uint8Array[] } {
  const file = join(dir, `${name}.${codec === "h264" ? "h264" : "ivf"}`);
  writeFileSync(
    file,
    container(
      codec,
      W,
      H,
      30,
      frames.map((f) => f.data),
    ),
  );
  const raw = ffmpegSync(["-i", file, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"]);
  const size = (W * H * 3) / 2;
  const out: Uint8Array[] = [];
  for (let o = 0; o + size <= raw.length; o += size) {
    out.push(raw.subarray(o, o + size));
  }
  return { file, frames: out };
}

const RED = rgbToYuv(200, 30, 40);

for (const codec of CODECS) {
  t.test(`${codec}: a solid colour survives our decoder and ffmpeg's`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H, bitrate: 500_000 });
    t.teardown(() => enc.close());
    const frames = await encodeAll(
      enc,
      Array.from({ length: 10 }, () => solidI420(W, H, RED)),
    );
    t.equal(frames[0]?.keyframe, true, "the first frame is a keyframe");
    const ours = await decodeAll(codec, frames);
    const theirs = ffmpegDecode(codec, frames, `solid-${codec}`);
    t.equal(ours.length, 10, "our decoder gives every frame");
    t.equal(theirs.frames.length, 10, "ffmpeg gives every frame");
    for (const [who, list] of [
      ["ours", ours],
      ["ffmpeg", theirs.frames],
    ] as const) {
      const last = list[list.length - 1];
      if (last === undefined) {
        continue;
      }
      for (const plane of [0, 1, 2] as const) {
        t.ok(Math.abs(planeMean(last, W, H, plane) - RED[plane]) < 4, `${who}: plane ${plane} keeps the colour`);
      }
    }
    const p = probe(theirs.file);
    t.equal(p["codec_name"], codec, "ffprobe names the codec");
    t.equal(`${p["width"]}x${p["height"]}`, `${W}x${H}`, "ffprobe reads the size");
  });

  t.test(`${codec}: a moving pattern decodes to moving frames like the source`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H, bitrate: 1_500_000 });
    t.teardown(() => enc.close());
    const src = Array.from({ length: 20 }, (_, i) => movingI420(W, H, i));
    const frames = await encodeAll(enc, src);
    const ours = await decodeAll(codec, frames);
    const theirs = ffmpegDecode(codec, frames, `moving-${codec}`).frames;
    for (const [who, list] of [
      ["ours", ours],
      ["ffmpeg", theirs],
    ] as const) {
      t.equal(list.length, 20, `${who}: every frame`);
      const a = list[5];
      const b = list[15];
      const s5 = src[5];
      const s15 = src[15];
      if (a === undefined || b === undefined || s5 === undefined || s15 === undefined) {
        continue;
      }
      t.ok(
        lumaPsnr(a, s5, W, H) > 28,
        `${who}: frame 5 looks like its source (${lumaPsnr(a, s5, W, H).toFixed(1)} dB)`,
      );
      t.ok(lumaPsnr(b, s15, W, H) > 28, `${who}: frame 15 looks like its source`);
      t.ok(lumaPsnr(a, b, W, H) < 20, `${who}: the frames change`);
    }
  });

  t.test(`${codec}: forceKeyframe makes the next frame a keyframe that decodes on its own`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H });
    t.teardown(() => enc.close());
    const src = Array.from({ length: 8 }, (_, i) => movingI420(W, H, i));
    const before = await encodeAll(enc, src.slice(0, 5));
    t.same(
      before.map((f) => f.keyframe),
      [true, false, false, false, false],
      "only the first frame is a keyframe on its own",
    );
    enc.forceKeyframe();
    const k = await enc.encode({ data: src[5] ?? new Uint8Array(), width: W, height: H }, 5 * TICK);
    const after = await enc.encode({ data: src[6] ?? new Uint8Array(), width: W, height: H }, 6 * TICK);
    t.equal(k?.keyframe, true, "the frame after forceKeyframe is a keyframe");
    t.equal(after?.keyframe, false, "the one after that is not");
    if (k === null) {
      return;
    }
    const alone = await decodeAll(codec, [k]);
    t.equal(alone.length, 1, "a fresh decoder decodes the forced keyframe alone");
    const a = alone[0];
    const s = src[5];
    if (a !== undefined && s !== undefined) {
      t.ok(lumaPsnr(a, s, W, H) > 28, "and it shows the source frame");
    }
    const viaFlag = await enc.encode({ data: src[7] ?? new Uint8Array(), width: W, height: H }, 7 * TICK, true);
    t.equal(viaFlag?.keyframe, true, "encode(…, keyframe = true) forces one too");
  });

  t.test(`${codec}: setBitrate changes the output size`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H, bitrate: 2_000_000 });
    t.teardown(() => enc.close());
    const bytes = async (from: number, n: number): Promise<number> => {
      let sum = 0;
      for (let i = from; i < from + n; i++) {
        const e = await enc.encode({ data: movingI420(W, H, i), width: W, height: H }, i * TICK);
        if (i >= from + n / 2) {
          sum += e?.data.length ?? 0;
        } // after the rate control settled
      }
      return sum;
    };
    const high = await bytes(0, 30);
    enc.setBitrate(200_000);
    t.equal(enc.bitrate, 200_000);
    const low = await bytes(30, 30);
    t.ok(low < high * 0.5, `200 kb/s makes smaller frames than 2 Mb/s (${low} vs ${high} bytes)`);
  });

  t.test(`${codec}: a frame of a new size reopens the encoder at that size`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H });
    t.teardown(() => enc.close());
    const first = await encodeAll(enc, [solidI420(W, H, RED)]);
    const big = await enc.encode({ data: solidI420(2 * W, 2 * H, RED), width: 2 * W, height: 2 * H }, TICK);
    t.equal(big?.keyframe, true, "the first frame at the new size is a keyframe");
    const dec = new VideoDecoder({ codec });
    t.teardown(() => dec.close());
    const a = (await dec.decode(first[0]?.data ?? new Uint8Array(1), 0)) ?? [];
    const b = big === null ? [] : ((await dec.decode(big.data, TICK)) ?? []);
    t.same([a[0]?.width, a[0]?.height, b[0]?.width, b[0]?.height], [W, H, 2 * W, 2 * H], "the decoder follows");
    for (const f of [...a, ...b]) {
      f.release();
    }
  });
}

t.test("h264: constrained baseline (42e01f's profile), SPS and PPS before every IDR, no B-frames", async (t) => {
  const enc = new VideoEncoder({ codec: "h264", width: W, height: H, keyframeInterval: 10 });
  t.teardown(() => enc.close());
  const frames = await encodeAll(
    enc,
    Array.from({ length: 25 }, (_, i) => movingI420(W, H, i)),
  );
  const file = join(dir, "profile.h264");
  writeFileSync(file, Buffer.concat(frames.map((f) => f.data)));
  const p = probe(file);
  t.equal(p["profile"], "Constrained Baseline", "ffprobe: Constrained Baseline");
  t.equal(p["level"], "31", "level 3.1");
  t.equal(p["has_b_frames"], "0", "no B-frames");
  const nalTypes = (au: Uint8Array): number[] => {
    const types: number[] = [];
    for (let i = 0; i + 3 < au.length; i++) {
      if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1) {
        types.push((au[i + 3] ?? 0) & 0x1f);
      }
    }
    return types;
  };
  const keys = frames.filter((f) => f.keyframe);
  t.equal(keys.length, 3, "keyframeInterval 10: keyframes at 0, 10 and 20");
  for (const k of keys) {
    const types = nalTypes(k.data);
    t.ok(
      types.includes(7) && types.includes(8) && types.includes(5),
      `SPS, PPS and IDR in the keyframe (${types.join(",")})`,
    );
  }
  const sps = keys[0]?.data.subarray(keys[0].data.indexOf(0x67) + 1, keys[0].data.indexOf(0x67) + 4);
  t.equal(sps?.[0], 0x42, "profile_idc 66 (baseline)");
  t.ok(((sps?.[1] ?? 0) & 0x40) !== 0, "constraint_set1: constrained baseline");
  t.equal(sps?.[2], 0x1f, "level_idc 31");
});

/**
 * The recorder's own live WebM/Matroska writer (media/record/matroskaMuxer.ts), checked by what ffprobe/ffmpeg and
 * an EBML walk read back: real VP8 (ffmpeg libvpx) and real Opus, every frame at its timestamp with its keyframe
 * flag, the tracks interleaved in file order while the audio arrives late, Clusters that begin at keyframes, a gap
 * longer than a block's 16-bit timestamp, and a write error reported once.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { createEncoder } from "../../../../media/codecs/factory.js";
import { FileSink } from "../../../../media/record/fileSink.js";
import { MatroskaMuxer } from "../../../../media/record/matroskaMuxer.js";
import { RecordingWriter, type VideoConfig } from "../../../../media/record/RecordingWriter.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const FPS = 30;
const VP8: VideoConfig = { codec: "vp8", codecString: "vp8", width: 160, height: 120 };

/** 2 s of real VP8 (160x120, a keyframe every second; or VP9 at `size`), parsed from IVF. */
function vpxFrames(codec = "libvpx", size = "160x120"): { data: Uint8Array; key: boolean }[] {
  const ivf = ffmpegSync([
    ...["-f", "lavfi", "-i", `testsrc=size=${size}:rate=${FPS}`, "-t", "2"],
    ...["-c:v", codec, "-g", String(FPS), "-deadline", "realtime", "-b:v", "300k", "-f", "ivf", "-"],
  ]);
  const frames: { data: Uint8Array; key: boolean }[] = [];
  for (let off = ivf.readUInt16LE(6); off + 12 <= ivf.length;) {
    const bytes = ivf.readUInt32LE(off);
    const data = new Uint8Array(ivf.subarray(off + 12, off + 12 + bytes));
    // VP8: P bit clear; VP9 (profile 0): frame_type bit (0x04) clear.
    frames.push({ data, key: ((data[0] ?? 1) & (codec === "libvpx" ? 0x01 : 0x04)) === 0 });
    off += 12 + bytes;
  }
  return frames;
}

/** 2 s of 20 ms Opus packets of a 440 Hz tone. */
function opusPackets(): Uint8Array[] {
  const enc = createEncoder("opus", { sampleRate: 48000, frameMs: 20 });
  const pcm = new Int16Array(960);
  const out: Uint8Array[] = [];
  for (let n = 0; n < 100; n++) {
    for (let i = 0; i < 960; i++) {
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * 960 + i)) / 48000));
    }
    out.push(enc.encode(pcm).slice());
  }
  enc.close();
  return out;
}

interface Pkt {
  stream: number;
  ms: number;
  key: boolean;
}

/** The packets in file order (ffprobe -show_packets). */
function packets(file: string): Pkt[] {
  const r = spawnSync(
    "ffprobe",
    ["-v", "error", "-show_entries", "packet=stream_index,pts_time,flags", "-of", "json", file],
    { timeout: 60_000 },
  );
  const j = JSON.parse(r.stdout.toString()) as {
    packets: { stream_index: number; pts_time: string; flags: string }[];
  };
  return j.packets.map((p) => ({
    stream: p.stream_index,
    ms: Math.round(Number(p.pts_time) * 1000),
    key: p.flags.startsWith("K"),
  }));
}

/** ffmpeg decodes every stream; returns its error output (empty: no decoder error). */
function decodeErrors(file: string): string {
  const r = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-f", "null", "-"], { timeout: 60_000 });
  return `${r.status === 0 ? "" : `exit ${r.status}`}${r.stderr.toString()}`;
}

/** EBML vint at `i`: its value and length (RFC 8794 §4); `id` keeps the marker bit. */
function vint(b: Uint8Array, i: number, id = false): { v: number; n: number } {
  const first = b[i] ?? 0;
  let n = 1;
  while (n <= 8 && (first & (0x80 >> (n - 1))) === 0) {
    n++;
  }
  let v = id ? first : first & (0xff >> n);
  for (let k = 1; k < n; k++) {
    v = v * 256 + (b[i + k] ?? 0);
  }
  const unknown = !id && v === 2 ** (7 * n) - 1;
  return { v: unknown ? -1 : v, n };
}

/** Clusters of a live file: each one's timestamp and its blocks' (track, relative ms, key). */
function clusters(file: string): { ms: number; blocks: { track: number; rel: number; key: boolean }[] }[] {
  const b = new Uint8Array(readFileSync(file));
  const out: { ms: number; blocks: { track: number; rel: number; key: boolean }[] }[] = [];
  let i = 0;
  while (i < b.length) {
    const id = vint(b, i, true);
    const size = vint(b, i + id.n);
    const body = i + id.n + size.n;
    if (id.v === 0x18538067 || id.v === 0x1f43b675) {
      if (id.v === 0x1f43b675) {
        out.push({ ms: 0, blocks: [] });
      }
      i = body; // a master of unknown size: step into it
      continue;
    }
    const c = out.at(-1);
    if (c !== undefined && id.v === 0xe7) {
      for (let k = 0; k < size.v; k++) {
        c.ms = c.ms * 256 + (b[body + k] ?? 0);
      }
    } else if (c !== undefined && id.v === 0xa3) {
      const tr = vint(b, body);
      const rel = ((b[body + tr.n] ?? 0) << 8) | (b[body + tr.n + 1] ?? 0);
      c.blocks.push({
        track: tr.v,
        rel: rel >= 0x8000 ? rel - 0x10000 : rel,
        key: ((b[body + tr.n + 2] ?? 0) & 0x80) !== 0,
      });
    }
    i = body + size.v;
  }
  return out;
}

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-mkv-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const video = vpxFrames();
const audio = opusPackets();

t.test("VP8 + Opus, audio arriving 300 ms late: every frame at its time, interleaved, Clusters at keyframes", (t) => {
  const file = path.join(dir, "av.webm");
  const sink = new FileSink(file, (e) => t.fail(String(e)));
  const mux = new MatroskaMuxer(sink, "webm", { audio: { channels: 2, sampleRate: 48000 }, video: VP8 }, 0.5);
  const vMs = video.map((_, i) => Math.round((i * 1000) / FPS) + 40);
  const aMs = audio.map((_, n) => n * 20 + 40);
  // Arrival order: each audio packet comes when the video is 300 ms past it.
  let a = 0;
  video.forEach((f, i) => {
    mux.video(f.data, f.key, (vMs[i] ?? 0) / 1000);
    while (a < audio.length && (aMs[a] ?? 0) + 300 <= (vMs[i] ?? 0)) {
      mux.audio(audio[a] ?? new Uint8Array(0), (aMs[a] ?? 0) / 1000);
      a++;
    }
  });
  for (; a < audio.length; a++) {
    mux.audio(audio[a] ?? new Uint8Array(0), (aMs[a] ?? 0) / 1000);
  }
  mux.finish();
  sink.close();

  const ps = packets(file);
  const vs = ps.filter((p) => p.stream === 1);
  const as = ps.filter((p) => p.stream === 0);
  t.same(
    vs.map((p) => p.ms),
    vMs,
    `all ${video.length} video frames at their ms`,
  );
  t.same(
    vs.map((p) => p.key),
    video.map((f) => f.key),
    "keyframes flagged as given",
  );
  t.same(
    as.map((p) => p.ms),
    aMs,
    `all ${audio.length} audio packets at their ms`,
  );
  const order = ps.map((p) => p.ms);
  t.ok(
    order.every((ms, k) => k === 0 || ms >= (order[k - 1] ?? 0)),
    "file order is timestamp order across the tracks",
  );
  t.equal(decodeErrors(file), "", "both tracks decode without error");

  const cs = clusters(file);
  t.ok(cs.length >= 2, `${cs.length} clusters`);
  for (const c of cs.slice(1)) {
    // It opens where every track's next frame is a keyframe (audio frames all are): its first video block is one.
    const first = c.blocks.find((x) => x.track === 2);
    if (first !== undefined) {
      t.ok(first.key && first.rel <= 20, `the cluster at ${c.ms} ms begins with a video keyframe`);
    }
  }
  t.ok(
    cs.every((c, k) => k === 0 || c.ms - (cs[k - 1]?.ms ?? 0) >= 500),
    "clusters last at least 0.5 s",
  );
  t.end();
});

t.test("one track, a 40 s gap without a keyframe: a new Cluster keeps the 16-bit block timestamps in range", (t) => {
  const file = path.join(dir, "gap.webm");
  const sink = new FileSink(file, (e) => t.fail(String(e)));
  const mux = new MatroskaMuxer(sink, "webm", { video: VP8 }, 0.5);
  const ms = [0, 33, 67, 40_100, 40_133];
  ms.forEach((m, i) => mux.video(video[i]?.data ?? new Uint8Array(0), video[i]?.key ?? false, m / 1000));
  mux.finish();
  sink.close();
  t.same(
    packets(file).map((p) => p.ms),
    ms,
    "the frames after the gap at their time",
  );
  const cs = clusters(file);
  t.equal(cs.length, 2, "a second Cluster for the frames past 32.767 s");
  t.ok(
    cs.every((c) => c.blocks.every((x) => x.rel >= 0 && x.rel <= 0x7fff)),
    "every relative timestamp fits",
  );
  t.end();
});

t.test("MKV with H.264's decoder configuration, and VP9 in WebM, are declared as ffprobe reads them", (t) => {
  const avcc = Uint8Array.of(1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce);
  const file = path.join(dir, "h264.mkv");
  const sink = new FileSink(file, (e) => t.fail(String(e)));
  const h264 = new MatroskaMuxer(
    sink,
    "matroska",
    { video: { codec: "avc", codecString: "avc1.42c01e", width: 320, height: 240, description: avcc } },
    0.5,
  );
  h264.video(Uint8Array.of(0, 0, 0, 2, 0x65, 0x88), true, 0); // a frame: ffprobe reads no stream from an empty file
  h264.finish();
  sink.close();
  const file9 = path.join(dir, "vp9.webm");
  const sink9 = new FileSink(file9, (e) => t.fail(String(e)));
  const vp9 = new MatroskaMuxer(
    sink9,
    "webm",
    { video: { codec: "vp9", codecString: "vp09.00.10.08", width: 64, height: 48 } },
    0.5,
  );
  const frames9 = vpxFrames("libvpx-vp9", "64x48");
  frames9.forEach((f, i) => vp9.video(f.data, f.key, i / FPS));
  vp9.finish();
  sink9.close();
  const probe = (f: string): string =>
    spawnSync(
      "ffprobe",
      ["-v", "quiet", "-show_entries", "stream=codec_name,width,height,extradata_size", "-of", "csv=p=0", f],
      { timeout: 60_000 },
    )
      .stdout.toString()
      .trim();
  t.equal(probe(file), "h264,320,240,17", "H.264 320x240 with its 17-byte avcC");
  t.equal(probe(file9), "vp9,64,48", "VP9 64x48");
  t.equal(packets(file9).length, frames9.length, `its ${frames9.length} frames`);
  t.equal(decodeErrors(file9), "", "which decode without error");
  t.end();
});

t.test("a write error (a full disk) reaches the writer's onError once; finish still resolves", async (t) => {
  const errors: string[] = [];
  const w = new RecordingWriter("/dev/full", "webm", { audio: false, video: true }, (e) =>
    errors.push((e as NodeJS.ErrnoException).code ?? e.message),
  );
  for (let r = 0; r < 20; r++) {
    video.forEach((f, i) => w.video(f.data, f.key, r * 2 + i / FPS, i === 0 && r === 0 ? VP8 : undefined));
  }
  await w.finish();
  t.same(errors, ["ENOSPC"], "ENOSPC, once");
  t.ok(w.failed, "the writer stopped");
});

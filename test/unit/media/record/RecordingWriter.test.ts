/**
 * The recorder's writer when one track stalls (issue 11 benchmark): mediabunny interleaves the tracks by timestamp
 * and would hold every packet of the live track while the other has none. The writer fills the stalled track once it
 * is MAX_LAG_S behind, so what is handed in keeps reaching the file (memory stays bounded) and the file stays
 * playable: real VP8 (ffmpeg libvpx) and real Opus (a 440 Hz tone), 30 s of one track without the other.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { createEncoder } from "../../../../media/codecs/factory.js";
import { MAX_LAG_S, RecordingWriter, type VideoConfig } from "../../../../media/record/RecordingWriter.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";
import { goertzelPower, rmsDbfs } from "../../../helpers/tone.js";
import { decodeAudio, ffprobe } from "../../../integration/recorderRig.js";

const FPS = 30;

/** 2 s of real VP8 (160x120, a keyframe every second) as frames, parsed from IVF. */
function vp8Frames(): { data: Uint8Array; key: boolean }[] {
  const ivf = ffmpegSync([
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=160x120:rate=${FPS}`,
    "-t",
    "2",
    "-c:v",
    "libvpx",
    "-g",
    String(FPS),
    "-deadline",
    "realtime",
    "-b:v",
    "300k",
    "-f",
    "ivf",
    "-",
  ]);
  const frames: { data: Uint8Array; key: boolean }[] = [];
  for (let off = ivf.readUInt16LE(6); off + 12 <= ivf.length;) {
    const size = ivf.readUInt32LE(off);
    const data = new Uint8Array(ivf.subarray(off + 12, off + 12 + size));
    frames.push({ data, key: ((data[0] ?? 1) & 0x01) === 0 });
    off += 12 + size;
  }
  return frames;
}

/** 1 s of 20 ms Opus packets of a 440 Hz tone (48 kHz). */
function opusPackets(): Uint8Array[] {
  const enc = createEncoder("opus", { sampleRate: 48000, frameMs: 20 });
  const out: Uint8Array[] = [];
  const pcm = new Int16Array(960);
  for (let n = 0; n < 50; n++) {
    for (let i = 0; i < 960; i++) {
      pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * 960 + i)) / 48000));
    }
    out.push(enc.encode(pcm).slice());
  }
  enc.close();
  return out;
}

const CONFIG: VideoConfig = { codec: "vp8", codecString: "vp8", width: 160, height: 120 };
const video = vp8Frames();
const audio = opusPackets();

interface Feed {
  writer: RecordingWriter;
  /** Bytes the muxer produced before the stall, at its end, and video/audio payload bytes handed in during it. */
  before: number;
  after: number;
  stalledBytes: number;
  keyframeRequests: number;
  file: string;
}

/**
 * 34 s of media in timestamp order, fed at ~40× real time with the event loop turning (as packets arrive): both
 * tracks for 2 s, only `live` from 2 s to 32 s, both again to 34 s.
 */
async function feed(dir: string, live: "audio" | "video"): Promise<Feed> {
  const file = path.join(dir, `${live}-only.webm`);
  let keyframeRequests = 0;
  const errors: Error[] = [];
  const writer = new RecordingWriter(
    file,
    "webm",
    { audio: true, video: true },
    (e) => errors.push(e),
    () => keyframeRequests++,
  );
  let before = 0;
  let after = 0;
  let stalledBytes = 0;
  let a = 0;
  let v = 0;
  const end = 34;
  while (a * 0.02 < end || v / FPS < end) {
    const ta = a * 0.02;
    const tv = v / FPS;
    const stalled = (t: number): boolean => t >= 2 && t < 32;
    if (ta <= tv) {
      const p = audio[a % audio.length] ?? new Uint8Array(0);
      if (!(live === "video" && stalled(ta))) {
        writer.audio(p, ta);
        stalledBytes += stalled(ta) ? p.length : 0;
      }
      a++;
    } else {
      const f = video[v % video.length] ?? { data: new Uint8Array(0), key: false };
      if (!(live === "audio" && stalled(tv))) {
        writer.video(f.data, f.key, tv, v === 0 ? CONFIG : undefined);
        stalledBytes += stalled(tv) ? f.data.length : 0;
      }
      v++;
    }
    if ((a + v) % 20 === 0) {
      await new Promise((r) => setTimeout(r, 1));
    }
    if (before === 0 && Math.min(ta, tv) >= 2) {
      before = writer.muxed;
    }
    if (after === 0 && Math.min(ta, tv) >= 32) {
      after = writer.muxed;
    }
  }
  await writer.finish();
  t.same(errors, [], "no write error");
  return { writer, before, after, stalledBytes, keyframeRequests, file };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-writer-stall-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Power of 440 Hz against 1 kHz in `sec` seconds of 8 kHz audio from `from`. */
const toneAt = (pcm: Int16Array, from: number, sec = 1): boolean => {
  const x = pcm.subarray(from * 8000, (from + sec) * 8000);
  return goertzelPower(x, 8000, 440) > 100 * goertzelPower(x, 8000, 1000);
};

t.test("audio stalls for 30 s while video goes on: video keeps reaching the file; silence fills the gap", async (t) => {
  const r = await feed(dir, "video");
  const lag = (300_000 / 8) * 2; // at most 2 s of the ~300 kbit/s stream held back (MAX_LAG_S, with slack)
  t.ok(
    r.after - r.before >= r.stalledBytes - lag,
    `the muxer wrote the stall's video as it came (${r.after - r.before} of ${r.stalledBytes} bytes)`,
  );
  t.ok(r.writer.fillers >= 1400, `about 30 s of 20 ms silence frames filled the audio (${r.writer.fillers})`);
  t.equal(statSync(r.file).size, r.writer.bytes, "every byte reached the file");
  const p = ffprobe(r.file);
  t.same(p.streams.map((s) => s.codec_name).sort(), ["opus", "vp8"], "both tracks");
  const frames = spawnSync("ffmpeg", ["-v", "error", "-i", r.file, "-map", "0:v:0", "-f", "framemd5", "-"], {
    timeout: 60_000,
  });
  t.equal(frames.status, 0, `the video decodes (${frames.stderr.toString().slice(0, 200)})`);
  const n = frames.stdout
    .toString()
    .split("\n")
    .filter((l) => /^\d/.test(l)).length;
  t.ok(n >= 33 * FPS, `${n} video frames over the 34 s`);
  const pcm = decodeAudio(r.file);
  t.ok(Math.abs(pcm.length / 8000 - 34) < 0.5, `the audio lasts ${(pcm.length / 8000).toFixed(2)} s (34 s fed)`);
  t.ok(toneAt(pcm, 0.5) && toneAt(pcm, 32.5), "the tone before and after the stall");
  t.ok(rmsDbfs(pcm.subarray(5 * 8000, 29 * 8000)) < -50, "silence during it");
});

t.test("video stalls for 30 s while audio goes on: audio keeps reaching the file, a keyframe is asked", async (t) => {
  const r = await feed(dir, "audio");
  const lag = (40_000 / 8) * 2;
  t.ok(
    r.after - r.before >= r.stalledBytes - lag,
    `the muxer wrote the stall's audio as it came (${r.after - r.before} of ${r.stalledBytes} bytes)`,
  );
  t.ok(r.writer.fillers >= 50, `the last keyframe repeated every ${MAX_LAG_S / 2} s (${r.writer.fillers})`);
  t.ok(r.keyframeRequests >= 1, `a keyframe was asked for (${r.keyframeRequests})`);
  const frames = spawnSync("ffmpeg", ["-v", "error", "-i", r.file, "-map", "0:v:0", "-f", "framemd5", "-"], {
    timeout: 60_000,
  });
  t.equal(frames.status, 0, `the video decodes (${frames.stderr.toString().slice(0, 200)})`);
  t.equal(frames.stderr.toString(), "", "without decoder errors (frames after the stall waited for a keyframe)");
  const pcm = decodeAudio(r.file);
  t.ok(Math.abs(pcm.length / 8000 - 34) < 0.5, `the audio lasts ${(pcm.length / 8000).toFixed(2)} s (34 s fed)`);
  t.ok(toneAt(pcm, 2, 28), "the tone runs through the video's stall");
});

t.test(
  "video first, audio joining 1.5 s later (within the track wait): both tracks, the audio from its start",
  async (t) => {
    const file = path.join(dir, "audio-late.webm");
    const errors: Error[] = [];
    const writer = new RecordingWriter(file, "webm", { audio: true, video: true }, (e) => errors.push(e));
    // The muxer starts when the audio comes, with 1.5 s of video waiting: the video is then > MAX_LAG_S ahead of an
    // audio track that has nothing yet (there is no silence to fill before the audio's first packet).
    for (let v = 0; v < 4 * FPS; v++) {
      const tv = v / FPS;
      const f = video[v % video.length] ?? { data: new Uint8Array(0), key: false };
      writer.video(f.data, f.key, tv, v === 0 ? CONFIG : undefined);
      for (let a = Math.ceil((tv - 1 / FPS) / 0.02); a * 0.02 <= tv; a++) {
        if (a * 0.02 >= 1.5 && a * 0.02 > tv - 1 / FPS) {
          writer.audio(audio[a % audio.length] ?? new Uint8Array(0), a * 0.02);
        }
      }
    }
    const s = await writer.finish();
    t.same(errors, [], "no write error");
    t.same(s.tracks, ["audio", "video"], "both tracks");
    const pcm = decodeAudio(file);
    t.ok(toneAt(pcm, 2, 1.5), "the tone after the audio joined");
    t.equal(writer.fillers, 0, "no filler: neither track stalled once both had begun");
  },
);

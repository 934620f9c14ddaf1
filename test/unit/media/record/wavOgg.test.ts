/**
 * The WAV and Ogg writers (RecordingWriter with the korus profiles): a stereo A-law WAV has format tag 6, two
 * channels and its sizes written at finish; an Ogg Opus passthrough with a 400 ms hole in the stream still lasts
 * as long as the wall clock says (the hole is filled with silent packets), with the channel count of its packets.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { OpusEncoder } from "../../../../media/codecs/index.js";
import { RecordingWriter } from "../../../../media/record/RecordingWriter.js";
import { generateTone } from "../../../helpers/tone.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-wavogg-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function probe(file: string): { duration: number; channels: number; codec: string } {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", file], {
    timeout: 20_000,
  });
  const j = JSON.parse(r.stdout.toString()) as {
    format: { duration?: string };
    streams: { channels: number; codec_name: string }[];
  };
  return {
    duration: Number(j.format.duration),
    channels: j.streams[0]?.channels ?? 0,
    codec: j.streams[0]?.codec_name ?? "",
  };
}

t.test("WAV: A-law stereo, format tag 6, sizes written at finish", async (t) => {
  const file = path.join(dir, "a.wav");
  const w = new RecordingWriter(file, "wav", { audio: true, video: false }, (err) => t.fail(String(err)));
  const block = new Uint8Array(8000 * 2 * 0.5).fill(0xd5);
  w.audio(block, 0, { codec: "alaw", channels: 2, sampleRate: 8000 }, 0.5);
  w.audio(block, 0.5, { codec: "alaw", channels: 2, sampleRate: 8000 }, 0.5);
  const summary = await w.finish();
  const b = readFileSync(file);
  t.equal(b.toString("ascii", 0, 4), "RIFF");
  t.equal(b.readUInt16LE(20), 6, "format tag 6 (A-law)");
  t.equal(b.readUInt16LE(22), 2, "two channels");
  t.equal(b.readUInt32LE(4), b.length - 8, "RIFF size written");
  t.equal(b.readUInt32LE(b.indexOf("data") + 4), 16000, "data size written");
  t.match(probe(file), { codec: "pcm_alaw", channels: 2, duration: 1 });
  t.equal(summary.durationMs, 1000);
});

t.test("Ogg: Opus passthrough, a hole in the stream keeps the wall clock, mono from the TOC", async (t) => {
  const file = path.join(dir, "a.ogg");
  const w = new RecordingWriter(file, "ogg", { audio: true, video: false }, (err) => t.fail(String(err)));
  const enc = new OpusEncoder({ sampleRate: 48000, channels: 1 });
  const pcm = generateTone(440, { sampleRate: 48000, samples: 960 * 100 });
  for (let i = 0; i < 100; i++) {
    const packet = enc.encode(pcm.subarray(i * 960, i * 960 + 960));
    if (i < 40 || i >= 60) {
      w.audio(packet, i * 0.02); // 400 ms (packets 40..59) never arrive
    }
  }
  enc.close();
  await w.finish();
  const p = probe(file);
  t.match(p, { codec: "opus", channels: 1 });
  t.ok(Math.abs(p.duration - 2) <= 0.03, `2 s of wall clock: ${p.duration} s (would be 1.6 s without the filler)`);
});

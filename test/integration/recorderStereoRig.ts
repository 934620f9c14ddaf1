/**
 * Checks of the call-recording tests (recorder-stereo*.test.ts) by content: ffprobe's codec and channels, one
 * channel decoded by ffmpeg, the power of a tone in it and how long the tone is heard.
 */
import { spawnSync } from "node:child_process";
import { goertzelPower } from "../helpers/tone.js";

export interface AudioProbe {
  duration: number;
  codec: string;
  channels: number;
  sampleRate: number;
  streams: number;
}

export function probeAudio(file: string): AudioProbe {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", file], {
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(`ffprobe ${file}: ${r.stderr.toString()}`);
  }
  const j = JSON.parse(r.stdout.toString()) as {
    format: { duration?: string };
    streams: { codec_name: string; channels: number; sample_rate: string }[];
  };
  const s = j.streams[0];
  return {
    duration: Number(j.format.duration ?? NaN),
    codec: s?.codec_name ?? "",
    channels: s?.channels ?? 0,
    sampleRate: Number(s?.sample_rate ?? 0),
    streams: j.streams.length,
  };
}

/** One channel (0 left, 1 right; -1 all mixed down) decoded to 8 kHz s16. */
export function channelPcm(file: string, channel: number): Int16Array {
  const af = channel < 0 ? ["-ac", "1"] : ["-af", `pan=mono|c0=c${channel}`];
  const r = spawnSync("ffmpeg", ["-hide_banner", "-v", "error", "-i", file, ...af, "-ar", "8000", "-f", "s16le", "-"], {
    timeout: 30_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  }
  return new Int16Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length >> 1);
}

/** Power of `freq` in the loudest second of `pcm` (8 kHz) for that frequency. */
export function tone(pcm: Int16Array, freq: number): number {
  let best = 0;
  for (let from = 0; from + 8000 <= Math.max(pcm.length, 8000); from += 4000) {
    best = Math.max(best, goertzelPower(pcm.subarray(from, from + 8000), 8000, freq));
  }
  return best;
}

/** Power of `freq` in the second of `pcm` where `ref` is loudest (a tone's leak into another channel). */
export function toneWhere(pcm: Int16Array, freq: number, at: Int16Array, ref: number): number {
  let best = -1;
  let where = 0;
  for (let from = 0; from + 8000 <= Math.min(at.length, pcm.length); from += 4000) {
    const p = goertzelPower(at.subarray(from, from + 8000), 8000, ref);
    if (p > best) {
      best = p;
      where = from;
    }
  }
  return goertzelPower(pcm.subarray(where, where + 8000), 8000, freq);
}

/** Seconds of `pcm` (8 kHz) in which `freq` is heard: 20 ms windows within 20 dB of the loudest. */
export function toneSeconds(pcm: Int16Array, freq: number): number {
  const powers: number[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    powers.push(goertzelPower(pcm.subarray(i, i + 160), 8000, freq));
  }
  const top = Math.max(...powers);
  return powers.filter((p) => p > top / 100).length * 0.02;
}

/**
 * Payload files of the external generator (bench/outside/rtpgen.c): entries of u16be length, u8 marker, u32be RTP
 * timestamp delta, then the payload bytes. Real payloads, never silence:
 *
 * - `pcmu`: 5 s of the speech-like signal (bench/lib/measure.ts speechLike) in µ-law, 160 bytes per 20 ms.
 * - `opus`: 5 s of the same signal at 48 kHz, browser-like (48 kHz stereo, 32 kbit/s, complexity 10, VOIP, in-band
 *   FEC), at half the speech level, with one impulse per second: a full-scale 1 kHz burst of 20 ms starting exactly
 *   at frame 0, 50, 100, …, so that the receiver of the transcoded µ-law can find it (the latency method of
 *   docs/benchmarks.md).
 * - `vp8`: ~1 Mbit/s of VP8-shaped video: 30 frames/s of 4 packets of 1,100 bytes (≈ 1.06 Mbit/s), the first frame
 *   of every 2 s a keyframe (RFC 7741 descriptor + keyframe header), the rest pseudo-random bytes.
 * - `tone`: what bench/transcode.ts sends (a steady 440 Hz + 1 kHz tone, PCMU and 48 kHz mono Opus at the addon's
 *   defaults), for the comparison of docs/benchmarks.md.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEncoder } from "../../media/codecs/index.js";
import { speechLike } from "../lib/measure.js";

interface Entry {
  payload: Uint8Array;
  marker: boolean;
  tsDelta: number;
}

function write(path: string, entries: readonly Entry[]): string {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(7);
    h.writeUInt16BE(e.payload.length, 0);
    h.writeUInt8(e.marker ? 1 : 0, 2);
    h.writeUInt32BE(e.tsDelta >>> 0, 3);
    parts.push(h, Buffer.from(e.payload));
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

const SECONDS = 5;
/** Frames between impulses in the Opus payload (one per second). */
export const IMPULSE_PERIOD = 50;

export function pcmuSpeech(dir: string): string {
  const pcm = speechLike(8000, 8000 * SECONDS);
  const enc = createEncoder("PCMU");
  const out: Entry[] = [];
  for (let i = 0; i + 160 <= pcm.length; i += 160) {
    out.push({ payload: enc.encode(pcm.subarray(i, i + 160)).slice(), marker: false, tsDelta: 160 });
  }
  enc.close();
  return write(join(dir, "pcmu.bin"), out);
}

/** The speech-like signal at 48 kHz stereo, half level, with a 20 ms full-scale 1 kHz burst once per second. */
function speechWithImpulses(): Int16Array {
  const n = 48000 * SECONDS;
  const mono = speechLike(48000, n);
  const out = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const inFrame = i % (960 * IMPULSE_PERIOD);
    const v = inFrame < 960 ? 30000 * Math.sin((2 * Math.PI * 1000 * inFrame) / 48000) : (mono[i] ?? 0) / 2;
    out[2 * i] = Math.round(v);
    out[2 * i + 1] = Math.round(v);
  }
  return out;
}

export function opusSpeech(dir: string): string {
  const pcm = speechWithImpulses();
  const enc = createEncoder("opus", {
    sampleRate: 48000,
    opus: { channels: 2, bitrate: 32000, complexity: 10, application: "voip", fec: true },
  });
  const out: Entry[] = [];
  for (let i = 0; i + 1920 <= pcm.length; i += 1920) {
    out.push({ payload: enc.encode(pcm.subarray(i, i + 1920)).slice(), marker: false, tsDelta: 960 });
  }
  enc.close();
  return write(join(dir, "opus.bin"), out);
}

/** The old in-process bench's payloads (bench/transcode.ts frames()): a steady tone, 50 frames repeated. */
export function tone(dir: string, codec: "PCMU" | "opus"): string {
  const enc = createEncoder(codec, codec === "opus" ? { sampleRate: 48000, opus: { signal: "voice" } } : {});
  const n = enc.frameSamples;
  const out: Entry[] = [];
  for (let k = 0; k < 50; k++) {
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = (k * n + i) / enc.sampleRate;
      pcm[i] = Math.round(5000 * Math.sin(2 * Math.PI * 440 * t) + 3000 * Math.sin(2 * Math.PI * 1000 * t));
    }
    out.push({ payload: enc.encode(pcm).slice(), marker: false, tsDelta: codec === "opus" ? 960 : 160 });
  }
  enc.close();
  return write(join(dir, `tone-${codec}.bin`), out);
}

export const VP8_PPS = 120;

/**
 * VP8-shaped video at 30 frames/s of `packetsPerFrame` packets of 1,100 bytes: 4 (the default) ≈ 1.06 Mbit/s,
 * 2 ≈ 530 kbit/s (the recording bench's camera).
 */
export function vp8(dir: string, packetsPerFrame = 4): string {
  const out: Entry[] = [];
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed >>> 24;
  };
  for (let f = 0; f < 60; f++) {
    for (let k = 0; k < packetsPerFrame; k++) {
      const p = new Uint8Array(1100);
      for (let i = 0; i < p.length; i++) {
        p[i] = rnd();
      }
      // RFC 7741 descriptor: S=1 and PID=0 on the first packet of a frame, no extension.
      p[0] = k === 0 ? 0x10 : 0x00;
      if (k === 0) {
        const key = f === 0;
        // Frame tag: P bit (bit 0) 0 for a keyframe, show_frame, partition size; keyframe start code + 640x360.
        p[1] = key ? 0x10 : 0x11;
        p[2] = 0x02;
        p[3] = 0x00;
        if (key) {
          p.set([0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01], 4);
        }
      }
      out.push({ payload: p, marker: k === packetsPerFrame - 1, tsDelta: k === 0 ? 3000 : 0 });
    }
  }
  return write(join(dir, packetsPerFrame === 4 ? "vp8.bin" : `vp8-${packetsPerFrame}.bin`), out);
}

/**
 * Helpers of the transcoding stage tests: a stage context with a silent log, a tone encoded into real RTP packets
 * with media/codecs, and PCM collection and measurement.
 */
import { createEncoder, type CodecOptions } from "../../../../../media/codecs/index.js";
import type { MediaPacket } from "../../../../../media/core/types.js";
import { RateLimitedLog, type Logger } from "../../../../../media/logger.js";
import { newDiagnostics, type StageContext } from "../../../../../media/transcode/stages/context.js";
import { generateTone, measureFrequency, toneLevelDb } from "../../../../helpers/tone.js";

const noop = (): void => undefined;
export const silentLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

export function stageContext(): StageContext {
  return { elementId: "test", log: new RateLimitedLog(silentLogger), counters: newDiagnostics() };
}

export interface ToneStream {
  codec: string;
  clockRate: number;
  payloadType: number;
  /** PCM rate the encoder is fed at. */
  rate: number;
  frequency: number;
  packets: number;
  codecOptions?: CodecOptions;
}

/** `packets` × 20 ms of a tone, encoded with a media/codecs encoder, as consecutive RTP packets. */
export function tonePackets(o: ToneStream): MediaPacket[] {
  const enc = createEncoder(o.codec, o.codecOptions ?? {});
  const n = enc.frameSamples;
  const tone = generateTone(o.frequency, { sampleRate: o.rate, samples: n * o.packets, amplitude: 8000 });
  const ticks = (n * o.clockRate) / o.rate;
  const out: MediaPacket[] = [];
  for (let i = 0; i < o.packets; i++) {
    out.push({
      kind: "AUDIO",
      codec: o.codec.toLowerCase(),
      clockRate: o.clockRate,
      payloadType: o.payloadType,
      ssrc: 0x1234,
      sequenceNumber: (500 + i) & 0xffff,
      timestamp: (7000 + i * ticks) >>> 0,
      marker: i === 0,
      payload: enc.encode(tone.subarray(i * n, (i + 1) * n)).slice(),
      keyframe: false,
      arrivalMs: performance.now(),
    });
  }
  enc.close();
  return out;
}

/** Concatenated PCM. */
export function concat(parts: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((a, b) => a + b.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Dominant frequency and 1 kHz level of the middle of a signal (codec start-up skipped). */
export function analyse(pcm: Int16Array, rate: number, frequency = 1000): { frequency: number; levelDb: number } {
  const mid = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  return { frequency: measureFrequency(mid, rate), levelDb: toneLevelDb(mid, rate, frequency) };
}

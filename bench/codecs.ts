/**
 * Raw audio codec cost (issue 4 §4, performance.md §3.1–§3.3): CPU µs per 20 ms frame for encode and decode through
 * Korus's TypeScript wrappers (media/codecs/), and frames per second on one core (one encode + one decode per
 * frame). These are the "codec work alone" figures the bridged-call benchmark is compared with.
 *
 * Rows: PCMU, PCMA (lookup tables), G.722 (TypeScript SB-ADPCM), Opus 48/16/8 kHz mono at complexity 5 (Korus's default; 32/24/16 kbit/s,
 * VOIP, signal hint "voice" so libopus stays in the SILK/hybrid modes real speech gets: with "auto" at complexity
 * ≥ 7 it takes the synthetic harmonics for music and picks the cheaper CELT mode) plus Opus 48 kHz at libopus's
 * default complexity 9 for reference, AMR-NB 12.2k, AMR-WB 23.85k, and the
 * resampler 8 ↔ 48 kHz (its "encode" column is 8→48 kHz, "decode" is 48→8 kHz). Input is 2 s of the speech-like
 * test signal (harmonics on a gliding pitch, syllable envelope, noise), cycled.
 *
 * Run alone after a build: `node dist/bench/codecs.js` (BENCH_MS sets the time per measurement, default 1000).
 */
import { pathToFileURL } from "node:url";
import { AmrNbDecoder, AmrNbEncoder, AmrWbDecoder, AmrWbEncoder } from "../media/codecs/amr.js";
import { G711Decoder, G711Encoder } from "../media/codecs/g711.js";
import { G722Decoder, G722Encoder } from "../media/codecs/g722.js";
import { OpusDecoder, OpusEncoder } from "../media/codecs/opus.js";
import { Resampler } from "../media/codecs/resampler.js";
import type { AudioDecoder, AudioEncoder } from "../media/codecs/types.js";
import { speechLike, timePerCall, type BenchResult } from "./lib/measure.js";

export type { BenchResult } from "./lib/measure.js";

/** Cost of one codec (or resampler) per 20 ms frame. */
export interface CodecCost {
  name: string;
  /** µs per frame to encode (resampler: 8 → 48 kHz). */
  encodeUs: number;
  /** µs per frame to decode (resampler: 48 → 8 kHz). */
  decodeUs: number;
  /** encodeUs + decodeUs. */
  totalUs: number;
  /** Encode + decode pairs per second on one core (1e6 / totalUs). */
  framesPerSecond: number;
  /** Mean encoded payload per frame in bytes (0 for the resampler). */
  payloadBytes: number;
}

function measureCodec(name: string, enc: AudioEncoder, dec: AudioDecoder, ms: number): CodecCost {
  const n = enc.frameSamples * enc.channels;
  const signal = speechLike(enc.sampleRate, enc.sampleRate * 2);
  const frames: Int16Array[] = [];
  for (let o = 0; o + n <= signal.length; o += n) {
    frames.push(signal.subarray(o, o + n));
  }
  const packets = frames.map((f) => enc.encode(f));
  const payloadBytes = packets.reduce((s, p) => s + p.length, 0) / packets.length;
  const encodeUs = timePerCall((i) => enc.encode(frames[i % frames.length]!), ms);
  const decodeUs = timePerCall((i) => dec.decode(packets[i % packets.length]!), ms);
  enc.close();
  dec.close();
  return row(name, encodeUs, decodeUs, payloadBytes);
}

function row(name: string, encodeUs: number, decodeUs: number, payloadBytes: number): CodecCost {
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  const totalUs = encodeUs + decodeUs;
  return {
    name,
    encodeUs: r2(encodeUs),
    decodeUs: r2(decodeUs),
    totalUs: r2(totalUs),
    framesPerSecond: Math.round(1e6 / totalUs),
    payloadBytes: r2(payloadBytes),
  };
}

/** Measures every codec; `ms` is the time spent per encode or decode measurement. */
export async function measureCodecCosts(ms = Number(process.env["BENCH_MS"] ?? 1000)): Promise<CodecCost[]> {
  const out: CodecCost[] = [];
  const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
  out.push(measureCodec("PCMU", new G711Encoder("PCMU"), new G711Decoder("PCMU"), ms));
  await yieldTurn();
  out.push(measureCodec("PCMA", new G711Encoder("PCMA"), new G711Decoder("PCMA"), ms));
  await yieldTurn();
  out.push(measureCodec("G.722 (TypeScript)", new G722Encoder(), new G722Decoder(), ms));
  await yieldTurn();
  for (const rate of [48000, 16000, 8000] as const) {
    out.push(
      measureCodec(
        `Opus ${rate / 1000}k mono cx5`,
        new OpusEncoder({ sampleRate: rate, complexity: 5, signal: "voice" }),
        new OpusDecoder({ sampleRate: rate }),
        ms,
      ),
    );
    await yieldTurn();
  }
  out.push(
    measureCodec(
      "Opus 48k mono cx9 (libopus default, reference)",
      new OpusEncoder({ sampleRate: 48000, complexity: 9, signal: "voice" }),
      new OpusDecoder({ sampleRate: 48000 }),
      ms,
    ),
  );
  await yieldTurn();
  out.push(measureCodec("AMR-NB 12.2k", new AmrNbEncoder({ mode: 7 }), new AmrNbDecoder(), ms));
  await yieldTurn();
  out.push(measureCodec("AMR-WB 23.85k", new AmrWbEncoder({ mode: 8 }), new AmrWbDecoder(), ms));
  await yieldTurn();
  const up = new Resampler(8000, 48000);
  const down = new Resampler(48000, 8000);
  const nb = speechLike(8000, 160);
  const fb = speechLike(48000, 960);
  const upUs = timePerCall(() => up.process(nb), ms);
  const downUs = timePerCall(() => down.process(fb), ms);
  out.push(row("resample 8k→48k (encode) / 48k→8k (decode)", upUs, downUs, 0));
  return out;
}

/** The same figures flattened for bench/run.ts. */
export async function run(): Promise<BenchResult[]> {
  const rows = await measureCodecCosts();
  return rows.flatMap((r) => [
    { name: `${r.name} encode`, value: r.encodeUs, unit: "µs/frame" },
    { name: `${r.name} decode`, value: r.decodeUs, unit: "µs/frame" },
    { name: `${r.name} encode+decode`, value: r.framesPerSecond, unit: "frames/s/core" },
  ]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await measureCodecCosts();
  console.log("codec (20 ms frames, one core)                  encode µs  decode µs  enc+dec µs  frames/s  bytes");
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(48)} ${r.encodeUs.toFixed(2).padStart(9)}  ${r.decodeUs.toFixed(2).padStart(9)}  ` +
        `${r.totalUs.toFixed(2).padStart(10)}  ${String(r.framesPerSecond).padStart(8)}  ${r.payloadBytes.toFixed(1).padStart(5)}`,
    );
  }
}

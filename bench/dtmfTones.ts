/**
 * In-band DTMF cost (media/codecs/dtmfTones.ts): CPU µs per 20 ms frame for the Goertzel detector at 8 kHz on
 * speech-like input (the common case on an `inband` trunk call: no key pressed, every frame analysed), the same
 * figure as a multiple of G.711 µ-law decode of the same frame measured in the same run, the detector on a frame
 * carrying a DTMF tone (every block passes the energy gate and runs all checks), the detector at 16 kHz, and the
 * generator per 20 ms frame of tone at 8 kHz.
 *
 * Run alone after a build: `node dist/bench/dtmfTones.js` (BENCH_MS sets the time per measurement, default 1000).
 */
import { pathToFileURL } from "node:url";
import { DtmfToneDetector, DtmfToneGenerator } from "../media/codecs/dtmfTones.js";
import { G711Decoder, G711Encoder } from "../media/codecs/g711.js";
import { speechLike, timePerCall as timeCalls, type BenchResult } from "./lib/measure.js";

/** {@link timeCalls} with this module's longer warm-up and batches (the detector's calls are short). */
const timePerCall = (fn: (i: number) => void, ms: number): number => timeCalls(fn, ms, 200, 50);

/** 20 ms frames of `pcm`. */
function framesOf(pcm: Int16Array, n: number): Int16Array[] {
  const out: Int16Array[] = [];
  for (let o = 0; o + n <= pcm.length; o += n) {
    out.push(pcm.subarray(o, o + n));
  }
  return out;
}

/** The figures, measured; `ms` is the time spent per measurement. */
export interface DtmfToneCosts {
  /** Detector, 8 kHz, speech-like input: µs per 20 ms frame. */
  detectSpeechUs: number;
  /** G.711 µ-law decode of the same frames: µs per frame. */
  pcmuDecodeUs: number;
  /** detectSpeechUs / pcmuDecodeUs. */
  detectVsPcmuDecode: number;
  /** Detector, 8 kHz, frames full of DTMF (every block runs every check): µs per frame. */
  detectToneUs: number;
  /** Detector, 16 kHz, speech-like input: µs per 20 ms frame. */
  detectSpeech16kUs: number;
  /** Generator, 8 kHz, µs per 20 ms frame of tone. */
  generateUs: number;
}

export async function measureDtmfToneCosts(ms = Number(process.env["BENCH_MS"] ?? 1000)): Promise<DtmfToneCosts> {
  const yieldTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
  const speech = framesOf(speechLike(8000, 16000), 160);
  const enc = new G711Encoder("PCMU");
  const packets = speech.map((f) => enc.encode(f));
  const dec = new G711Decoder("PCMU");
  const pcmuDecodeUs = timePerCall((i) => dec.decode(packets[i % packets.length]!), ms);
  await yieldTurn();
  const det = new DtmfToneDetector({ sampleRate: 8000 });
  let found = 0;
  const detectSpeechUs = timePerCall((i) => {
    found += det.push(speech[i % speech.length]!).length;
  }, ms);
  await yieldTurn();

  const gen = new DtmfToneGenerator(8000, { gapMs: 0 });
  const frame = new Int16Array(160);
  const generateUs = timePerCall(() => {
    if (!gen.busy) {
      gen.start("5", 60000);
    }
    gen.fill(frame);
  }, ms);
  await yieldTurn();

  const toneGen = new DtmfToneGenerator(8000);
  toneGen.start("9", 2000);
  const tone = new Int16Array(16000);
  toneGen.fill(tone);
  const toneFrames = framesOf(tone, 160);
  const det2 = new DtmfToneDetector({ sampleRate: 8000 });
  const detectToneUs = timePerCall((i) => {
    found += det2.push(toneFrames[i % toneFrames.length]!).length;
  }, ms);
  await yieldTurn();

  const speech16 = framesOf(speechLike(16000, 32000), 320);
  const det16 = new DtmfToneDetector({ sampleRate: 16000 });
  const detectSpeech16kUs = timePerCall((i) => {
    found += det16.push(speech16[i % speech16.length]!).length;
  }, ms);
  if (found < 0) {
    // Keeps the detector results observable so the work cannot be optimised away.
    console.log(found);
  }
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    detectSpeechUs: r2(detectSpeechUs),
    pcmuDecodeUs: r2(pcmuDecodeUs),
    detectVsPcmuDecode: r2(detectSpeechUs / pcmuDecodeUs),
    detectToneUs: r2(detectToneUs),
    detectSpeech16kUs: r2(detectSpeech16kUs),
    generateUs: r2(generateUs),
  };
}

/** The same figures flattened for bench/run.ts. */
export async function run(): Promise<BenchResult[]> {
  const c = await measureDtmfToneCosts();
  return [
    { name: "in-band DTMF detector 8 kHz, speech-like input", value: c.detectSpeechUs, unit: "µs/frame" },
    { name: "in-band DTMF detector 8 kHz vs PCMU decode of the same frame", value: c.detectVsPcmuDecode, unit: "×" },
    { name: "in-band DTMF detector 8 kHz, DTMF input", value: c.detectToneUs, unit: "µs/frame" },
    { name: "in-band DTMF detector 16 kHz, speech-like input", value: c.detectSpeech16kUs, unit: "µs/frame" },
    { name: "in-band DTMF generator 8 kHz", value: c.generateUs, unit: "µs/frame" },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const c = await measureDtmfToneCosts();
  console.log("in-band DTMF (20 ms frames, one core, CPU µs per frame)");
  console.log(`detector 8 kHz, speech-like input      ${c.detectSpeechUs.toFixed(2).padStart(8)} µs`);
  console.log(`PCMU decode, same frames               ${c.pcmuDecodeUs.toFixed(2).padStart(8)} µs`);
  console.log(`detector / PCMU decode                 ${c.detectVsPcmuDecode.toFixed(2).padStart(8)} ×`);
  console.log(`detector 8 kHz, DTMF input             ${c.detectToneUs.toFixed(2).padStart(8)} µs`);
  console.log(`detector 16 kHz, speech-like input     ${c.detectSpeech16kUs.toFixed(2).padStart(8)} µs`);
  console.log(`generator 8 kHz                        ${c.generateUs.toFixed(2).padStart(8)} µs`);
}

/**
 * Call recording's audio (issue 11 §3): several audio sources of one RecorderEndpoint, told apart by the
 * `sinkMediaDescription` of their `connect`, decoded to PCM, laid on one wall clock, mixed or put on their own
 * channel, and encoded once.
 *
 * - **Channels.** `left` and `right` each go to their own channel of a stereo track; any other description
 *   (`default` or a name of the application's) is mixed into the one channel of a mono track, or into both
 *   channels of a stereo one. Several sources on one channel are summed (saturating), as AudioMixer does.
 * - **Clock.** Output frames (20 ms) are made on the wall clock from the first packet of any source: frame `n`
 *   is at `n × 20 ms`, minus the paused spans. Each source is decoded into its own FIFO at the capture rate and
 *   read one frame per output frame once it holds {@link PRIME_MS} (jitter); a source that is missing, late or
 *   lost is silence for those frames (never a compressed timeline); one that runs ahead (a burst, a faster clock)
 *   is cut back to {@link PRIME_MS} beyond {@link MAX_BUFFER_MS}.
 * - **Codecs in.** G.711 (table decode) and Opus (libopus, mono); G.711 is resampled 8 → 48 kHz for an Opus track.
 *   Others reach the recorder transcoded by their source element (the recorder's sink caps).
 * - **Codecs out.** `g711`: the law of the first G.711 source (µ-law when there is none), interleaved bytes
 *   (WAV format tags 7/6), handed over in blocks of {@link G711_BLOCK_FRAMES} frames (few writes); `opus`: one
 *   libopus encoder at 48 kHz, mono or stereo (64 kbit/s for two channels).
 */
import {
  createDecoder,
  decodeG711,
  encodeG711,
  OpusEncoder,
  PCMA_TABLES,
  PCMU_TABLES,
  Resampler,
  type AudioDecoder,
} from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import { PcmFifo } from "../mixer/PcmFifo.js";
import { startTicking, stopTicking, type Ticking } from "../transcode/ticker.js";
import { opusHead } from "./opusHead.js";
import type { AudioConfig } from "./RecordingWriter.js";

export type CaptureChannel = "left" | "right" | "both";

/** The channel a `sinkMediaDescription` names. */
export function captureChannel(sinkDescription: string): CaptureChannel {
  return sinkDescription === "left" ? "left" : sinkDescription === "right" ? "right" : "both";
}

const FRAME_MS = 20;
/** Audio a source must hold before it is heard (its jitter allowance). */
export const PRIME_MS = 40;
/** Audio a source may hold before the excess is cut. */
export const MAX_BUFFER_MS = 200;
/** G.711 frames per block handed to the writer (0.5 s: two writes a second). */
const G711_BLOCK_FRAMES = 25;
/** Most frames made in one tick (a blocked event loop catches up over a few ticks). */
const MAX_FRAMES_PER_TICK = 250;

export interface CaptureOptions {
  /** PCM rate of the mix: 8000 (G.711 out) or 48000 (Opus out). */
  readonly rate: 8000 | 48000;
  readonly channels: 1 | 2;
  readonly encoding: "g711" | "opus";
}

/** Where encoded audio goes: data, its time and duration (s), and the track configuration. */
export type CaptureSink = (data: Uint8Array, tSec: number, config: AudioConfig, durSec: number) => void;

class Input {
  readonly fifo: PcmFifo;
  primed = false;
  codec = "";
  decoder: AudioDecoder | undefined;
  resampler: Resampler | undefined;
  scratch = new Int16Array(960);

  constructor(
    readonly key: object,
    readonly channel: CaptureChannel,
    rate: number,
  ) {
    this.fifo = new PcmFifo((rate * 2 * MAX_BUFFER_MS) / 1000);
  }

  close(): void {
    this.decoder?.close();
    this.decoder = undefined;
  }
}

export class AudioCapture implements Ticking {
  readonly #o: CaptureOptions;
  readonly #sink: CaptureSink;
  readonly #frame: number;
  readonly #prime: number;
  readonly #max: number;
  #inputs: Input[] = [];
  #t0 = -1;
  #frames = 0;
  #pausedAt = -1;
  #pausedTotal = 0;
  #config: AudioConfig | undefined;
  #encoder: OpusEncoder | undefined;
  readonly #acc: Int32Array[];
  readonly #read: Int16Array;
  readonly #pcm: Int16Array;
  #block: Uint8Array;
  #blockFrames = 0;
  #blockStart = 0;
  #closed = false;
  /** Frames written (tests, diagnostics). */
  framesOut = 0;

  constructor(options: CaptureOptions, sink: CaptureSink) {
    this.#o = options;
    this.#sink = sink;
    this.#frame = (options.rate * FRAME_MS) / 1000;
    this.#prime = (options.rate * PRIME_MS) / 1000;
    this.#max = (options.rate * MAX_BUFFER_MS) / 1000;
    this.#acc = Array.from({ length: options.channels }, () => new Int32Array(this.#frame));
    this.#read = new Int16Array(this.#frame);
    this.#pcm = new Int16Array(this.#frame * options.channels);
    this.#block = new Uint8Array(this.#frame * options.channels * G711_BLOCK_FRAMES);
    startTicking(this);
  }

  /** An audio packet of the source `key` (its connection) for `channel`. */
  push(key: object, channel: CaptureChannel, p: MediaPacket): void {
    if (this.#closed || this.#pausedAt >= 0 || p.payload.length === 0) {
      return;
    }
    let input: Input | undefined;
    for (const i of this.#inputs) {
      if (i.key === key) {
        input = i;
        break;
      }
    }
    if (input?.channel !== channel) {
      if (input !== undefined) {
        this.#drop(input);
      }
      input = new Input(key, channel, this.#o.rate);
      this.#inputs.push(input);
    }
    const pcm = this.#decode(input, p);
    if (pcm === undefined) {
      return;
    }
    if (this.#t0 < 0) {
      this.#t0 = p.arrivalMs;
    }
    input.fifo.write(pcm);
  }

  /** A source was disconnected. */
  remove(key: object): void {
    const input = this.#inputs.find((i) => i.key === key);
    if (input !== undefined) {
      this.#drop(input);
    }
  }

  #drop(input: Input): void {
    input.close();
    this.#inputs = this.#inputs.filter((i) => i !== input);
  }

  #decode(input: Input, p: MediaPacket): Int16Array | undefined {
    const codec = p.codec;
    if (codec !== input.codec) {
      input.close();
      input.codec = codec;
      input.resampler = undefined;
      if (codec === "opus") {
        input.decoder = createDecoder("opus", { sampleRate: this.#o.rate });
      } else if (codec === "pcmu" || codec === "pcma") {
        input.resampler = this.#o.rate === 8000 ? undefined : new Resampler(8000, this.#o.rate);
      } else {
        return undefined; // telephone-event, CN, or a codec the sink caps did not ask for
      }
    }
    if (this.#o.encoding === "g711" && this.#config === undefined && (codec === "pcmu" || codec === "pcma")) {
      this.#configure(codec === "pcma" ? "alaw" : "ulaw");
    }
    if (input.decoder !== undefined) {
      try {
        return input.decoder.decode(p.payload);
      } catch {
        return undefined; // a corrupt packet is a lost one
      }
    }
    if (codec !== "pcmu" && codec !== "pcma") {
      return undefined;
    }
    if (input.scratch.length < p.payload.length) {
      input.scratch = new Int16Array(p.payload.length);
    }
    const pcm = input.scratch.subarray(0, p.payload.length);
    decodeG711(codec === "pcma" ? PCMA_TABLES : PCMU_TABLES, p.payload, pcm);
    return input.resampler === undefined ? pcm : input.resampler.process(pcm);
  }

  #configure(law: "ulaw" | "alaw" | undefined): AudioConfig {
    const ch = this.#o.channels;
    if (this.#o.encoding === "opus") {
      this.#encoder = new OpusEncoder({
        sampleRate: 48000,
        channels: ch,
        application: "audio",
        bitrate: ch === 2 ? 64000 : 32000,
      });
      this.#config = { codec: "opus", channels: ch, sampleRate: 48000, description: opusHead(ch) };
    } else {
      this.#config = { codec: law ?? "ulaw", channels: ch, sampleRate: 8000 };
    }
    return this.#config;
  }

  /** Makes the frames due at `now` (the shared 20 ms ticker calls it; tests drive it with their own clock). */
  tick(now = performance.now()): void {
    this.#produce(now, MAX_FRAMES_PER_TICK);
  }

  pause(now: number): void {
    if (this.#pausedAt < 0) {
      this.#produce(now, Infinity);
      this.#pausedAt = now;
    }
  }

  resume(now: number): void {
    if (this.#pausedAt >= 0) {
      this.#pausedTotal += now - this.#pausedAt;
      this.#pausedAt = -1;
      for (const i of this.#inputs) {
        i.fifo.clear();
        i.primed = false;
      }
    }
  }

  /** Makes the frames due up to `now`, writes what is held, and frees the codecs. */
  finish(now: number): void {
    if (this.#closed) {
      return;
    }
    if (this.#pausedAt < 0) {
      this.#produce(now, Infinity);
    }
    this.#flushBlock();
    this.#closed = true;
    stopTicking(this);
    this.#encoder?.close();
    for (const i of this.#inputs) {
      i.close();
    }
    this.#inputs = [];
  }

  #produce(now: number, most: number): void {
    if (this.#closed || this.#t0 < 0 || this.#pausedAt >= 0) {
      return;
    }
    const due = Math.floor((now - this.#t0 - this.#pausedTotal) / FRAME_MS);
    for (let n = 0; n < most && this.#frames < due; n++) {
      this.#mixFrame();
      this.#frames++;
    }
  }

  #mixFrame(): void {
    const acc = this.#acc;
    for (const a of acc) {
      a.fill(0);
    }
    const read = this.#read;
    for (const i of this.#inputs) {
      const f = i.fifo;
      if (!i.primed && f.size >= this.#prime) {
        i.primed = true;
      }
      if (!i.primed) {
        continue;
      }
      if (!f.read(read)) {
        i.primed = false; // underrun: silence until it holds the jitter allowance again
        continue;
      }
      if (f.size > this.#max) {
        f.discard(f.size - this.#prime);
      }
      for (let c = 0; c < acc.length; c++) {
        if (i.channel === "both" || (c === 0 ? i.channel === "left" : i.channel === "right")) {
          const a = acc[c]!;
          for (let s = 0; s < read.length; s++) {
            a[s]! += read[s]!;
          }
        }
      }
    }
    const pcm = this.#pcm;
    const ch = acc.length;
    for (let c = 0; c < ch; c++) {
      const a = acc[c]!;
      for (let s = 0; s < a.length; s++) {
        const v = a[s]!;
        pcm[s * ch + c] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    }
    this.#encode(pcm);
  }

  #encode(pcm: Int16Array): void {
    const config = this.#config ?? this.#configure(undefined);
    const t = (this.#frames * FRAME_MS) / 1000;
    this.framesOut++;
    if (this.#encoder !== undefined) {
      this.#sink(this.#encoder.encode(pcm), t, config, FRAME_MS / 1000);
      return;
    }
    if (this.#blockFrames === 0) {
      this.#blockStart = t;
    }
    encodeG711(
      config.codec === "alaw" ? PCMA_TABLES : PCMU_TABLES,
      pcm,
      this.#block.subarray(this.#blockFrames * pcm.length),
    );
    if (++this.#blockFrames === G711_BLOCK_FRAMES) {
      this.#flushBlock();
    }
  }

  #flushBlock(): void {
    const config = this.#config;
    if (this.#blockFrames === 0 || config === undefined) {
      return;
    }
    const bytes = this.#blockFrames * this.#pcm.length;
    this.#sink(this.#block.slice(0, bytes), this.#blockStart, config, (this.#blockFrames * FRAME_MS) / 1000);
    this.#blockFrames = 0;
  }
}

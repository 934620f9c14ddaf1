/**
 * ptime conversion: re-cuts a stream of samples (PCM Int16) or G.711 bytes into frames of another duration, e.g.
 * 20 ms from a WebRTC leg into 30, 40 or 60 ms towards a SIP peer that asked for `a=ptime:30`, or back. Frames of
 * the input may have any length; whole output frames come out as soon as enough samples arrived, the remainder
 * waits for the next input. The RTP timestamp of an output frame is the input position of its first sample:
 * {@link Reframer.position} tracks it.
 */
import { CodecError } from "./errors.js";

/** The ptimes Korus converts between (ms). */
export const PTIMES: readonly number[] = [10, 20, 30, 40, 60];

/** Samples per frame for a ptime at a clock rate; throws CodecError for a ptime outside {@link PTIMES}. */
export function ptimeSamples(clockRate: number, ptimeMs: number): number {
  if (!PTIMES.includes(ptimeMs)) {
    throw new CodecError(`ptime ${ptimeMs} ms is not one of ${PTIMES.join(", ")}`);
  }
  const n = (clockRate * ptimeMs) / 1000;
  if (!Number.isInteger(n) || n <= 0) {
    throw new CodecError(`ptime ${ptimeMs} ms at ${clockRate} Hz is not a whole number of samples`);
  }
  return n;
}

type SampleArray = Int16Array | Uint8Array;

export class Reframer<T extends SampleArray> {
  readonly frameSamples: number;
  private readonly make: (n: number) => T;
  private buf: T;
  private fill = 0;
  private emitted = 0;

  /**
   * @param make allocates the sample array type (e.g. `(n) => new Int16Array(n)` for PCM, `new Uint8Array(n)` for
   *   G.711 payload bytes)
   */
  constructor(frameSamples: number, make: (n: number) => T) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new CodecError(`frame size must be a positive integer, got ${frameSamples}`);
    }
    this.frameSamples = frameSamples;
    this.make = make;
    this.buf = make(frameSamples * 2);
  }

  /** Samples waiting for the next output frame. */
  get pending(): number {
    return this.fill;
  }

  /** Sample index (from the stream start) of the first sample of the next output frame. */
  get position(): number {
    return this.emitted * this.frameSamples;
  }

  /** Adds samples; returns the complete output frames (possibly none). */
  push(input: T): T[] {
    const out: T[] = [];
    const n = this.frameSamples;
    let off = 0;
    while (off < input.length) {
      const take = Math.min(n - this.fill, input.length - off);
      this.buf.set(input.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === n) {
        out.push(this.buf.slice(0, n) as T);
        this.fill = 0;
        this.emitted++;
      }
    }
    return out;
  }

  /** Emits what is pending padded with `pad` (silence: 0 for PCM, 0xff µ-law, 0xd5 A-law), or null if nothing. */
  flush(pad = 0): T | null {
    if (this.fill === 0) {
      return null;
    }
    const f = this.make(this.frameSamples);
    f.set(this.buf.subarray(0, this.fill));
    f.fill(pad, this.fill);
    this.fill = 0;
    this.emitted++;
    return f;
  }
}

/** A PCM re-framer. */
export function pcmReframer(frameSamples: number): Reframer<Int16Array> {
  return new Reframer(frameSamples, (n) => new Int16Array(n));
}

/** A byte re-framer for G.711 payloads (one byte per sample, so no decode is needed to change ptime). */
export function g711Reframer(frameSamples: number): Reframer<Uint8Array> {
  return new Reframer(frameSamples, (n) => new Uint8Array(n));
}

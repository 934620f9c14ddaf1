/**
 * Transcoding stage 2, one per target chain: decoded PCM at the decoder's rate becomes frames of exactly the size
 * the chain's encoder takes, at its rate. A resampler is made when the input rate differs from the encoder's (and
 * again if the input rate changes); re-framing handles a ptime that differs from the source's (10 ms in, 20 ms
 * out, or 20 ms in, 60 ms out).
 *
 * The frame is handed to {@link FrameOutput.onFrame} and must be consumed before it returns (encoders do): a
 * decoded frame of exactly the right size passes as it is, re-framed audio goes out of one buffer reused for
 * every frame. No allocation per frame on either path (the resampler allocates its own output).
 */
import { Resampler } from "../../codecs/index.js";

export interface FrameOutput {
  /** One frame of `frameLength` samples at the encoder's rate; valid only during the call. */
  onFrame(frame: Int16Array): void;
}

export class ReframeStage {
  /** PCM rate of the output frames (the encoder's). */
  readonly rate: number;
  /** Samples (all channels) in one output frame. */
  readonly frameLength: number;
  readonly #out: FrameOutput;
  readonly #buf: Int16Array;
  #fill = 0;
  #resampler: Resampler | undefined;

  constructor(rate: number, frameLength: number, out: FrameOutput) {
    this.rate = rate;
    this.frameLength = frameLength;
    this.#out = out;
    this.#buf = new Int16Array(frameLength);
  }

  /** Samples waiting for the next output frame (at {@link rate}). */
  get pending(): number {
    return this.#fill;
  }

  /** Adds PCM at `inRate`; every frame it completes goes out now. */
  push(pcm: Int16Array, inRate: number): void {
    let input = pcm;
    if (inRate !== this.rate) {
      if (this.#resampler?.inRate !== inRate) {
        this.#resampler = new Resampler(inRate, this.rate);
      }
      input = this.#resampler.process(pcm);
    }
    const n = this.frameLength;
    if (this.#fill === 0 && input.length === n) {
      this.#out.onFrame(input); // exactly one frame: no re-framing copy
      return;
    }
    const buf = this.#buf;
    let off = 0;
    while (off < input.length) {
      const take = Math.min(n - this.#fill, input.length - off);
      buf.set(input.subarray(off, off + take), this.#fill);
      this.#fill += take;
      off += take;
      if (this.#fill === n) {
        this.#fill = 0;
        this.#out.onFrame(buf);
      }
    }
  }
}

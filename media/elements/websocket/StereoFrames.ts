/**
 * Two mono sources into one stereo stream (jambonz `mixType: "stereo"`): the left frame (the caller) carries the
 * pace; the latest right frame is interleaved with it, or silence when none came since. A right frame that finds
 * one still waiting (no left source) goes out with a silent left, so a lone right source is heard too.
 */
export class StereoFrames {
  readonly #out: Int16Array;
  readonly #right: Int16Array;
  #hasRight = false;

  constructor(samples: number) {
    this.#out = new Int16Array(samples * 2);
    this.#right = new Int16Array(samples);
  }

  /** The interleaved frame to send now (valid until the next call), or undefined. */
  push(frame: Int16Array, right: boolean): Int16Array | undefined {
    if (right) {
      if (!this.#hasRight) {
        this.#right.set(frame);
        this.#hasRight = true;
        return undefined;
      }
      const out = this.#interleave(undefined);
      this.#right.set(frame);
      return out;
    }
    return this.#interleave(frame);
  }

  #interleave(left: Int16Array | undefined): Int16Array {
    const out = this.#out;
    const n = this.#right.length;
    for (let i = 0; i < n; i++) {
      out[2 * i] = left === undefined ? 0 : (left[i] ?? 0);
      out[2 * i + 1] = this.#hasRight ? (this.#right[i] ?? 0) : 0;
    }
    this.#hasRight = left === undefined;
    return out;
  }
}

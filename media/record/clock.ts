/**
 * One media clock for every stream of a recording, in milliseconds since the recording started.
 *
 * Each stream's RTP timestamp is unwrapped (32-bit wrap) and anchored to the arrival time of the stream's first
 * packet (performance.now(), the `arrivalMs` of the packet): t = anchor + (ts − ts₀) / clockRate. Korus's source
 * elements do not expose their RTCP SR NTP↔RTP mapping to sinks yet, so the anchor is the arrival time; streams
 * that arrive together stay within the network's jitter of each other. Loss, hold and silence keep wall-clock
 * timing because the RTP clock runs on through them. A new SSRC, or a timestamp jump of more than
 * {@link REANCHOR_MS} against arrival time, re-anchors the stream on its next packet (a source switch).
 *
 * `pause()` removes the paused span: media time is wall time minus the total time spent paused.
 */

/** A jump of the RTP clock against arrival time beyond this re-anchors the stream. */
export const REANCHOR_MS = 3000;

export class StreamClock {
  #ssrc = -1;
  #clockRate = 0;
  #lastTs = 0;
  #ext = 0;
  /** Unwrapped timestamp at the anchor. */
  #ext0 = 0;
  #anchorMs = 0;
  /** Last time handed out (ms), to keep the track monotonic. */
  last = -Infinity;

  /**
   * The stream time of a packet in ms on the recording's clock (before the paused time is subtracted).
   * @param startMs performance.now() when the recording started.
   */
  map(ssrc: number, ts: number, clockRate: number, arrivalMs: number, startMs: number): number {
    if (ssrc !== this.#ssrc || clockRate !== this.#clockRate) {
      this.#anchor(ssrc, ts, clockRate, arrivalMs - startMs);
    } else {
      const d = (ts - this.#lastTs) | 0; // signed 32-bit difference: wraps are steps
      this.#ext += d;
      this.#lastTs = ts >>> 0;
    }
    let t = this.#anchorMs + ((this.#ext - this.#ext0) * 1000) / this.#clockRate;
    const wall = arrivalMs - startMs;
    if (Math.abs(t - wall) > REANCHOR_MS) {
      this.#anchor(ssrc, ts, clockRate, wall);
      t = wall;
    }
    return t;
  }

  #anchor(ssrc: number, ts: number, clockRate: number, atMs: number): void {
    this.#ssrc = ssrc;
    this.#clockRate = clockRate;
    this.#lastTs = ts >>> 0;
    this.#ext = 0;
    this.#ext0 = 0;
    this.#anchorMs = atMs;
  }
}

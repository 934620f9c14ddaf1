/**
 * One media clock for every stream of a recording, in milliseconds since the recording started.
 *
 * Each stream's RTP timestamp is unwrapped (signed 32-bit steps) and mapped to the recording's clock:
 *
 * - **Through the sender's RTCP SR** once the stream has one (`MediaPacket.sender`, filled per SSRC by the endpoint
 *   that received it): the packet was sampled at `ntp = ntp(SR) + (ts − rtpTs(SR)) / clockRate` on the sender's wall
 *   clock, and `t = ntp + offset − start`, where `offset` (local arrival − sender NTP) is taken once per recording
 *   from the first packet mapped that way and shared by all its streams ({@link RecordingClock}). Streams of one
 *   sender thus land on one clock whatever their network delay or start time: lip sync.
 * - **Anchored to arrival** before the first SR (and for packets made inside the pipeline, which carry none):
 *   `t = arrival₀ − start + (ts − ts₀) / clockRate`.
 *
 * When an SR arrives later (or a new one moves the mapping), the stream re-anchors on it. A mapping ahead of what the
 * stream has written is taken at once (a small gap); one behind is slewed in (each step of the stream's RTP clock
 * advances the file by at least 1 − {@link SLEW} of it until caught up), so a track never jumps backwards.
 *
 * Loss, hold and silence keep wall-clock timing because the RTP clock runs on through them. A new SSRC or clock
 * rate (a source switch), or a mapping more than {@link REANCHOR_MS} away from arrival time (a timestamp jump, an SR
 * of another clock), re-anchors the stream at its arrival; an SR that far off is ignored until the next one.
 *
 * `pause()` removes the paused span: the recording subtracts the total time spent paused (media/record/Recording.ts).
 * Per packet: arithmetic on fields, no allocation.
 */
import type { SenderClock } from "../core/types.js";

/** A mapping further than this from arrival time re-anchors the stream at its arrival. */
export const REANCHOR_MS = 3000;
/** The most of each media step a backwards correction takes (10 %: the track plays at most 10 % fast meanwhile). */
export const SLEW = 0.1;

/** What the streams of one recording share. */
export class RecordingClock {
  /** performance.now() ms − sender NTP ms, from the first packet mapped through an SR (NaN before). */
  ntpToLocal = NaN;
}

export class StreamClock {
  #ssrc = -1;
  #clockRate = 0;
  #lastTs = 0;
  #ext = 0;
  /** Unwrapped timestamp at the anchor. */
  #ext0 = 0;
  #anchorMs = 0;
  /** The SR count of the sender clock last looked at (−1: anchored to arrival, any SR is news). */
  #srSeen = -1;
  /** ms still added to the mapped time after a backwards re-anchor (decays to 0). */
  #correction = 0;
  #lastRaw = 0;
  /** No packet mapped since the anchor. */
  #fresh = true;
  /** Last time this clock returned (ms), before the recording's paused span is subtracted. */
  #lastOut = -Infinity;
  /** Last time handed out after pause (ms), kept by the recording to make the track strictly increasing. */
  last = -Infinity;

  #anchoredBySr = false;

  /** True while the stream is mapped through its sender's SR (tests, logs). */
  get synced(): boolean {
    return this.#anchoredBySr;
  }

  /**
   * The stream time of a packet in ms on the recording's clock (before the paused time is subtracted).
   * @param startMs performance.now() when the recording started.
   */
  map(
    ssrc: number,
    ts: number,
    clockRate: number,
    arrivalMs: number,
    sender: SenderClock | undefined,
    startMs: number,
    shared: RecordingClock,
  ): number {
    const wall = arrivalMs - startMs;
    if (ssrc !== this.#ssrc || clockRate !== this.#clockRate) {
      this.#anchor(ssrc, ts, clockRate, wall);
    } else {
      const d = (ts - this.#lastTs) | 0; // signed 32-bit difference: wraps are steps
      this.#ext += d;
      this.#lastTs = ts >>> 0;
    }
    let raw = this.#anchorMs + ((this.#ext - this.#ext0) * 1000) / this.#clockRate;
    if (this.#correction > 0) {
      const step = raw - this.#lastRaw;
      if (step > 0) {
        this.#correction = Math.max(0, this.#correction - step * SLEW);
      }
    }
    if (sender !== undefined && sender.reports > 0 && sender.reports !== this.#srSeen) {
      // What this packet would have had; on a stream's first packet, what the track last had.
      const current = this.#fresh ? this.#lastOut : raw + this.#correction;
      if (this.#fromSr(sender, ts, arrivalMs, startMs, shared)) {
        raw = this.#anchorMs;
        this.#correction = Math.max(0, current - raw); // behind what this packet would have had: slewed in
      }
    }
    if (Math.abs(raw - wall) > REANCHOR_MS) {
      this.#anchor(ssrc, ts, clockRate, wall); // a jump: the SR seen so far no longer describes this stream
      this.#srSeen = sender?.reports ?? -1;
      raw = wall;
    }
    this.#lastRaw = raw;
    this.#fresh = false;
    const out = raw + this.#correction;
    this.#lastOut = out;
    return out;
  }

  /**
   * Re-anchors on the sender's SR unless it is too far from arrival time (another clock, a stale report).
   * @returns whether it did
   */
  #fromSr(s: SenderClock, ts: number, arrivalMs: number, startMs: number, shared: RecordingClock): boolean {
    this.#srSeen = s.reports;
    const ntpMs = s.ntpMs + (((ts - s.rtpTimestamp) | 0) * 1000) / this.#clockRate;
    if (Number.isNaN(shared.ntpToLocal)) {
      shared.ntpToLocal = arrivalMs - ntpMs;
    }
    const t = ntpMs + shared.ntpToLocal - startMs;
    if (Math.abs(t - (arrivalMs - startMs)) > REANCHOR_MS) {
      return false;
    }
    this.#anchorMs = t;
    this.#ext0 = this.#ext;
    this.#anchoredBySr = true;
    return true;
  }

  #anchor(ssrc: number, ts: number, clockRate: number, atMs: number): void {
    this.#ssrc = ssrc;
    this.#clockRate = clockRate;
    this.#lastTs = ts >>> 0;
    this.#ext = 0;
    this.#ext0 = 0;
    this.#anchorMs = atMs;
    this.#srSeen = -1;
    this.#anchoredBySr = false;
    // Nothing of this stream is mapped yet: what was handed out later than the anchor is slewed in.
    this.#correction = Math.max(0, this.#lastOut - atMs);
    this.#lastRaw = atMs;
    this.#fresh = true;
  }
}

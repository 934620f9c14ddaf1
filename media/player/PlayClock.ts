/**
 * A player's play clock. A segment is one ffmpeg reader, from `startMs` in the file; it starts ticking when its
 * first media is ready ({@link start}), stops while paused, and shifts when the event loop stalled (no burst).
 * Both the audio and the video RTP timestamps come from {@link rtpMs}, in ms: the segment's RTP base, plus the
 * media time into the segment, plus the time paused in it, so pauses and seeks keep the two tracks aligned and
 * their timestamps monotonic.
 */
export class PlayClock {
  /** Where the segment starts in the file, in ms. */
  startMs = 0;
  /** performance.now() at which `startMs` played; undefined until the segment's media is ready. */
  #origin: number | undefined;
  #pausedAt: number | undefined;
  #rtpBaseMs = 0;
  #pausedMs = 0;

  get started(): boolean {
    return this.#origin !== undefined;
  }

  /** A new segment from `startMs`, whose RTP clock continues at `rtpBaseMs`. */
  segment(startMs: number, rtpBaseMs: number): void {
    this.startMs = startMs;
    this.#origin = undefined;
    this.#rtpBaseMs = rtpBaseMs;
    this.#pausedMs = 0;
  }

  /** The segment's media is ready: its clock starts now. */
  start(now: number): void {
    this.#origin = now;
  }

  pause(now: number): void {
    this.#pausedAt = now;
  }

  /** Ends a pause; the RTP clock ran on during it. */
  resume(now: number): void {
    if (this.#pausedAt !== undefined && this.#origin !== undefined) {
      const paused = now - this.#pausedAt;
      this.#origin += paused;
      this.#pausedMs += paused;
    }
    this.#pausedAt = undefined;
  }

  /** Ms of media into the segment at `now` (0 before it started; frozen while paused). */
  elapsed(now: number): number {
    if (this.#origin === undefined) {
      return 0;
    }
    return Math.max(0, (this.#pausedAt ?? now) - this.#origin);
  }

  /** The media `behindMs` into the segment is due now (the event loop stalled: skip ahead, do not burst). */
  catchUp(now: number, behindMs: number): void {
    this.#origin = now - behindMs;
  }

  /** The RTP clock (ms) of the media `mediaMs` into the segment. */
  rtpMs(mediaMs: number): number {
    return this.#rtpBaseMs + mediaMs + this.#pausedMs;
  }

  /** The RTP clock (ms) now. */
  rtpNow(now: number): number {
    return this.rtpMs(this.elapsed(now));
  }
}

/**
 * When the bot's audio leaves the element (issue 14, docs/voicebots.md "Audio path"): a playout clock per stream,
 * driven by the worker's one shared tick ({@link startPacing}) and by the bot's audio as it arrives.
 *
 * `nextDue` is the time of the next frame's slot. A frame may leave up to {@link EARLY_MS} before its slot, and:
 * - **on arrival** ({@link Pacer.audio}): queued bot audio whose slot is open leaves at once, so a bot that streams
 *   at real time is not held back to the tick's phase (0–20 ms of added latency saved);
 * - **on the tick** ({@link Pacer.tick}): queued audio whose slot is open leaves (a TTS burst drains one frame per
 *   frame time); when the bot has nothing queued and the slot is {@link GRACE_MS} past, silence leaves instead, so
 *   the carrier never sees dead air; pending marks at the queue's end are reached once their audio has played;
 * - **after a stall** (the tick came late): queued audio catches up (at most {@link MAX_CATCH_UP} frames at once);
 *   missed slots with nothing to play are skipped (the RTP clock moves on) rather than filled with silence, which
 *   would put the bot's late audio behind it for good. At most one silence frame fills a late tick.
 * - **clear** ({@link Pacer.cleared}): silence leaves at once.
 * - When nothing is queued at a tick, the next slot opens now at the latest: a frame sent early (in a catch-up, or
 *   the first of a burst) does not hold every later frame of a real-time bot back to the tick's phase.
 *
 * The standing backlog a bot streaming at real time keeps after a stall is trimmed by {@link Playout.observe}.
 */
import type { Playout } from "./Playout.js";

export const FRAME_MS = 20;
/**
 * How late a slot may be before silence fills it while the bot streams (a real-time bot's frame arriving that late
 * still takes it); when the bot has been quiet for three frame times, silence fills each slot on time.
 */
export const GRACE_MS = 10;
/** How early a frame may leave before its slot. */
export const EARLY_MS = 10;
/** The bot is quiet when no audio came for this many ticks: silence then fills each slot on time. */
const QUIET_TICKS = 3;
/** Queued frames sent at once when catching up after a stall, at most. */
export const MAX_CATCH_UP = 5;

export interface PacerOutput {
  /** Sends one frame: the bot's audio, or silence when `frame` is undefined. */
  play(frame: Uint8Array | undefined, now: number): void;
  /** `slots` frame times passed with nothing sent: the RTP clock moves on. */
  skip(slots: number): void;
}

export class Pacer {
  readonly #playout: Playout;
  readonly #out: PacerOutput;
  readonly #reached: (mark: string) => void;
  readonly #startMs: number;
  #nextDue: number;
  #lastSlot = 0;
  /**
   * Ticks since the bot's audio last arrived (while it streams its frames get {@link GRACE_MS} before silence takes
   * their slot). Ticks, not time: a stall of this worker's event loop does not make a streaming bot look quiet.
   */
  #quietTicks = QUIET_TICKS;
  /** Missed slots skipped after stalls (frame times with nothing sent). */
  skippedSlots = 0;

  constructor(playout: Playout, out: PacerOutput, reached: (mark: string) => void, now: number) {
    this.#playout = playout;
    this.#out = out;
    this.#reached = reached;
    this.#startMs = now;
    this.#nextDue = now;
  }

  /** The bot's audio was queued: frames whose slot is open leave now. */
  audio(now: number): void {
    if (this.#quietTicks >= QUIET_TICKS && this.#nextDue < now) {
      // A talk spurt starts: its first frame takes the slot now (the silence cadence may lag the clock a little).
      this.#skipTo(now);
    }
    this.#quietTicks = 0;
    const p = this.#playout;
    for (let n = 0; n < MAX_CATCH_UP && p.queuedFrames > 0 && now >= this.#nextDue - EARLY_MS; n++) {
      this.#play(p.next(this.#reached), now);
    }
  }

  /** The queue was cleared: silence now, right after what was sent (the caller stops hearing the bot at once). */
  cleared(now: number): void {
    this.#quietTicks = QUIET_TICKS;
    this.#nextDue = Math.min(this.#nextDue, now);
    this.#play(undefined, now);
  }

  /** The shared tick (every {@link FRAME_MS}, after the event loop read its sockets). */
  tick(now: number): void {
    const p = this.#playout;
    for (let n = 0; n < MAX_CATCH_UP && p.queuedFrames > 0 && now >= this.#nextDue - EARLY_MS; n++) {
      this.#play(p.next(this.#reached), now);
    }
    const grace = this.#quietTicks < QUIET_TICKS ? GRACE_MS : 0;
    this.#quietTicks++;
    // Steady silence runs up to one frame time behind its slots (the tick's phase): keep that, skip beyond it.
    const behind = Math.floor((now - this.#nextDue - grace) / FRAME_MS) - 1;
    if (behind >= 1) {
      this.#nextDue += behind * FRAME_MS;
      this.skippedSlots += behind;
      this.#out.skip(behind);
    }
    if (p.queuedFrames === 0 && now >= this.#nextDue + grace) {
      this.#play(p.next(this.#reached), now); // silence; reaches the marks at the queue's end
    } else if (p.queuedFrames === 0 && p.pendingMarks > 0 && now >= this.#nextDue - FRAME_MS / 2) {
      p.next(this.#reached); // the last frame before them has played
    }
    const slot = Math.floor((now - this.#startMs) / FRAME_MS);
    p.observe(slot - this.#lastSlot, this.#reached);
    this.#lastSlot = slot;
    if (p.queuedFrames === 0 && this.#nextDue > now + EARLY_MS) {
      // Nothing waits: the next frame of a real-time bot leaves when it arrives (a frame sent early, in a catch-up
      // or a burst, must not hold every later frame back to the tick's phase).
      this.#nextDue = now + EARLY_MS;
    }
  }

  /** Slots up to `now` pass with nothing sent (whole ones move the RTP clock on); the next slot is `now`. */
  #skipTo(now: number): void {
    const whole = Math.floor((now - this.#nextDue) / FRAME_MS);
    if (whole >= 1) {
      this.skippedSlots += whole;
      this.#out.skip(whole);
    }
    this.#nextDue = now;
  }

  #play(frame: Uint8Array | undefined, now: number): void {
    this.#nextDue += FRAME_MS;
    this.#out.play(frame, now);
  }
}

/** Something the shared tick drives. */
export interface Paced {
  pace(now: number): void;
}

const paced = new Set<Paced>();
let timer: NodeJS.Timeout | undefined;
let immediate: NodeJS.Immediate | undefined;

/**
 * The tick runs in the check phase after the timer fired (setImmediate): the poll phase in between reads the bot
 * sockets first, so a stall's pending bot audio is queued before the tick decides between audio and silence.
 */
function runAll(): void {
  immediate = undefined;
  const now = performance.now();
  for (const x of paced) {
    x.pace(now);
  }
  if (paced.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Registers `x` on the worker's one {@link FRAME_MS} tick (idempotent); starts the timer if it was not running. */
export function startPacing(x: Paced): void {
  paced.add(x);
  if (timer === undefined) {
    timer = setInterval(() => {
      immediate ??= setImmediate(runAll);
    }, FRAME_MS);
    timer.unref();
  }
}

/** Unregisters `x`; the timer stops at its next tick when nobody is left. */
export function stopPacing(x: Paced): void {
  paced.delete(x);
}

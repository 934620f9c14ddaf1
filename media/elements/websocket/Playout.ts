/**
 * The bot's audio queued for playout (issue 14): bytes in the bot's wire format (µ-law for Twilio, L16 for
 * jambonz) cut into frames of one packetisation interval, with the bot's marks between them.
 *
 * - {@link Playout.pushAudio} re-frames whatever chunk size the bot sends; a partial frame waits for the next chunk.
 * - {@link Playout.pushMark} places a mark after the audio queued so far (a partial frame is padded with silence,
 *   so the mark is reached when that audio has played).
 * - {@link Playout.next} is called once per frame time by the pacer: it hands out the marks now reached (in order)
 *   and the next frame, or undefined (the pacer plays silence).
 * - {@link Playout.clear} (Twilio `clear`, jambonz `killAudio`) drops the queued audio and returns the pending marks.
 *
 * Bounded: at most `maxFrames` frames and `maxMarks` marks are queued; what does not fit is dropped and counted
 * (`droppedFrames`, `droppedMarks`), so a flooding bot cannot grow memory.
 *
 * Standing backlog ({@link Playout.observe}, once per pacer tick with the frame times that passed): a bot that
 * streams at real time keeps whatever backlog a stall left (its audio arrived late, the slots went by), and every
 * frame after it is that much late for good. Per window of {@link TRIM_WINDOW} frame times the queue counts the
 * frames that arrived against the frame times: what arrived beyond real time is a lead the bot sent on purpose
 * (a TTS burst: `protectedFrames`, never trimmed, shrinking as it plays); when the bot delivered about one frame per
 * frame time and the queue never fell below `protectedFrames` + 1 in the window, the excess is the standing backlog
 * and the oldest frames of it are dropped (counted in `trimmedFrames`; marks among them are reached, in order).
 */

/** Frame times per window of the backlog policy (500 ms). */
export const TRIM_WINDOW = 25;
/** Frames an arrival count may differ from the window's frame times and still be "real time". */
const REAL_TIME_SLACK = 5;
/**
 * How far a streaming bot's arrivals may lag the frame times (a stall's frames arrive in a later window) and be paid
 * back by the late frames, rather than counted as a lead (5 s).
 */
const MAX_DEBT = 250;

/** A queued entry: a frame of audio, or a mark's name. */
type Entry = Uint8Array | string;

export class Playout {
  readonly frameBytes: number;
  readonly #silence: number;
  readonly #maxFrames: number;
  readonly #maxMarks: number;
  #queue: Entry[] = [];
  #head = 0;
  #frames = 0;
  #marks = 0;
  #partial: Uint8Array;
  #partialLen = 0;
  /** Audio frames refused because the queue was full. */
  droppedFrames = 0;
  /** Marks refused because too many were pending. */
  droppedMarks = 0;
  /** Frames of standing backlog dropped (the bot streams at real time behind a stall's backlog). */
  trimmedFrames = 0;
  /** Frames the bot sent ahead of real time (negative: behind, up to {@link MAX_DEBT}); never trimmed. */
  #lead = 0;
  #arrived = 0;
  #slots = 0;
  #minDepth = Number.POSITIVE_INFINITY;

  /** `silenceByte` pads a partial frame (0xff for µ-law, 0 for L16). */
  constructor(frameBytes: number, maxFrames: number, maxMarks: number, silenceByte: number) {
    this.frameBytes = frameBytes;
    this.#maxFrames = maxFrames;
    this.#maxMarks = maxMarks;
    this.#silence = silenceByte;
    this.#partial = new Uint8Array(frameBytes);
  }

  /** Frames of audio waiting. */
  get queuedFrames(): number {
    return this.#frames;
  }

  /** Marks waiting for playout. */
  get pendingMarks(): number {
    return this.#marks;
  }

  /** Queues a chunk of audio; returns how many whole frames were dropped because the queue was full. */
  pushAudio(chunk: Uint8Array): number {
    const before = this.droppedFrames;
    let off = 0;
    if (this.#partialLen > 0) {
      const take = Math.min(this.frameBytes - this.#partialLen, chunk.length);
      this.#partial.set(chunk.subarray(0, take), this.#partialLen);
      this.#partialLen += take;
      off = take;
      if (this.#partialLen === this.frameBytes) {
        this.#enqueueFrame(this.#partial);
        this.#partial = new Uint8Array(this.frameBytes);
        this.#partialLen = 0;
      }
    }
    while (chunk.length - off >= this.frameBytes) {
      this.#enqueueFrame(chunk.slice(off, off + this.frameBytes));
      off += this.frameBytes;
    }
    if (off < chunk.length) {
      this.#partial.set(chunk.subarray(off), 0);
      this.#partialLen = chunk.length - off;
    }
    return this.droppedFrames - before;
  }

  /** Queues a mark after the audio queued so far; false (and counted) when too many marks are pending. */
  pushMark(name: string): boolean {
    if (this.#marks >= this.#maxMarks) {
      this.droppedMarks++;
      return false;
    }
    this.#flushPartial();
    this.#queue.push(name);
    this.#marks++;
    return true;
  }

  /**
   * The next frame to play, or undefined when no audio is queued. `reached` gets each mark placed before it, in
   * order (all pending marks when no audio is left before them).
   */
  next(reached: (mark: string) => void): Uint8Array | undefined {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head];
      this.#queue[this.#head] = "";
      this.#head++;
      if (typeof e === "string") {
        this.#marks--;
        reached(e);
        continue;
      }
      this.#frames--;
      this.#compact();
      return e;
    }
    this.#compact();
    return undefined;
  }

  /** Frames of the bot's lead (a burst faster than real time) that the backlog policy keeps. */
  get protectedFrames(): number {
    return Math.max(0, Math.min(this.#lead, this.#frames));
  }

  /**
   * The pacer's tick, after its sends: `slots` frame times passed since the last call. Every
   * {@link TRIM_WINDOW} frame times, drops the standing backlog of a real-time bot (class comment).
   */
  observe(slots: number, reached: (mark: string) => void): void {
    this.#slots += slots;
    if (this.#frames < this.#minDepth) {
      this.#minDepth = this.#frames;
    }
    if (this.#slots < TRIM_WINDOW) {
      return;
    }
    const net = this.#arrived - this.#slots;
    // A window with no audio at all is a pause (between utterances): no debt is carried past it, so the lead of the
    // next burst is the bot's in full. Debt is what a streaming bot owes (its late frames arrive in a later window).
    const lead = this.#arrived === 0 ? Math.max(0, this.#lead) : Math.max(-MAX_DEBT, this.#lead + net);
    this.#lead = Math.min(lead, this.#frames);
    const realTime = Math.abs(net) <= REAL_TIME_SLACK;
    const excess = Math.min(this.#minDepth, this.#frames) - this.protectedFrames;
    this.#arrived = 0;
    this.#slots = 0;
    this.#minDepth = Number.POSITIVE_INFINITY;
    for (let k = 0; realTime && k < excess; k++) {
      if (this.next(reached) !== undefined) {
        this.trimmedFrames++;
      }
    }
  }

  /** Drops every queued frame (and the partial one); returns the names of the marks that were pending, in order. */
  clear(): string[] {
    const marks: string[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i];
      if (typeof e === "string") {
        marks.push(e);
      }
    }
    this.#queue = [];
    this.#head = 0;
    this.#frames = 0;
    this.#marks = 0;
    this.#partialLen = 0;
    return marks;
  }

  /** Forgets the pending marks (jambonz `clearMarks`), keeping the audio; returns their names. */
  clearMarks(): string[] {
    const marks: string[] = [];
    const kept: Entry[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const e = this.#queue[i];
      if (typeof e === "string") {
        marks.push(e);
      } else if (e !== undefined) {
        kept.push(e);
      }
    }
    this.#queue = kept;
    this.#head = 0;
    this.#marks = 0;
    return marks;
  }

  #enqueueFrame(frame: Uint8Array): void {
    if (this.#frames >= this.#maxFrames) {
      this.droppedFrames++;
      return;
    }
    this.#queue.push(frame);
    this.#frames++;
    this.#arrived++;
  }

  #flushPartial(): void {
    if (this.#partialLen === 0) {
      return;
    }
    this.#partial.fill(this.#silence, this.#partialLen);
    this.#enqueueFrame(this.#partial);
    this.#partial = new Uint8Array(this.frameBytes);
    this.#partialLen = 0;
  }

  /** Drops the consumed head of the array now and then (amortised O(1) per entry, no shift per frame). */
  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}

/**
 * Builds CDRs from call events. The wiring in src/ feeds it partial updates keyed by a leg id (a SIP leg or a
 * WebRTC session) as they happen; `ended()` produces the final record, hands it to `commit` (the SQLite store),
 * and forgets the leg. It owns no timers and does no I/O itself, so it is unit-tested with a fake clock.
 *
 * With a {@link CdrJournal}, every open leg is also journaled (issue 9 §8): written at once when it is answered (or
 * the answer is taken back), and otherwise by the periodic batch (`flushJournal`, timed by CdrService) after it
 * started or other facts changed.
 * `recover` turns the entries a crashed run left open into final records.
 *
 * The leg facts and open-leg state are in openLeg.ts, the journal entries in legJournal.ts, the bot accounting in
 * legBot.ts and the record building in buildRecord.ts.
 *
 * Each leg may end only once: a second `ended()` (e.g. a Kurento release racing a SIP BYE) returns null, so every
 * leg yields exactly one record.
 */
import { randomUUID } from "node:crypto";
import type { CdrJournal } from "./CdrJournal.js";
import { CdrError, IcidOrigin, type CdrRecord } from "./CdrRecord.js";
import { buildRecord } from "./buildRecord.js";
import { icidFromPChargingVector } from "./headers.js";
import { newBot, updateBot, type LegBotState } from "./legBot.js";
import { crashEnd, journalEntry, restoreLeg } from "./legJournal.js";
import type { LegEnd, LegMedia, LegStart, OpenLeg } from "./openLeg.js";

export type { LegBotState } from "./legBot.js";
export { SERVER_CRASH } from "./legJournal.js";
export type { LegEnd, LegMedia, LegStart, LegStats } from "./openLeg.js";

export interface CdrRecorderOptions {
  /** Receives each finished record (normally SqliteCdrStore.insert, then the sink dispatcher). */
  commit: (record: CdrRecord) => void;
  /** Called when `commit` throws; the record is still returned by `ended()`. */
  onCommitError?: (err: unknown, record: CdrRecord) => void;
  now?: () => number;
  newId?: () => string;
  /** Journal of open legs; none when absent. */
  journal?: CdrJournal;
  /** Called when a journal write throws (the call goes on; its record is still committed at its end). */
  onJournalError?: (err: unknown, recordId: string) => void;
}

export class CdrRecorder {
  private readonly legs = new Map<string, OpenLeg>();
  private readonly commitFn: (record: CdrRecord) => void;
  private readonly onCommitError: ((err: unknown, record: CdrRecord) => void) | undefined;
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly journal: CdrJournal | undefined;
  private readonly onJournalError: ((err: unknown, recordId: string) => void) | undefined;
  /** Open legs whose facts changed since the last journal write. */
  private readonly changed = new Set<OpenLeg>();

  constructor(options: CdrRecorderOptions) {
    this.commitFn = options.commit;
    this.onCommitError = options.onCommitError;
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? randomUUID;
    this.journal = options.journal;
    this.onJournalError = options.onJournalError;
  }

  private journalWrite(leg: OpenLeg): void {
    if (this.journal === undefined) {
      return;
    }
    this.changed.delete(leg);
    try {
      this.journal.write(journalEntry(leg), this.now());
    } catch (err) {
      this.changed.add(leg); // retried by the next flush
      this.onJournalError?.(err, leg.recordId);
    }
  }

  /**
   * One batched journal write (CdrService calls it every few seconds): every open leg is alive now, and the legs
   * whose facts changed since their last write are rewritten.
   */
  flushJournal(): void {
    if (this.journal === undefined) {
      return;
    }
    const changed = [...this.changed];
    this.changed.clear();
    try {
      this.journal.heartbeat(
        this.now(),
        changed.map((leg) => journalEntry(leg)),
      );
    } catch (err) {
      for (const leg of changed) {
        this.changed.add(leg);
      }
      this.onJournalError?.(err, "*");
    }
  }

  /**
   * Tells the journal that the start facts of an open leg changed (the caller keeps `start` by reference and
   * filled in e.g. the pipeline of a claim); written with the next flush. Returns false for an unknown leg.
   */
  touched(legId: string): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    if (this.journal !== undefined) {
      this.changed.add(leg);
    }
    return true;
  }

  /** Number of legs started and not yet ended. */
  get openLegs(): number {
    return this.legs.size;
  }

  /** Calls `fn` with the start of every open leg (metrics: calls active). */
  forEachOpen(fn: (start: Readonly<LegStart>) => void): void {
    for (const leg of this.legs.values()) {
      fn(leg.start);
    }
  }

  /** Whether `legId` is open. */
  has(legId: string): boolean {
    return this.legs.has(legId);
  }

  /** The open leg whose element is `elementId` (a SipEndpoint's CDR leg has its own id), if any. */
  legOfElement(elementId: string): string | undefined {
    for (const [legId, leg] of this.legs) {
      if (leg.start.elementId === elementId) {
        return legId;
      }
    }
    return undefined;
  }

  private time(at: number | Date | undefined): number {
    if (at === undefined) {
      return this.now();
    }
    const ms = typeof at === "number" ? at : at.getTime();
    if (!Number.isFinite(ms)) {
      throw new CdrError(`invalid event time ${String(at)}`);
    }
    return Math.round(ms);
  }

  /**
   * Opens a leg (INVITE sent or received, WebRTC endpoint created).
   * @returns the record id the final record will carry.
   * @throws CdrError when `legId` is already open.
   */
  started(legId: string, start: LegStart): string {
    if (this.legs.has(legId)) {
      throw new CdrError(`leg ${legId} is already open`);
    }
    const recordId = this.newId();
    const received = icidFromPChargingVector(start.pChargingVector);
    const leg: OpenLeg = {
      recordId,
      icid: received ?? recordId.replace(/-/g, ""),
      icidOrigin: received === null ? IcidOrigin.Generated : IcidOrigin.Received,
      start,
      startMs: this.time(start.at),
      ringingMs: null,
      answerMs: null,
      answerStatus: null,
      media: { peerCodec: null, pipelineCodec: null, transcoded: null, recording: null },
    };
    this.legs.set(legId, leg);
    if (this.journal !== undefined) {
      this.changed.add(leg); // written by the next batch (CdrJournal.ts)
    }
    return recordId;
  }

  /**
   * The icid of an open leg: the received one, or the one Korus generated, which the SIP layer puts into the
   * P-Charging-Vector of the INVITE it sends (headers.ts formatPChargingVector). Null for an unknown leg.
   */
  icid(legId: string): string | null {
    return this.legs.get(legId)?.icid ?? null;
  }

  /** First 18x; later ones are ignored. Returns false for an unknown leg. */
  ringing(legId: string, at?: number | Date): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    if (leg.ringingMs === null) {
      leg.ringingMs = Math.max(leg.startMs, this.time(at));
      if (this.journal !== undefined) {
        this.changed.add(leg);
      }
    }
    return true;
  }

  /** The 2xx (or WebRTC media connected); later ones are ignored. Returns false for an unknown leg. */
  answered(legId: string, at?: number | Date, sipStatus = 200): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    if (leg.answerMs === null) {
      leg.answerMs = Math.max(leg.startMs, this.time(at));
      leg.answerStatus = sipStatus;
      this.journalWrite(leg);
    }
    return true;
  }

  /**
   * Takes an answer back: our 2xx to an inbound call was never acknowledged (RFC 3261 §13.3.1.4, the caller never
   * saw the call connect), so the leg is not billed. Returns false for an unknown leg.
   */
  unanswered(legId: string): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    if (leg.answerMs !== null) {
      leg.answerMs = null;
      leg.answerStatus = null;
      this.journalWrite(leg);
    }
    return true;
  }

  /** Codec, transcoding and recording updates (any time before the end). Returns false for an unknown leg. */
  media(legId: string, update: LegMedia): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    if (update.peerCodec !== undefined) {
      leg.media.peerCodec = update.peerCodec;
    }
    if (update.pipelineCodec !== undefined) {
      leg.media.pipelineCodec = update.pipelineCodec;
    }
    if (update.transcoded !== undefined) {
      leg.media.transcoded = update.transcoded;
    }
    if (update.recording !== undefined) {
      leg.media.recording = update.recording;
    }
    if (this.journal !== undefined) {
      this.changed.add(leg);
    }
    return true;
  }

  /**
   * A state change of the leg's voice-bot stream: STREAMING periods add up to `bot.seconds`; CLOSED or FAILED (with
   * its reason) is the outcome; a stream still open when the leg ends is CLOSED. Returns false for an unknown leg.
   */
  bot(legId: string, update: LegBotState): boolean {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return false;
    }
    const at = this.time(update.at);
    updateBot((leg.bot ??= newBot()), update, at);
    if (this.journal !== undefined) {
      this.changed.add(leg);
    }
    return true;
  }

  /**
   * Closes a leg: builds its record, commits it, and forgets the leg.
   * @returns the record, or null when the leg is unknown or already ended.
   */
  ended(legId: string, end: LegEnd): CdrRecord | null {
    const leg = this.legs.get(legId);
    if (leg === undefined) {
      return null;
    }
    this.legs.delete(legId);
    this.changed.delete(leg);
    const record = buildRecord(leg, end, this.time(end.at));
    try {
      this.commitFn(record);
    } catch (err) {
      this.onCommitError?.(err, record);
    }
    return record;
  }

  /**
   * Forgets an open leg without a record (a malformed request that never became a call, issue 9 §9).
   * @returns false when the leg is unknown or already ended.
   */
  discard(legId: string): boolean {
    return this.legs.delete(legId);
  }

  /** Ends every open leg (shutdown) with the same end facts, oldest first. */
  endAll(end: LegEnd): CdrRecord[] {
    return this.endWhere(() => true, end);
  }

  /**
   * Ends the open legs whose start facts match (e.g. the pipelines of a media worker that died), oldest first.
   * @returns the records produced.
   */
  endWhere(match: (legId: string, start: Readonly<LegStart>) => boolean, end: LegEnd): CdrRecord[] {
    const out: CdrRecord[] = [];
    for (const [legId, leg] of [...this.legs]) {
      if (!match(legId, leg.start)) {
        continue;
      }
      const r = this.ended(legId, end);
      if (r !== null) {
        out.push(r);
      }
    }
    return out;
  }

  /**
   * Closes the legs an earlier run left open in the journal (it crashed or was killed): each becomes a final record
   * ending at its last known activity, end reason `server-crash`, hang-up side system, ANSWERED (billed from the
   * answer to the last activity) when it was answered, and is committed like any record, which removes its entry.
   * An entry whose state cannot be read is rebuilt from its columns. Call once at start-up, before any leg starts.
   * @returns the records committed, and the entries that could not be (left in the journal, reported through
   *   `onCommitError`).
   */
  recover(): CdrRecord[] {
    if (this.journal === undefined) {
      return [];
    }
    const out: CdrRecord[] = [];
    for (const e of this.journal.leftOpen()) {
      const end = crashEnd(e);
      const record = buildRecord(restoreLeg(e), end, this.time(end.at));
      try {
        this.commitFn(record);
        out.push(record);
      } catch (err) {
        this.onCommitError?.(err, record);
      }
    }
    return out;
  }
}

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
 * Each leg may end only once: a second `ended()` (e.g. a Kurento release racing a SIP BYE) returns null, so every
 * leg yields exactly one record.
 */
import { randomUUID } from "node:crypto";
import type { CdrJournal, JournalEntry, LeftOpenEntry } from "./CdrJournal.js";
import {
  CDR_VERSION,
  CdrDirection,
  CdrError,
  HangupSide,
  IcidOrigin,
  type BotOutcome,
  type CdrBot,
  type CdrRecord,
  type RtpDirectionStats,
} from "./CdrRecord.js";
import { deriveDisposition, q850FromReasonHeader, q850FromSipStatus } from "./disposition.js";
import { estimateMos } from "./emodel.js";
import { icidFromPChargingVector, originalCalledNumber, partyUri } from "./headers.js";

export interface LegStart {
  direction: CdrDirection;
  callId?: string | null;
  linkedId?: string | null;
  pipelineId?: string | null;
  elementId?: string | null;
  trunk?: string | null;
  /** Raw header values; URIs are extracted (display names and tags dropped). */
  from?: string | null;
  to?: string | null;
  pai?: string | null;
  /** Raw P-Charging-Vector of the received INVITE; absent → Korus generates an icid. */
  pChargingVector?: string | null;
  /** All Diversion / History-Info header values of the INVITE, in message order. */
  diversion?: readonly string[];
  historyInfo?: readonly string[];
  /** Event time (epoch ms or Date); the recorder's clock when absent. */
  at?: number | Date;
}

export interface LegMedia {
  peerCodec?: string | null;
  pipelineCodec?: string | null;
  /** Overrides the default (peer and pipeline codec names differ). */
  transcoded?: boolean;
  recording?: string | null;
}

/** A state change of a leg's voice-bot stream (WebSocketEndpoint StreamStateChanged). */
export interface LegBotState {
  /** The bot URL's host (set with the first update). */
  host?: string;
  state: "CONNECTING" | "STREAMING" | "CLOSED" | "FAILED";
  reason?: string;
  at?: number | Date;
}

/** The journaled voice-bot state of an open leg. */
interface OpenBot {
  host: string;
  /** ms streamed in earlier STREAMING periods (a reconnection starts a new one). */
  streamedMs: number;
  /** Start of the current STREAMING period, null when not streaming. */
  sinceMs: number | null;
  outcome: BotOutcome | null;
  reason: string | null;
}

export interface LegStats {
  rx?: Partial<RtpDirectionStats>;
  tx?: Partial<RtpDirectionStats>;
  rttMs?: number | null;
}

export interface LegEnd {
  hangupSide: HangupSide;
  /** Final SIP status of the INVITE; for an answered call the 2xx status is kept when this is absent. */
  sipStatus?: number | null;
  q850Cause?: number | null;
  /** Raw RFC 3326 Reason header of the BYE/CANCEL/response, used when q850Cause is absent. */
  reasonHeader?: string | null;
  /** `bye`, `cancel`, `rejected`, `ring-timeout`, `worker-died`, `shutdown`, … */
  endReason?: string | null;
  stats?: LegStats;
  at?: number | Date;
}

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

/** End facts of a leg a crash left open: Korus ended it, at its last known activity. */
export const SERVER_CRASH = "server-crash";
/** Q.850 41 Temporary failure, as for a leg whose media worker died. */
const CRASH_Q850 = 41;

/** The journaled state of an open leg (JSON in the journal). */
interface OpenLeg {
  recordId: string;
  icid: string;
  icidOrigin: IcidOrigin;
  start: LegStart;
  startMs: number;
  ringingMs: number | null;
  answerMs: number | null;
  answerStatus: number | null;
  media: Required<Omit<LegMedia, "transcoded">> & { transcoded: boolean | null };
  bot?: OpenBot;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * The open leg of a journal entry: its JSON state, checked field by field; the entry's columns win for the times
 * and a field that is missing or of the wrong type falls back to null (a damaged entry still yields a record).
 */
function restoreLeg(e: LeftOpenEntry): OpenLeg {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(e.state);
    if (typeof parsed === "object" && parsed !== null) {
      raw = parsed as Record<string, unknown>;
    }
  } catch {
    // A damaged state: the columns alone make the record.
  }
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  const start = obj(raw["start"]);
  const media = obj(raw["media"]);
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
  const icid = strOrNull(raw["icid"]);
  return {
    recordId: e.recordId,
    icid: icid === null || icid === "" ? e.recordId.replace(/-/g, "") : icid,
    icidOrigin: raw["icidOrigin"] === IcidOrigin.Received ? IcidOrigin.Received : IcidOrigin.Generated,
    start: {
      direction: e.direction,
      callId: strOrNull(start["callId"]),
      linkedId: strOrNull(start["linkedId"]),
      pipelineId: strOrNull(start["pipelineId"]),
      elementId: strOrNull(start["elementId"]),
      trunk: strOrNull(start["trunk"]),
      from: strOrNull(start["from"]),
      to: strOrNull(start["to"]),
      pai: strOrNull(start["pai"]),
      diversion: strings(start["diversion"]),
      historyInfo: strings(start["historyInfo"]),
    },
    startMs: e.startMs,
    ringingMs: isNum(raw["ringingMs"]) ? Math.max(e.startMs, raw["ringingMs"]) : null,
    answerMs: e.answerMs === null ? null : Math.max(e.startMs, e.answerMs),
    answerStatus: isNum(raw["answerStatus"]) ? raw["answerStatus"] : e.answerMs === null ? null : 200,
    media: {
      peerCodec: strOrNull(media["peerCodec"]),
      pipelineCodec: strOrNull(media["pipelineCodec"]),
      transcoded: typeof media["transcoded"] === "boolean" ? media["transcoded"] : null,
      recording: strOrNull(media["recording"]),
    },
    ...restoreBot(raw["bot"], e.startMs),
  };
}

function restoreBot(v: unknown, startMs: number): { bot?: OpenBot } {
  if (typeof v !== "object" || v === null) {
    return {};
  }
  const b = v as Record<string, unknown>;
  const outcome = b["outcome"] === "CLOSED" || b["outcome"] === "FAILED" ? b["outcome"] : null;
  return {
    bot: {
      host: strOrNull(b["host"]) ?? "",
      streamedMs: isNum(b["streamedMs"]) ? Math.max(0, b["streamedMs"]) : 0,
      sinceMs: isNum(b["sinceMs"]) ? Math.max(startMs, b["sinceMs"]) : null,
      outcome,
      reason: strOrNull(b["reason"]),
    },
  };
}

function direction(s: Partial<RtpDirectionStats> | undefined): RtpDirectionStats {
  const n = (v: number | null | undefined): number | null =>
    v === null || v === undefined || !Number.isFinite(v) ? null : Math.max(0, v);
  return {
    packets: Math.max(0, Math.trunc(s?.packets ?? 0)),
    lost: n(s?.lost) === null ? null : Math.trunc(n(s?.lost) ?? 0),
    jitterMs: n(s?.jitterMs) === null ? null : round(n(s?.jitterMs) ?? 0, 3),
    maxJitterMs: n(s?.maxJitterMs) === null ? null : round(n(s?.maxJitterMs) ?? 0, 3),
  };
}

/** Percent lost of one direction: rx counts lost of (received + lost), tx lost of sent. */
function lossPercent(d: RtpDirectionStats, received: boolean): number {
  const lost = d.lost ?? 0;
  const expected = received ? d.packets + lost : d.packets;
  return expected > 0 ? Math.min(100, (100 * lost) / expected) : 0;
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

  private entry(leg: OpenLeg): JournalEntry {
    return {
      recordId: leg.recordId,
      direction: leg.start.direction,
      startMs: leg.startMs,
      answerMs: leg.answerMs,
      state: JSON.stringify(leg),
    };
  }

  private journalWrite(leg: OpenLeg): void {
    if (this.journal === undefined) {
      return;
    }
    this.changed.delete(leg);
    try {
      this.journal.write(this.entry(leg), this.now());
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
        changed.map((leg) => this.entry(leg)),
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
    const bot = (leg.bot ??= { host: "", streamedMs: 0, sinceMs: null, outcome: null, reason: null });
    if (update.host !== undefined) {
      bot.host = update.host;
    }
    if (bot.sinceMs !== null && update.state !== "STREAMING") {
      bot.streamedMs += Math.max(0, at - bot.sinceMs);
      bot.sinceMs = null;
    } else if (bot.sinceMs === null && update.state === "STREAMING") {
      bot.sinceMs = at;
    }
    if (update.state === "CLOSED" || update.state === "FAILED") {
      bot.outcome = update.state;
      bot.reason = update.state === "FAILED" ? (update.reason ?? "") : null;
    } else {
      bot.outcome = null;
      bot.reason = null;
    }
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
    const record = this.build(leg, end);
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
      const record = this.build(restoreLeg(e), {
        hangupSide: HangupSide.System,
        q850Cause: CRASH_Q850,
        endReason: SERVER_CRASH,
        at: e.lastActivityMs,
      });
      try {
        this.commitFn(record);
        out.push(record);
      } catch (err) {
        this.onCommitError?.(err, record);
      }
    }
    return out;
  }

  private build(leg: OpenLeg, end: LegEnd): CdrRecord {
    const s = leg.start;
    const answered = leg.answerMs !== null;
    const endMs = Math.max(leg.answerMs ?? leg.startMs, leg.ringingMs ?? leg.startMs, this.time(end.at));
    const sipStatus = end.sipStatus ?? (answered ? leg.answerStatus : null);
    const q850Cause =
      end.q850Cause ??
      (end.reasonHeader ? q850FromReasonHeader(end.reasonHeader) : null) ??
      (answered ? 16 : sipStatus !== null ? q850FromSipStatus(sipStatus) : null);
    const endReason = end.endReason ?? null;
    const disposition = deriveDisposition({ answered, sipStatus, q850Cause, hangupSide: end.hangupSide, endReason });
    const rx = direction(end.stats?.rx);
    const tx = direction(end.stats?.tx);
    const rttMs = end.stats?.rttMs ?? null;
    const { peerCodec, pipelineCodec, recording } = leg.media;
    const transcoded =
      leg.media.transcoded ??
      (peerCodec !== null && pipelineCodec !== null && peerCodec.toLowerCase() !== pipelineCodec.toLowerCase());
    let rFactor: number | null = null;
    let mos: number | null = null;
    if (peerCodec !== null && rx.packets + tx.packets > 0) {
      const worst = [
        rx.packets > 0
          ? estimateMos({
              codec: peerCodec,
              lossPercent: lossPercent(rx, true),
              rttMs: rttMs ?? 0,
              jitterMs: rx.jitterMs ?? 0,
            })
          : null,
        tx.packets > 0 && tx.lost !== null
          ? estimateMos({
              codec: peerCodec,
              lossPercent: lossPercent(tx, false),
              rttMs: rttMs ?? 0,
              jitterMs: tx.jitterMs ?? 0,
            })
          : null,
      ]
        .filter((e) => e !== null)
        .sort((a, b) => a.r - b.r)[0];
      if (worst !== undefined) {
        rFactor = round(worst.r, 1);
        mos = round(worst.mos, 2);
      }
    }
    return {
      version: CDR_VERSION,
      recordId: leg.recordId,
      linkedId: s.linkedId ?? s.pipelineId ?? null,
      callId: s.callId ?? null,
      pipelineId: s.pipelineId ?? null,
      elementId: s.elementId ?? null,
      icid: leg.icid,
      icidOrigin: leg.icidOrigin,
      direction: s.direction,
      trunk: s.trunk ?? null,
      from: partyUri(s.from),
      to: partyUri(s.to),
      pai: partyUri(s.pai),
      originalCalledNumber: originalCalledNumber(s.diversion ?? [], s.historyInfo ?? []),
      startTime: iso(leg.startMs),
      ringingTime: leg.ringingMs === null ? null : iso(leg.ringingMs),
      answerTime: leg.answerMs === null ? null : iso(leg.answerMs),
      endTime: iso(endMs),
      durationMs: endMs - leg.startMs,
      billsecMs: leg.answerMs === null ? 0 : endMs - leg.answerMs,
      disposition,
      sipStatus,
      q850Cause,
      hangupSide: end.hangupSide,
      endReason,
      media: { peerCodec, pipelineCodec, transcoded, rx, tx, rttMs, rFactor, mos, recording },
      bot: leg.bot === undefined ? null : botOf(leg.bot, endMs),
    };
  }
}

/** The CDR view of a leg's bot stream at the leg's end. */
function botOf(b: OpenBot, endMs: number): CdrBot {
  const ms = b.streamedMs + (b.sinceMs === null ? 0 : Math.max(0, endMs - b.sinceMs));
  return { host: b.host, seconds: round(ms / 1000, 3), outcome: b.outcome ?? "CLOSED", reason: b.reason };
}

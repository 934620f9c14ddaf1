/**
 * An open leg in the crash journal (issue 9 §8): the entry written for it, and the leg and end facts restored from
 * an entry a crashed run left open (CdrRecorder.recover).
 */
import type { JournalEntry, LeftOpenEntry } from "./CdrJournal.js";
import { HangupSide, IcidOrigin } from "./CdrRecord.js";
import { isNum, strOrNull } from "./fields.js";
import { restoreBot } from "./legBot.js";
import type { LegEnd, OpenLeg } from "./openLeg.js";

/** End facts of a leg a crash left open: Korus ended it, at its last known activity. */
export const SERVER_CRASH = "server-crash";
/** Q.850 41 Temporary failure, as for a leg whose media worker died. */
const CRASH_Q850 = 41;

/** The journal entry of an open leg: its state as JSON, with the columns the journal queries. */
export function journalEntry(leg: OpenLeg): JournalEntry {
  return {
    recordId: leg.recordId,
    direction: leg.start.direction,
    startMs: leg.startMs,
    answerMs: leg.answerMs,
    state: JSON.stringify(leg),
  };
}

/** The end facts of a leg an earlier run left open: ended by Korus at its last known activity. */
export function crashEnd(e: LeftOpenEntry): LegEnd {
  return {
    hangupSide: HangupSide.System,
    q850Cause: CRASH_Q850,
    endReason: SERVER_CRASH,
    at: e.lastActivityMs,
  };
}

/**
 * The open leg of a journal entry: its JSON state, checked field by field; the entry's columns win for the times
 * and a field that is missing or of the wrong type falls back to null (a damaged entry still yields a record).
 */
export function restoreLeg(e: LeftOpenEntry): OpenLeg {
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

/**
 * The console's CDR views: the records that ended in a time window (default: the last 24 hours), filtered by trunk
 * and disposition, newest first and at most {@link MAX_CDR_ROWS}; as JSON rows for the table and charts, or as the
 * RFC 4180 CSV of `korus cdr export` (src/cdr/export.ts) for download.
 */
import type { ServerResponse } from "node:http";
import type { CdrRecord } from "../cdr/CdrRecord.js";
import { Disposition } from "../cdr/CdrRecord.js";
import { csvHeader, csvRow } from "../cdr/export.js";
import type { SqliteCdrStore } from "../cdr/SqliteCdrStore.js";

export const MAX_CDR_ROWS = 1000;
const DAY_MS = 24 * 3600_000;
/** The widest window a request may ask for (90 days). */
const MAX_WINDOW_MS = 90 * DAY_MS;

export interface CdrFilter {
  sinceMs: number;
  untilMs: number;
  trunk: string | null;
  disposition: Disposition | null;
}

/** The filter of a request's query (`since`, `until`: ISO times or epoch ms; `trunk`; `disposition`), or an error. */
export function parseCdrFilter(q: URLSearchParams, now: number): CdrFilter | string {
  const time = (name: string, def: number): number | string => {
    const v = q.get(name);
    if (v === null || v === "") {
      return def;
    }
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    return Number.isFinite(ms) ? ms : `${name}: not a time`;
  };
  const untilMs = time("until", now + 1);
  const sinceMs = time("since", (typeof untilMs === "number" ? untilMs : now) - DAY_MS);
  if (typeof untilMs === "string") {
    return untilMs;
  }
  if (typeof sinceMs === "string") {
    return sinceMs;
  }
  if (sinceMs >= untilMs || untilMs - sinceMs > MAX_WINDOW_MS) {
    return "since must be before until, at most 90 days apart";
  }
  const trunk = q.get("trunk");
  const given = q.get("disposition") ?? "";
  const disposition = Object.values(Disposition).find((d) => String(d) === given) ?? null;
  if (given !== "" && disposition === null) {
    return "disposition: not one of ANSWERED, NO ANSWER, BUSY, FAILED, CANCELLED";
  }
  return {
    sinceMs,
    untilMs,
    trunk: trunk === null || trunk === "" ? null : trunk.slice(0, 200),
    disposition,
  };
}

/** The matching records, newest first, at most `limit` (a ring of the latest while the store reads in order). */
export function queryCdrs(store: SqliteCdrStore, f: CdrFilter, limit = MAX_CDR_ROWS): CdrRecord[] {
  const ring: CdrRecord[] = [];
  let next = 0;
  for (const r of store.query({ sinceMs: f.sinceMs, untilMs: f.untilMs })) {
    if ((f.trunk !== null && r.trunk !== f.trunk) || (f.disposition !== null && r.disposition !== f.disposition)) {
      continue;
    }
    if (ring.length < limit) {
      ring.push(r);
    } else {
      ring[next] = r;
      next = (next + 1) % limit;
    }
  }
  return [...ring.slice(next), ...ring.slice(0, next)].reverse();
}

/** One table row: what the console shows of a record. */
export function cdrRow(r: CdrRecord): Record<string, string | number | boolean | null> {
  return {
    recordId: r.recordId,
    startTime: r.startTime,
    endTime: r.endTime,
    direction: r.direction,
    trunk: r.trunk,
    from: r.from,
    to: r.to,
    callId: r.callId,
    elementId: r.elementId,
    disposition: r.disposition,
    sipStatus: r.sipStatus,
    durationMs: r.durationMs,
    billsecMs: r.billsecMs,
    hangupSide: r.hangupSide,
    peerCodec: r.media.peerCodec,
    pipelineCodec: r.media.pipelineCodec,
    transcoded: r.media.transcoded,
    jitterMs: r.media.rx.jitterMs,
    lost: r.media.rx.lost,
    mos: r.media.mos,
    recording: r.media.recording,
  };
}

/** Writes the records as a CSV download. */
export function sendCsv(res: ServerResponse, records: readonly CdrRecord[], headers: Record<string, string>): void {
  res.writeHead(200, {
    ...headers,
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": 'attachment; filename="korus-cdrs.csv"',
    "cache-control": "no-store",
  });
  res.write(csvHeader());
  // Oldest first in the file, as `korus cdr export` writes it.
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (r !== undefined) {
      res.write(csvRow(r));
    }
  }
  res.end();
}

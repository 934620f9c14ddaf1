/**
 * Extraction of CDR fields from raw SIP header values. Every function here is total: a malformed header never
 * throws, it yields null (or the trimmed raw text for party URIs), so a carrier's odd header cannot lose a record.
 *
 * - P-Charging-Vector (RFC 7315 §4.6): `icid-value=…; icid-generated-at=…; orig-ioi=…`.
 * - Diversion (RFC 5806): each redirecting server adds an entry on top, so the **last** entry names the number
 *   originally called.
 * - History-Info (RFC 7044): entries in request order with `index` parameters; the entry with the lowest index
 *   (`1`) is the original target. A single entry means no retargeting happened.
 */
import { parseNameAddrList, type NameAddr, type Uri } from "../../sip/index.js";

/** Longest party/header value kept in a record; longer values are cut. */
export const MAX_FIELD_CHARS = 512;

const cut = (s: string): string => (s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s);

function parseList(value: string, what: string): NameAddr[] {
  const out: NameAddr[] = [];
  try {
    parseNameAddrList(value, what, out);
  } catch {
    return [];
  }
  return out;
}

/** The user part of a sip: URI or the number of a tel: URI; the whole URI otherwise. */
export function numberOf(uri: Uri): string {
  if (uri.kind === "sip") {
    return uri.user ?? uri.toString();
  }
  if (uri.kind === "tel") {
    return uri.number;
  }
  return uri.toString();
}

/**
 * The URI of a From/To/P-Asserted-Identity header value, without display name or header parameters (tags); the
 * first entry of a list. A value that does not parse is kept as trimmed text.
 */
export function partyUri(value: string | null | undefined): string | null {
  if (value === null || value === undefined || value.trim() === "") {
    return null;
  }
  const first = parseList(value, "party")[0];
  return cut(first === undefined ? value.trim() : first.uri.toString());
}

/** The `icid-value` of a P-Charging-Vector header value (quotes removed), or null when absent or empty. */
export function icidFromPChargingVector(value: string | null | undefined): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== "icid-value") {
      continue;
    }
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
      v = v.slice(1, -1);
    }
    return v === "" ? null : cut(v);
  }
  return null;
}

/**
 * A P-Charging-Vector value for a call Korus originates (RFC 7315 §4.6): `icid-value=<icid>` plus
 * `icid-generated-at` and `orig-ioi` when given.
 */
export function formatPChargingVector(icid: string, generatedAt?: string, origIoi?: string): string {
  return [
    `icid-value=${icid}`,
    ...(generatedAt ? [`icid-generated-at=${generatedAt}`] : []),
    ...(origIoi ? [`orig-ioi=${origIoi}`] : []),
  ].join(";");
}

/** The originally called number from Diversion header values (all of them, in message order), or null. */
export function originalFromDiversion(values: readonly string[]): string | null {
  const entries = values.flatMap((v) => parseList(v, "Diversion"));
  const last = entries[entries.length - 1];
  return last === undefined ? null : cut(numberOf(last.uri));
}

/** Compares History-Info indexes ("1", "1.1", "1.2.1") numerically, level by level. */
function compareIndex(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) {
      return d;
    }
  }
  return 0;
}

/** The originally called number from History-Info header values, or null when there was no retargeting. */
export function originalFromHistoryInfo(values: readonly string[]): string | null {
  const entries = values.flatMap((v) => parseList(v, "History-Info"));
  if (entries.length < 2) {
    return null;
  }
  const indexed = entries.map((e, i) => {
    const idx = e.params.get("index");
    return { e, idx: typeof idx === "string" && /^\d+(\.\d+)*$/.test(idx) ? idx : String(1_000_000 + i) };
  });
  indexed.sort((x, y) => compareIndex(x.idx, y.idx));
  const first = indexed[0];
  return first === undefined ? null : cut(numberOf(first.e.uri));
}

/** Diversion wins over History-Info when both are present (it is what US carriers bill on). */
export function originalCalledNumber(diversion: readonly string[], historyInfo: readonly string[]): string | null {
  return originalFromDiversion(diversion) ?? originalFromHistoryInfo(historyInfo);
}

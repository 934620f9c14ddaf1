/**
 * Export formats of `korus cdr export`.
 *
 * - `csv`: RFC 4180. A header row of the {@link CDR_COLUMNS} names in their documented order, then one row per
 *   record; CRLF line ends; a field containing `,`, `"`, CR or LF is quoted with `"` and its quotes doubled; null
 *   is an empty field; booleans are `true`/`false`; times are UTC ISO with ms; durations are integer ms.
 * - `jsonl`: one CdrRecord JSON object per line (LF), the reference format (sip-ims.md §7.4).
 */
import { CDR_COLUMNS, flattenCdr, type CdrRecord } from "./CdrRecord.js";

export type ExportFormat = "csv" | "jsonl";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["csv", "jsonl"];

/** One RFC 4180 field. */
export function csvField(v: string | number | boolean | null): string {
  if (v === null) {
    return "";
  }
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV header line (with CRLF). */
export function csvHeader(): string {
  return `${CDR_COLUMNS.map((c) => c.name).join(",")}\r\n`;
}

/** One CSV line (with CRLF). */
export function csvRow(r: CdrRecord): string {
  return `${flattenCdr(r).map(csvField).join(",")}\r\n`;
}

/** One JSON line (with LF). */
export function jsonLine(r: CdrRecord): string {
  return `${JSON.stringify(r)}\n`;
}

/** Lines of an export, header first for CSV. */
export function* exportLines(records: Iterable<CdrRecord>, format: ExportFormat): Generator<string> {
  if (format === "csv") {
    yield csvHeader();
  }
  for (const r of records) {
    yield format === "csv" ? csvRow(r) : jsonLine(r);
  }
}

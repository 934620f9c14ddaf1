/**
 * Export formats: RFC 4180 CSV with the documented column order, JSON lines.
 */
import t from "tap";
import { CDR_COLUMNS, CdrDirection, HangupSide, type CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder } from "../../../../src/cdr/CdrRecorder.js";
import { csvField, csvHeader, csvRow, exportLines, jsonLine } from "../../../../src/cdr/export.js";

/** A minimal RFC 4180 parser (the test oracle). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"') {
      quoted = true;
    } else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else {
      field += c;
    }
    i++;
  }
  return rows;
}

t.test("documented, stable column order", async (t) => {
  t.same(
    CDR_COLUMNS.map((c) => c.name),
    [
      "record_id",
      "linked_id",
      "call_id",
      "pipeline_id",
      "element_id",
      "icid",
      "icid_origin",
      "direction",
      "trunk",
      "from_uri",
      "to_uri",
      "pai",
      "original_called_number",
      "start_time",
      "ringing_time",
      "answer_time",
      "end_time",
      "duration_ms",
      "billsec_ms",
      "disposition",
      "sip_status",
      "q850_cause",
      "hangup_side",
      "end_reason",
      "peer_codec",
      "pipeline_codec",
      "transcoded",
      "rx_packets",
      "rx_lost",
      "rx_jitter_ms",
      "rx_max_jitter_ms",
      "tx_packets",
      "tx_lost",
      "tx_jitter_ms",
      "tx_max_jitter_ms",
      "rtt_ms",
      "r_factor",
      "mos",
      "recording",
      "bot_host",
      "bot_seconds",
      "bot_outcome",
      "bot_reason",
    ],
    "a change here breaks every consumer of the CSV: only append",
  );
  t.equal(csvHeader(), `${CDR_COLUMNS.map((c) => c.name).join(",")}\r\n`);
});

t.test("RFC 4180 quoting", async (t) => {
  t.equal(csvField(null), "");
  t.equal(csvField(true), "true");
  t.equal(csvField(12.5), "12.5");
  t.equal(csvField("+15551234"), "+15551234");
  t.equal(csvField("a,b"), '"a,b"');
  t.equal(csvField('say "hi"'), '"say ""hi"""');
  t.equal(csvField("two\r\nlines"), '"two\r\nlines"');
  t.equal(csvField("lf\nonly"), '"lf\nonly"');
});

t.test("a record with hostile text round-trips through CSV and JSON lines", async (t) => {
  const records: CdrRecord[] = [];
  const rec = new CdrRecorder({ commit: (r) => records.push(r) });
  rec.started("l", {
    direction: CdrDirection.Inbound,
    callId: 'weird,"id"\r\nwith breaks',
    from: '"Mallory, \\"M\\"" <sip:m@example.com>',
    trunk: "t,1",
  });
  rec.ended("l", { hangupSide: HangupSide.Remote, sipStatus: 404, endReason: 'x"y' });
  const r = records[0]!;
  const csv = [...exportLines(records, "csv")].join("");
  const rows = parseCsv(csv);
  t.equal(rows.length, 2, "header + one row");
  t.same(
    rows[0],
    CDR_COLUMNS.map((c) => c.name),
  );
  const row = rows[1]!;
  t.equal(row.length, CDR_COLUMNS.length);
  const byName = Object.fromEntries(CDR_COLUMNS.map((c, i) => [c.name, row[i]]));
  t.equal(byName["call_id"], r.callId);
  t.equal(byName["trunk"], "t,1");
  t.equal(byName["end_reason"], 'x"y');
  t.equal(byName["answer_time"], "", "null is empty");
  t.equal(byName["transcoded"], "false");
  t.equal(byName["sip_status"], "404");
  t.equal(csvRow(r), csv.slice(csvHeader().length));
  const jl = [...exportLines(records, "jsonl")].join("");
  t.equal(jl, jsonLine(r));
  t.equal(jl.split("\n").length, 2, "one line + final LF");
  t.same(JSON.parse(jl) as unknown, r);
});

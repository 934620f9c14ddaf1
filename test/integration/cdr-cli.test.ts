/**
 * `korus cdr export` run as a child process (`node dist/src/cli.js`; run `npm run build` first) against a
 * database that a writer holds open, with records still in the WAL, as while the server runs.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { CDR_COLUMNS, type CdrRecord } from "../../src/cdr/CdrRecord.js";
import { CDR_DB_FILE, SqliteCdrStore } from "../../src/cdr/SqliteCdrStore.js";
import { makeRecord } from "../unit/src/cdr/fixtures.js";

const CLI = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function korus(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env["PATH"], ...env }, timeout: 20_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** RFC 4180 parser used as the oracle (quoted fields may hold commas, quotes and CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
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
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), "korus-cdr-cli-"));
const dataDir = join(dir, "data");
const writer = SqliteCdrStore.open(dataDir);
const records: CdrRecord[] = Array.from({ length: 60 }, (_, i) => makeRecord(i));
for (const r of records) {
  writer.insert(r);
}
t.teardown(() => {
  writer.close();
  rmSync(dir, { recursive: true, force: true });
});
const byEnd = [...records].sort((a, b) => Date.parse(a.endTime) - Date.parse(b.endTime));

t.test("the records are still in the WAL while the writer is open", async (t) => {
  const wal = join(dataDir, `${CDR_DB_FILE}-wal`);
  t.ok(existsSync(wal) && statSync(wal).size > 0, "non-empty WAL file");
});

t.test("CSV export of a time range", async (t) => {
  const since = byEnd[10]!.endTime;
  const until = byEnd[40]!.endTime;
  const run = await korus([
    "cdr",
    "export",
    "--since",
    since,
    "--until",
    until,
    "--format",
    "csv",
    "--data-dir",
    dataDir,
  ]);
  t.equal(run.code, 0, run.stderr);
  const rows = parseCsv(run.stdout);
  t.same(
    rows[0],
    CDR_COLUMNS.map((c) => c.name),
    "header in the documented order",
  );
  const want = byEnd.filter((r) => r.endTime >= since && r.endTime < until);
  t.equal(rows.length - 1, want.length, `${want.length} rows in [since, until)`);
  const ids = rows.slice(1).map((r) => r[0]);
  t.same(
    ids,
    want.map((r) => r.recordId),
    "ordered by end time",
  );
  const first = Object.fromEntries(CDR_COLUMNS.map((c, i) => [c.name, rows[1]![i]]));
  const r0 = want[0]!;
  t.match(first, {
    call_id: r0.callId,
    to_uri: r0.to,
    start_time: r0.startTime,
    end_time: r0.endTime,
    duration_ms: String(r0.durationMs),
    billsec_ms: String(r0.billsecMs),
    disposition: r0.disposition,
    peer_codec: r0.media.peerCodec ?? "",
    transcoded: String(r0.media.transcoded),
  });
  t.ok(run.stdout.endsWith("\r\n") && !/[^\r]\n/.test(run.stdout.replace(/"[^"]*"/g, "")), "CRLF line ends");
});

t.test("JSON lines export to a file, data dir from KORUS_DATA_DIR", async (t) => {
  const out = join(dir, "out.jsonl");
  const run = await korus(["cdr", "export", "--format=jsonl", "--output", out], {
    KORUS_DATA_DIR: dataDir,
  });
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, "", "nothing on stdout");
  const lines = readFileSync(out, "utf8").split("\n");
  t.equal(lines.pop(), "", "final LF");
  t.same(
    lines.map((l) => JSON.parse(l) as CdrRecord),
    byEnd,
    "every record, whole and in end-time order",
  );
});

t.test("data dir from a config file", async (t) => {
  const cfg = join(dir, "korus.yaml");
  writeFileSync(cfg, `data:\n  dir: ${dataDir}\n`);
  const run = await korus(["cdr", "export", "--config", cfg, "--format", "jsonl", "--since", "2026-11-23"]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout.trim().split("\n").length, records.length);
});

t.test("an empty range prints only the CSV header", async (t) => {
  const run = await korus([
    "cdr",
    "export",
    "--data-dir",
    dataDir,
    "--since",
    "2020-01-01T00:00:00Z",
    "--until",
    "2020-01-02T00:00:00+01:00",
  ]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, `${CDR_COLUMNS.map((c) => c.name).join(",")}\r\n`);
});

t.test("usage and runtime errors", async (t) => {
  const cases: [string[], number, RegExp][] = [
    [["cdr", "export", "--format", "xml", "--data-dir", dataDir], 2, /--format must be csv or jsonl/],
    [["cdr", "export", "--since", "yesterday", "--data-dir", dataDir], 2, /--since must be an ISO 8601/],
    [["cdr", "export", "--since", "2026-11-23T10:00:00", "--data-dir", dataDir], 2, /ISO 8601/],
    [["cdr", "export", "--since", "2026-11-24", "--until", "2026-11-23", "--data-dir", dataDir], 2, /after --since/],
    [["cdr", "export", "--until"], 2, /--until needs a value/],
    [["cdr", "export", "--bogus"], 2, /unknown argument/],
    [["cdr", "import"], 2, /unknown command/],
    [["cdr", "export", "--data-dir", join(dir, "nope")], 1, /cannot open/],
  ];
  for (const [args, code, msg] of cases) {
    const run = await korus(args);
    t.equal(run.code, code, `exit ${code}: ${args.join(" ")}`);
    t.match(run.stderr, msg);
  }
  const help = await korus(["cdr", "export", "--help"]);
  t.equal(help.code, 0);
  t.match(help.stdout, /usage: korus cdr export/);
});

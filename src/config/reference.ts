/**
 * The README's configuration reference, generated from the schema (issue 10 §3): one row per key with its default,
 * its environment variable and its description, all read from the schema's annotations. `npm run docs:config`
 * rewrites the tables between the markers in README.md (writeReference.ts); test/unit/src/config/reference.test.ts
 * fails when README.md and the schema disagree.
 *
 * A block is `<!-- config-reference:begin NAME -->` … `<!-- config-reference:end -->`; NAME picks the rows:
 * `all` (every key of the file), a section (`cdr`: its keys), or `sip.trunks[]` (the keys of one trunk).
 */
import { KindGuard, type TObject, type TSchema } from "@sinclair/typebox";
import { annotation, TrunkSchema } from "../../sip/index.js";
import { ConfigSchema } from "./schema.js";

export interface ReferenceRow {
  readonly key: string;
  readonly default: string;
  readonly env: string;
  readonly description: string;
}

/** A default as YAML flow text: `""`, `8888`, `[a, b]`. */
function flow(value: unknown): string {
  if (value === "") {
    return '""';
  }
  if (Array.isArray(value)) {
    return `[${value.map(flow).join(", ")}]`;
  }
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

function defaultOf(schema: TSchema, required: boolean): string {
  const text = annotation(schema, "defaultText");
  if (text !== undefined) {
    return text;
  }
  if ("default" in schema) {
    return `\`${flow(schema.default)}\``;
  }
  return required ? "required" : "";
}

/** The rows of an object schema's keys, nested mappings flattened to dotted keys (`sip.tls.port`). */
export function referenceRows(schema: TObject, prefix = ""): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const required = schema.required ?? [];
  const fields: Record<string, TSchema> = schema.properties;
  for (const [key, field] of Object.entries(fields)) {
    if (KindGuard.IsObject(field)) {
      rows.push(...referenceRows(field, `${prefix}${key}.`));
      continue;
    }
    rows.push({
      key: `${prefix}${key}`,
      default: defaultOf(field, required.includes(key)),
      env: annotation(field, "env") ?? "",
      description: annotation(field, "description") ?? "",
    });
  }
  return rows;
}

/** The rows of one README block (see the file comment). */
export function blockRows(name: string): ReferenceRow[] {
  if (name === "sip.trunks[]") {
    return referenceRows(TrunkSchema);
  }
  const all = referenceRows(ConfigSchema);
  return name === "all" ? all : all.filter((r) => r.key.startsWith(`${name}.`));
}

const cell = (text: string): string => text.replace(/\|/g, "\\|");

/** A Markdown table of the rows; the trunk block has no environment column. */
export function renderTable(name: string): string {
  const withEnv = name !== "sip.trunks[]";
  const head = withEnv ? ["key", "default", "env override", "meaning"] : ["key", "default", "meaning"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`];
  for (const r of blockRows(name)) {
    const cells = withEnv
      ? [`\`${r.key}\``, r.default, r.env === "" ? "" : `\`${r.env}\``, r.description]
      : [`\`${r.key}\``, r.default, r.description];
    lines.push(`| ${cells.map(cell).join(" | ")} |`);
  }
  return lines.join("\n");
}

const BLOCK = /<!-- config-reference:begin ([^\s]+) -->\n([\s\S]*?)<!-- config-reference:end -->/g;

/** The blocks of a README: name → the text between its markers. */
export function readmeBlocks(readme: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of readme.matchAll(BLOCK)) {
    out.set(m[1] ?? "", m[2] ?? "");
  }
  return out;
}

/** The README with every block's table regenerated (format it with prettier afterwards). */
export function updateReadme(readme: string): string {
  return readme.replace(
    BLOCK,
    (_all, name: string) =>
      `<!-- config-reference:begin ${name} -->\n\n${renderTable(name)}\n\n<!-- config-reference:end -->`,
  );
}

/** The cells of a Markdown table, trimmed, without the delimiter row: padding does not matter. */
export function tableCells(markdown: string): string[][] {
  return markdown
    .split("\n")
    .filter((line) => line.trim().startsWith("|") && !/^\|[\s|:-]+\|$/.test(line.trim()))
    .map((line) =>
      line
        .trim()
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    );
}

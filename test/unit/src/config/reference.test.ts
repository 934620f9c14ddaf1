/**
 * The README's configuration tables are generated from the schema (`npm run docs:config`); this test fails when the
 * README and the schema disagree on any key, default, environment variable or description.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import t from "tap";
import {
  blockRows,
  readmeBlocks,
  referenceRows,
  renderTable,
  tableCells,
  updateReadme,
} from "../../../../src/config/reference.js";
import { ConfigSchema } from "../../../../src/config/schema.js";

const README = readFileSync(fileURLToPath(new URL("../../../../README.md", import.meta.url)), "utf8");

t.test("README.md holds the generated tables: every key, default, env variable and description", async (t) => {
  const blocks = readmeBlocks(README);
  t.same([...blocks.keys()].sort(), ["all", "cdr", "sip.trunks[]"]);
  for (const [name, text] of blocks) {
    t.same(tableCells(text), tableCells(renderTable(name)), `block ${name} (run npm run docs:config)`);
  }
});

t.test("every key of the schema has a row and a description", async (t) => {
  const keys = blockRows("all").map((r) => r.key);
  for (const k of [
    "server.port",
    "sip.tls.port",
    "sip.trunks",
    "sip.connections.fdReserve",
    "cdr.retryMaxMs",
    "modules",
  ]) {
    t.ok(keys.includes(k), k);
  }
  t.equal(new Set(keys).size, keys.length, "no key twice");
  for (const r of [...blockRows("all"), ...blockRows("sip.trunks[]")]) {
    t.not(r.description, "", `${r.key} has a description`);
  }
  t.same(
    blockRows("all")
      .filter((r) => r.env !== "")
      .map((r) => r.env),
    [
      "KORUS_WS_PORT",
      "KORUS_MEDIA_WORKERS",
      "KORUS_RTP_MIN",
      "KORUS_RTP_MAX",
      "KORUS_SIP_PORT",
      "KORUS_DATA_DIR",
      "KORUS_LOG_LEVEL",
      "KORUS_METRICS_TOKEN",
      "KORUS_CDR_POSTGRES_URL",
      "KORUS_CDR_WEBHOOK_URL",
    ],
  );
  const port = referenceRows(ConfigSchema).find((r) => r.key === "server.port");
  t.same(port, {
    key: "server.port",
    default: "`8888`",
    env: "KORUS_WS_PORT",
    description: "HTTP/WebSocket port (0 picks a free port)",
  });
  t.equal(blockRows("sip.trunks[]").find((r) => r.key === "name")?.default, "required");
  t.equal(blockRows("cdr").length, 9);
});

t.test("a README that drifted from the schema is caught, and regenerating repairs it", async (t) => {
  const drifted = README.replace("| `server.port`", "| `server.prot`").replace("`240000`", "`120000`");
  const blocks = readmeBlocks(drifted);
  t.notSame(tableCells(blocks.get("all") ?? ""), tableCells(renderTable("all")));
  const repaired = readmeBlocks(updateReadme(drifted));
  for (const [name, text] of repaired) {
    t.same(tableCells(text), tableCells(renderTable(name)), name);
  }
  t.equal(updateReadme(drifted).split("\n").length > 100, true, "the rest of the README is kept");
  t.match(updateReadme(drifted), /## Configuration reference/);
});

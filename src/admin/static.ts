/**
 * The console's static files: the page, its scripts and style (src/admin/ui/) and the two library bundles it uses
 * (cytoscape, chart.js) from node_modules. A fixed table maps each URL path to one file: no part of a request URL
 * ever reaches the filesystem. Files are read once, on first use, and kept in memory (about 0.7 MB in all).
 */
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

/** The project root, whether running from src/ (tests) or dist/src/ (built). */
const ROOT = new URL("../../", import.meta.url).pathname.endsWith("/dist/")
  ? new URL("../../../", import.meta.url)
  : new URL("../../", import.meta.url);

/**
 * The headers of every console response: scripts and styles from this origin only (no inline script), never framed,
 * no type sniffing. Cytoscape adds one small `<style>` element for its container, hence the style-src exception.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

interface StaticFile {
  file: string;
  type: string;
}

const JS = "text/javascript; charset=utf-8";
const ui = (name: string, type: string): StaticFile => ({ file: `src/admin/ui/${name}`, type });

/** URL path → file under the project root. */
export const STATIC_FILES: ReadonlyMap<string, StaticFile> = new Map([
  ["/", ui("index.html", "text/html; charset=utf-8")],
  ["/admin/ui/console.css", ui("console.css", "text/css; charset=utf-8")],
  ["/admin/ui/app.js", ui("app.js", JS)],
  ["/admin/ui/api.js", ui("api.js", JS)],
  ["/admin/ui/live.js", ui("live.js", JS)],
  ["/admin/ui/graph.js", ui("graph.js", JS)],
  ["/admin/ui/cdrs.js", ui("cdrs.js", JS)],
  ["/admin/ui/recordings.js", ui("recordings.js", JS)],
  ["/admin/vendor/cytoscape.min.js", { file: "node_modules/cytoscape/dist/cytoscape.min.js", type: JS }],
  ["/admin/vendor/chart.umd.min.js", { file: "node_modules/chart.js/dist/chart.umd.min.js", type: JS }],
]);

const cache = new Map<string, Promise<Buffer>>();

/** Answers `path` from the table; false when it is not one of the console's files. */
export async function serveStatic(path: string, res: ServerResponse): Promise<boolean> {
  const entry = STATIC_FILES.get(path);
  if (entry === undefined) {
    return false;
  }
  let body = cache.get(entry.file);
  if (body === undefined) {
    body = readFile(fileURLToPath(new URL(entry.file, ROOT)));
    cache.set(entry.file, body);
  }
  let bytes: Buffer;
  try {
    bytes = await body;
  } catch {
    cache.delete(entry.file);
    res.writeHead(404, { ...SECURITY_HEADERS, "content-type": "text/plain" }).end("Not found\n");
    return true;
  }
  res
    .writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": entry.type,
      "content-length": bytes.length,
      "cache-control": "no-cache",
    })
    .end(bytes);
  return true;
}

/**
 * Finished recordings for the console: the terminal journal entries (`<recordingsRoot>/.journal/done/<id>.json`,
 * media/record/journal.ts), newest first; a `ready` one (a local file) plays in the page.
 *
 * A recording is served by its journal id only (24 hex digits, never a path from the URL): the entry names the file,
 * which is opened with the same confinement as file media (media/files/confine.ts: realpath inside the recordings
 * root, O_NOFOLLOW, the opened descriptor checked again). One `Range: bytes=a-b` is honoured (206), so the player can
 * seek; anything else gets the whole file.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { isJournalId, JOURNAL_DIR, openConfined, type RecordingJournalData } from "../../media/index.js";
import { contentTypeOf } from "../recording/upload.js";

export const MAX_RECORDINGS = 200;
/** Entries read per listing at most (the newest by id order is not time order, so a bound on work, not a window). */
const MAX_ENTRIES_READ = 2000;
const DONE = "done";

export interface RecordingView {
  id: string;
  state: string;
  uri: string;
  profile: string;
  startedAt: string;
  durationMs: number | null;
  bytes: number | null;
  /** True when the file is local and can be played (`ready`). */
  playable: boolean;
  contentType: string;
}

async function readEntry(root: string, id: string): Promise<RecordingJournalData | undefined> {
  try {
    const data = JSON.parse(await readFile(join(root, JOURNAL_DIR, DONE, `${id}.json`), "utf8")) as unknown;
    if (typeof data !== "object" || data === null) {
      return undefined;
    }
    const e = data as Partial<RecordingJournalData>;
    return typeof e.path === "string" && typeof e.state === "string" && e.id === id
      ? (e as RecordingJournalData)
      : undefined;
  } catch {
    return undefined;
  }
}

export async function listRecordings(root: string): Promise<RecordingView[]> {
  let names: string[];
  try {
    names = await readdir(join(root, JOURNAL_DIR, DONE));
  } catch {
    return [];
  }
  const ids = names
    .filter((n) => n.endsWith(".json") && isJournalId(n.slice(0, -5)))
    .slice(0, MAX_ENTRIES_READ)
    .map((n) => n.slice(0, -5));
  const entries = (await Promise.all(ids.map((id) => readEntry(root, id)))).filter((e) => e !== undefined);
  entries.sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  return entries.slice(0, MAX_RECORDINGS).map((e) => ({
    id: e.id,
    state: e.state,
    uri: e.uri,
    profile: e.profile,
    startedAt: e.startedAt,
    durationMs: typeof e.durationMs === "number" ? e.durationMs : null,
    bytes: typeof e.bytes === "number" ? e.bytes : null,
    playable: e.state === "ready",
    contentType: contentTypeOf(extname(e.path)),
  }));
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes: [start, end] inclusive, "bad" or undefined. */
export function parseRange(header: string | undefined, size: number): [number, number] | "bad" | undefined {
  if (header === undefined) {
    return undefined;
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) {
    return undefined; // multiple or unknown ranges: the whole file (RFC 9110 §14.2 lets a server ignore Range)
  }
  const [, a = "", b = ""] = m;
  if (a === "" && b === "") {
    return "bad";
  }
  let start: number;
  let end: number;
  if (a === "") {
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === "" ? size - 1 : Math.min(Number(b), size - 1);
  }
  return start > end || start >= size ? "bad" : [start, end];
}

/** Serves recording `id`; 404 for anything that is not a ready recording inside the root. */
export async function serveRecording(
  root: string,
  id: string,
  req: IncomingMessage,
  res: ServerResponse,
  headers: Record<string, string>,
): Promise<void> {
  const notFound = (): void => {
    res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("Not found\n");
  };
  const entry = isJournalId(id) ? await readEntry(root, id) : undefined;
  if (entry?.state !== "ready") {
    notFound();
    return;
  }
  let fh;
  try {
    fh = await openConfined(entry.path, [root]);
  } catch {
    notFound();
    return;
  }
  const size = (await fh.stat()).size;
  const range = parseRange(req.headers.range, size);
  const base = {
    ...headers,
    "content-type": contentTypeOf(extname(entry.path)),
    "accept-ranges": "bytes",
    "cache-control": "no-store",
  };
  if (range === "bad") {
    await fh.close();
    res.writeHead(416, { ...base, "content-range": `bytes */${size}` }).end();
    return;
  }
  const [start, end] = range ?? [0, size - 1];
  res.writeHead(range === undefined ? 200 : 206, {
    ...base,
    "content-length": Math.max(0, end - start + 1),
    ...(range === undefined ? {} : { "content-range": `bytes ${start}-${end}/${size}` }),
  });
  if (size === 0 || req.method === "HEAD") {
    await fh.close();
    res.end();
    return;
  }
  const stream = fh.createReadStream({ start, end, autoClose: true });
  res.on("close", () => stream.destroy());
  stream.on("error", () => res.destroy());
  stream.pipe(res);
}

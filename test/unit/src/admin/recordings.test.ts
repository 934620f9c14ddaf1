/**
 * Recordings in the console (src/admin/recordings.ts): the listing of finished journal entries, and serving a
 * recording by its journal id only: Range (206/416), a file outside the recordings root (a hostile or damaged
 * entry, a symlink) or an id that is not 24 hex digits → 404.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { listRecordings, parseRange, serveRecording } from "../../../../src/admin/recordings.js";

t.test("Range parsing", async (t) => {
  t.same(parseRange(undefined, 100), undefined);
  t.same(parseRange("bytes=0-9", 100), [0, 9]);
  t.same(parseRange("bytes=90-", 100), [90, 99]);
  t.same(parseRange("bytes=-10", 100), [90, 99]);
  t.same(parseRange("bytes=50-500", 100), [50, 99], "clamped to the end");
  t.equal(parseRange("bytes=100-", 100), "bad");
  t.equal(parseRange("bytes=9-3", 100), "bad");
  t.equal(parseRange("bytes=-", 100), "bad");
  t.same(parseRange("bytes=0-1,5-6", 100), undefined, "several ranges: the whole file");
  t.same(parseRange("items=0-1", 100), undefined);
});

const root = mkdtempSync(join(tmpdir(), "korus-admin-rec-"));
const outside = mkdtempSync(join(tmpdir(), "korus-admin-outside-"));
t.teardown(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});
const done = join(root, ".journal", "done");
mkdirSync(done, { recursive: true });
const body = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff));
writeFileSync(join(root, "call.webm"), body);
writeFileSync(join(outside, "secret.webm"), "secret");
symlinkSync(join(outside, "secret.webm"), join(root, "link.webm"));

const entry = (id: string, path: string, state = "ready", startedAt = "2026-12-01T10:00:00.000Z"): void =>
  writeFileSync(
    join(done, `${id}.json`),
    JSON.stringify({ version: 1, id, state, path, uri: `file://${path}`, profile: "WEBM", startedAt, bytes: 1000 }),
  );
const GOOD = "a".repeat(24);
const OUTSIDE = "b".repeat(24);
const LINK = "c".repeat(24);
const UPLOADED = "d".repeat(24);
entry(GOOD, join(root, "call.webm"), "ready", "2026-12-01T12:00:00.000Z");
entry(OUTSIDE, join(outside, "secret.webm"));
entry(LINK, join(root, "link.webm"));
entry(UPLOADED, join(root, "call.webm"), "uploaded");
writeFileSync(join(done, `${"e".repeat(24)}.json`), "{ torn");

let server: Server;
let base = "";
t.before(async () => {
  server = createServer((req, res) => {
    const id = decodeURIComponent((req.url ?? "/").slice(1));
    void serveRecording(root, id, req, res, { "x-content-type-options": "nosniff" });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
t.teardown(() => new Promise<void>((r) => server.close(() => r())));

t.test("listing: finished entries newest first, damaged ones skipped", async (t) => {
  const list = await listRecordings(root);
  t.equal(list.length, 4);
  t.equal(list[0]?.id, GOOD, "newest first");
  t.equal(list[0]?.contentType, "video/webm");
  t.same(
    list.map((r) => r.playable),
    [true, true, true, false],
    "only ready ones play",
  );
  t.same(await listRecordings(join(root, "missing")), [], "no journal: none");
});

t.test("serving: whole file, a range, an unsatisfiable range", async (t) => {
  const whole = await fetch(`${base}/${GOOD}`);
  t.equal(whole.status, 200);
  t.equal(whole.headers.get("accept-ranges"), "bytes");
  t.equal(whole.headers.get("x-content-type-options"), "nosniff");
  t.same(Buffer.from(await whole.arrayBuffer()), body);
  const part = await fetch(`${base}/${GOOD}`, { headers: { range: "bytes=100-199" } });
  t.equal(part.status, 206);
  t.equal(part.headers.get("content-range"), "bytes 100-199/1000");
  t.same(Buffer.from(await part.arrayBuffer()), body.subarray(100, 200));
  const bad = await fetch(`${base}/${GOOD}`, { headers: { range: "bytes=5000-" } });
  t.equal(bad.status, 416);
  t.equal(bad.headers.get("content-range"), "bytes */1000");
});

t.test("confinement: nothing outside the root, nothing but journal ids", async (t) => {
  for (const id of [
    OUTSIDE,
    LINK,
    UPLOADED,
    "e".repeat(24),
    "f".repeat(24),
    "../call.webm",
    "..",
    GOOD.toUpperCase(),
  ]) {
    const r = await fetch(`${base}/${encodeURIComponent(id)}`);
    t.equal(r.status, 404, `${id} → 404`);
    t.notMatch(await r.text(), /secret/);
  }
});

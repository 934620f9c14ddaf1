/**
 * Uploads of http(s) recordings (issue 11 §1): spooled on disk, retried with backoff, exactly once.
 * - A: the receiver is down while Korus runs (attempts fail), Korus is stopped, the receiver comes up, Korus starts
 *   again: exactly one upload arrives, with the file's bytes (sha256) and its X-Korus-Recording-Id; the spool file
 *   is deleted; one "recording ready" record.
 * - B: the receiver answers 500 first, then 2xx: retried, one successful upload.
 * - C: the receiver redirects (307) to 169.254.169.254: not followed (the entry fails, the log says why).
 * Needs `npm run build`.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { writeJournalEntry, type RecordingJournalData } from "../../media/record/journal.js";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { freeTcpPort } from "../helpers/ports.js";
import { startKorus } from "../helpers/server.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Upload {
  url: string;
  method: string;
  status: number;
  id: string | undefined;
  chunked: boolean;
  sha256: string;
}

/** The receiver: answers per path (a function of the attempt number), records every request. */
async function receiver(
  t: Test,
  port: number,
  answer: (url: string, attempt: number) => { status: number; location?: string },
): Promise<{ uploads: Upload[]; ready: Record<string, unknown>[] }> {
  const uploads: Upload[] = [];
  const ready: Record<string, unknown>[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const url = req.url ?? "";
      if (url === "/cdr") {
        ready.push(JSON.parse(body.toString()) as Record<string, unknown>);
        res.writeHead(204).end();
        return;
      }
      const n = (attempts.get(url) ?? 0) + 1;
      attempts.set(url, n);
      const a = answer(url, n);
      uploads.push({
        url,
        method: req.method ?? "",
        status: a.status,
        id: req.headers["x-korus-recording-id"] as string | undefined,
        chunked: req.headers["transfer-encoding"] === "chunked",
        sha256: createHash("sha256").update(body).digest("hex"),
      });
      res.writeHead(a.status, a.location === undefined ? {} : { location: a.location }).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { uploads, ready };
}

async function spooled(root: string, id: string, uri: string, seconds: number): Promise<{ file: string; sha: string }> {
  const file = path.join(root, ".spool", `${id}.webm`);
  ffmpegSync(["-f", "lavfi", "-i", `sine=frequency=600:duration=${seconds}`, "-c:a", "libopus", "-y", file]);
  const e: RecordingJournalData = {
    version: 1,
    id,
    state: "complete",
    path: file,
    uri,
    profile: "WEBM_AUDIO_ONLY",
    startedAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    pid: 999_999,
    threadId: 2,
    durationMs: seconds * 1000,
    bytes: 1,
    tracks: ["opus"],
  };
  await writeJournalEntry(root, e);
  return { file, sha: createHash("sha256").update(readFileSync(file)).digest("hex") };
}

const until = async (cond: () => boolean, ms: number): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) {
    await sleep(100);
  }
};

t.test("uploads survive a receiver that is down and a restart, retry a 500, refuse a bad redirect", async (t) => {
  const base = mkdtempSync(path.join(os.tmpdir(), "korus-recup-"));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dataDir = path.join(base, "data");
  const root = path.join(dataDir, "recordings");
  mkdirSync(path.join(root, ".spool"), { recursive: true });
  const port = await freeTcpPort();
  const ids = { a: "a1".repeat(12), b: "b2".repeat(12), c: "c3".repeat(12) };
  const a = await spooled(root, ids.a, `http://127.0.0.1:${port}/up/a.webm`, 2);
  const config = {
    data: { dir: dataDir },
    httpMedia: { allowNetworks: ["127.0.0.0/8"] },
    cdr: { webhookUrl: `http://127.0.0.1:${port}/cdr`, retryMinMs: 100, retryMaxMs: 300 },
    recording: { scanMs: 100, upload: { retryMinMs: 100, retryMaxMs: 400, method: "PUT" } },
  };

  // 1. The receiver is down: attempts fail, nothing is lost.
  const first = await startKorus(t, { config });
  await until(() => (first.output().match(/upload failed/g) ?? []).length >= 2, 15_000);
  t.ok((first.output().match(/upload failed/g) ?? []).length >= 2, "retried while the receiver is down");
  await first.stop();
  t.ok(existsSync(a.file), "the spool file is kept");

  // 2. The receiver is up; Korus restarts on the same root.
  const { uploads, ready } = await receiver(t, port, (url, n) => {
    if (url === "/up/b.webm" && n === 1) {
      return { status: 500 };
    }
    if (url === "/up/c.webm") {
      return { status: 307, location: "http://169.254.169.254/latest/meta-data" };
    }
    return { status: 201 };
  });
  const b = await spooled(root, ids.b, `http://127.0.0.1:${port}/up/b.webm`, 1);
  await spooled(root, ids.c, `http://127.0.0.1:${port}/up/c.webm`, 1);
  const second = await startKorus(t, { config });
  await until(() => ready.length >= 2 && existsSync(path.join(root, ".journal/done", `${ids.c}.json`)), 20_000);
  await sleep(1500); // nothing more may come

  const ok = uploads.filter((u) => u.status === 201);
  t.same(ok.map((u) => u.url).sort(), ["/up/a.webm", "/up/b.webm"], "exactly one successful upload per recording");
  t.match(
    ok.find((u) => u.url === "/up/a.webm"),
    { sha256: a.sha, id: ids.a, method: "PUT", chunked: true },
  );
  t.match(
    ok.find((u) => u.url === "/up/b.webm"),
    { sha256: b.sha, id: ids.b },
  );
  t.equal(uploads.filter((u) => u.url === "/up/b.webm").length, 2, "B: a 500, then a retry");
  t.equal(uploads.filter((u) => u.url === "/up/c.webm").length, 1, "C: the redirect is not followed");
  t.notOk(existsSync(a.file), "the spool file is deleted after the upload");
  t.match(JSON.parse(readFileSync(path.join(root, ".journal/done", `${ids.a}.json`), "utf8")), {
    state: "uploaded",
    sha256: a.sha,
  });
  t.match(JSON.parse(readFileSync(path.join(root, ".journal/done", `${ids.c}.json`), "utf8")), {
    state: "failed",
    error: /redirect .* not followed/,
  });
  t.match(second.output(), /upload refused by the http policy/);
  t.same(
    ready.map((r) => r["recordId"]).sort(),
    [ids.a, ids.b].sort(),
    "one recording-ready record per uploaded recording",
  );
  t.match(
    ready.find((r) => r["recordId"] === ids.a),
    {
      kind: "recording-ready",
      uri: `http://127.0.0.1:${port}/up/a.webm`,
      sha256: a.sha,
      recovered: false,
    },
  );
});

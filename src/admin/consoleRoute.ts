/**
 * The admin console (issue 16 §2), served with `admin.enabled` and an `admin.token`:
 *
 * - `GET /` and the fixed files under `/admin/ui/` and `/admin/vendor/` (static.ts): the page, which asks for the
 *   token and logs in;
 * - `POST /admin/api/login` `{"token": "…"}` → an HttpOnly SameSite=Strict session cookie; `POST /admin/api/logout`;
 * - `GET /admin/api/session` → `{authenticated}`;
 * - read-only JSON under `/admin/api/` (cookie or `Authorization: Bearer <admin token>`): `overview`
 *   (workers, trunks, live calls with MOS), `pipelines` (graphs), `cdrs` and `cdrs.csv` (filters `since`, `until`,
 *   `trunk`, `disposition`), `recordings` and `recordings/<id>` (the file, with Range).
 *
 * Only loopback clients, or those inside `admin.allowNetworks`, reach any of it (403 otherwise). The views that ask
 * the workers are computed once for all clients polling at the same moment (at most every {@link VIEW_TTL_MS}).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CdrService } from "../cdr/CdrService.js";
import type { Logger } from "../logging/logger.js";
import type { Route } from "../rpc/JsonRpcServer.js";
import { AdminAccess, SESSION_COOKIE, SESSION_TTL_MS } from "./access.js";
import { cdrRow, parseCdrFilter, queryCdrs, sendCsv } from "./cdrs.js";
import { callViews, pipelineViews, trunkViews, workerViews, type LiveSources } from "./live.js";
import { listRecordings, serveRecording } from "./recordings.js";
import { SECURITY_HEADERS, serveStatic, STATIC_FILES } from "./static.js";

export const VIEW_TTL_MS = 500;
const MAX_LOGIN_BODY = 8192;

export interface ConsoleOptions extends LiveSources {
  token: string;
  allowNetworks: readonly string[];
  cdr: CdrService | undefined;
  recordingsRoot: string;
  version: string;
  logger: Logger;
}

const API_HEADERS = { ...SECURITY_HEADERS, "cache-control": "no-store" };

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...API_HEADERS, "content-type": "application/json" }).end(JSON.stringify(body));
}

/** A value computed at most once per `ttlMs`, shared by every caller meanwhile (one worker round-trip for all). */
function shared<T>(fn: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at >= ttlMs) {
      const value = fn();
      last = { at: now, value };
      value.catch(() => (last = undefined));
    }
    return last.value;
  };
}

async function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

const isConsolePath = (path: string): boolean =>
  STATIC_FILES.has(path) || path.startsWith("/admin/api/") || path === "/admin/api";

export function consoleRoute(o: ConsoleOptions): Route {
  const access = new AdminAccess(o.token, o.allowNetworks);
  const log = o.logger.child({ ns: "admin" });
  const overview = shared(
    async () => ({
      version: o.version,
      time: new Date().toISOString(),
      workers: workerViews(o.pool),
      respawns: o.pool.respawns,
      sessions: o.kurento.sessions.size,
      pipelines: o.kurento.objects.pipelines().length,
      trunks: trunkViews(o.sip),
      calls: await callViews(o),
      sip: o.sip !== undefined,
      cdr: o.cdr !== undefined,
    }),
    VIEW_TTL_MS,
  );
  const pipelines = shared(() => pipelineViews(o.kurento), VIEW_TTL_MS);

  const login = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) {
      json(res, 415, { error: "send the token as application/json" });
      return;
    }
    const body = await readBody(req, MAX_LOGIN_BODY);
    let token: unknown;
    try {
      token = body === undefined ? undefined : (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
    const remote = req.socket.remoteAddress ?? "";
    if (access.throttled(remote)) {
      json(res, 429, { error: "too many wrong tokens: wait a minute" });
      return;
    }
    const session = access.login(typeof token === "string" ? token : undefined, remote);
    if (session === null) {
      log.warn({ remote }, "admin console: login refused (wrong token)");
      json(res, 401, { error: "wrong token" });
      return;
    }
    res
      .writeHead(204, {
        ...API_HEADERS,
        "set-cookie": `${SESSION_COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_TTL_MS / 1000}`,
      })
      .end();
  };

  const api = async (path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const get = req.method === "GET" || req.method === "HEAD";
    if (path === "/admin/api/login" && req.method === "POST") {
      await login(req, res);
      return;
    }
    if (path === "/admin/api/session" && get) {
      // 200 either way: the page asks this first, and a 401 would be a console error on every visit.
      json(res, 200, { authenticated: access.authenticated(req) });
      return;
    }
    if (!access.authenticated(req)) {
      json(res, 401, { error: "log in with the admin token" });
      return;
    }
    if (path === "/admin/api/logout" && req.method === "POST") {
      access.logout(req);
      res.writeHead(204, {
        ...API_HEADERS,
        "set-cookie": `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`,
      });
      res.end();
      return;
    }
    if (!get) {
      json(res, 405, { error: "read-only" });
      return;
    }
    switch (path) {
      case "/admin/api/overview":
        json(res, 200, await overview());
        return;
      case "/admin/api/pipelines":
        json(res, 200, { pipelines: await pipelines() });
        return;
      case "/admin/api/recordings":
        json(res, 200, { recordings: await listRecordings(o.recordingsRoot) });
        return;
      case "/admin/api/cdrs":
      case "/admin/api/cdrs.csv": {
        if (o.cdr === undefined) {
          json(res, 404, { error: "CDRs are off (cdr.enabled)" });
          return;
        }
        const filter = parseCdrFilter(url.searchParams, Date.now());
        if (typeof filter === "string") {
          json(res, 400, { error: filter });
          return;
        }
        const records = queryCdrs(o.cdr.store, filter);
        if (path.endsWith(".csv")) {
          sendCsv(res, records, SECURITY_HEADERS);
        } else {
          json(res, 200, { records: records.map(cdrRow), since: filter.sinceMs, until: filter.untilMs });
        }
        return;
      }
    }
    const rec = /^\/admin\/api\/recordings\/([^/]+)$/.exec(path);
    if (rec?.[1] !== undefined) {
      await serveRecording(o.recordingsRoot, rec[1], req, res, SECURITY_HEADERS);
      return;
    }
    json(res, 404, { error: "no such admin API" });
  };

  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (!isConsolePath(path)) {
      return false;
    }
    if (!access.allowedSource(req)) {
      log.warn(
        { remote: req.socket.remoteAddress, path },
        "admin console: refused a client outside admin.allowNetworks",
      );
      res.writeHead(403, { ...SECURITY_HEADERS, "content-type": "text/plain" }).end("Forbidden\n");
      return true;
    }
    if (path.startsWith("/admin/api")) {
      await api(path, url, req, res);
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...SECURITY_HEADERS, allow: "GET" }).end();
      return true;
    }
    return serveStatic(path, res);
  };
}

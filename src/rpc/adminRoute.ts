/**
 * Operator routes, enabled with `admin.enabled` (off by default; bind the server to a private address when on):
 *
 * - `GET /admin/workers` → each worker's index, thread id, pipelines and load;
 * - `POST /admin/workers/<index>/kill` → terminates that worker, as a failure drill: its pipelines are reported
 *   released and a fresh worker takes its place.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WorkerPool } from "../pool/WorkerPool.js";
import type { Route } from "./JsonRpcServer.js";

export function adminRoute(pool: WorkerPool): Route {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/admin/workers" && req.method === "GET") {
      const body = pool.workers.map((w) => ({
        index: w.index,
        threadId: w.threadId,
        dead: w.dead,
        pipelines: w.pipelines.size,
        load: w.load,
        ports: [w.settings.rtpPortMin, w.settings.rtpPortMax],
      }));
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ workers: body, respawns: pool.respawns }));
      return true;
    }
    const m = /^\/admin\/workers\/(\d+)\/kill$/.exec(url.pathname);
    if (m !== null && req.method === "POST") {
      const w = pool.workers.find((x) => x.index === Number(m[1]));
      if (w === undefined) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no such worker"}');
        return true;
      }
      await w.terminate();
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ killed: w.index }));
      return true;
    }
    return false;
  };
}

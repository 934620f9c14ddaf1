/**
 * `GET /metrics`: the Prometheus text exposition of {@link KorusMetrics} (JsonRpcServer.setMetrics serves it behind
 * the `metrics.token` bearer token).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Route } from "../rpc/JsonRpcServer.js";
import type { KorusMetrics } from "./KorusMetrics.js";

export function metricsRoute(metrics: KorusMetrics): Route {
  return async (_req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const { contentType, body } = await metrics.scrape();
    res.writeHead(200, { "content-type": contentType, "cache-control": "no-store" }).end(body);
    return true;
  };
}

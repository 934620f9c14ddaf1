/**
 * Prometheus metrics (issue 16 §1): {@link KorusMetrics}, its `/metrics` route, and the wiring main.ts calls.
 */
import type { CdrService } from "../cdr/CdrService.js";
import type { KorusConfig } from "../config/schema.js";
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { WorkerPool } from "../pool/WorkerPool.js";
import { TokenAuth } from "../rpc/auth.js";
import type { JsonRpcServer } from "../rpc/JsonRpcServer.js";
import type { SipService } from "../sip/SipService.js";
import { KorusMetrics } from "./KorusMetrics.js";
import { metricsRoute } from "./metricsRoute.js";

export { KorusMetrics, type MetricsSources, type MetricsWorker } from "./KorusMetrics.js";
export { metricsRoute } from "./metricsRoute.js";

/** Who may read `/health` and `/metrics`: the `metrics.token` holder, or anyone when it is empty. */
export function monitorAuth(config: KorusConfig): TokenAuth {
  const token = config.metrics.token;
  return token === "" ? new TokenAuth("none", []) : new TokenAuth("tokens", [{ application: "metrics", token }]);
}

export interface MetricsWiring {
  config: KorusConfig;
  rpc: JsonRpcServer;
  kurento: KurentoServer;
  pool: WorkerPool;
  sip: SipService | undefined;
  cdr: CdrService | undefined;
}

/** Builds the metrics from the running services and serves them at `/metrics` (unless `metrics.enabled` is off). */
export function startMetrics(w: MetricsWiring): KorusMetrics | undefined {
  if (!w.config.metrics.enabled) {
    return undefined;
  }
  const { kurento: k, pool, sip, cdr } = w;
  const metrics = new KorusMetrics(
    {
      workers: () => pool.workers,
      objectTypes: function* () {
        for (const worker of pool.workers) {
          for (const o of k.objects.onWorker(worker)) {
            yield o.cls.name;
          }
        }
      },
      sessions: () => k.sessions.size,
      ...(cdr === undefined
        ? {}
        : {
            forEachOpenLeg: (fn) => cdr.recorder.forEachOpen(fn),
            cdrPending: () => cdr.dispatcher.pending(),
          }),
      ...(sip === undefined ? {} : { trunkStates: () => sip.trunkStates() }),
    },
    w.config.sip.trunks.map((t) => t.name),
  );
  cdr?.committedListeners.push((r) => metrics.observeCdr(r));
  w.rpc.setMetrics(metricsRoute(metrics));
  return metrics;
}

/**
 * The Prometheus metrics of Korus (issue 16 §1), served at `GET /metrics` (metricsRoute.ts) with prom-client.
 *
 * Nothing here runs per packet. Three kinds of source:
 * - **scrape time** (`collect()`): gauges read from the live state of the control plane (objects, sessions, open CDR
 *   legs, trunk states, spool backlog) and the workers' last load reports (RTP totals, transcoders, recordings,
 *   event-loop lag and utilisation; media/rtp/rtpTotals.ts). The workers' counters are summed here, on the main
 *   thread: prom-client's AggregatorRegistry is for `cluster`, not worker_threads. A worker that died keeps its
 *   last totals in a retired sum, so the counters never go down when a worker is replaced.
 * - **each finished call** (a CDR committed): `korus_sip_invites_total`, the call set-up time, the jitter and the
 *   MOS of its E-model (src/cdr/emodel.ts) are observed once per leg.
 * - **the process** (collectDefaultMetrics).
 *
 * Label values are bounded: trunk names come from the configuration only (anything else is "other"), the status
 * is the final SIP code, the element type a kmd class name, codecs the transcoder's lower-case names.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { WorkerMetricsReport } from "../../media/index.js";
import { CdrDirection, type CdrRecord } from "../cdr/CdrRecord.js";
import type { LegStart } from "../cdr/CdrRecorder.js";

/** A media worker as the metrics see it (MediaWorkerHandle). */
export interface MetricsWorker {
  readonly index: number;
  readonly threadId: number;
  readonly dead: boolean;
  readonly load: { elu: number };
  readonly metrics: WorkerMetricsReport | null;
}

/** Where the scrape-time values come from; main.ts wires the running services in. */
export interface MetricsSources {
  workers(): readonly MetricsWorker[];
  /** kmd class names of the live media objects (pipelines included). */
  objectTypes(): Iterable<string>;
  sessions(): number;
  /** The open CDR legs (calls active), if CDRs are on. */
  forEachOpenLeg?(fn: (start: Readonly<LegStart>) => void): void;
  /** Trunk name → "up" | "down" | "unknown" | "stopped", if SIP is on. */
  trunkStates?(): Record<string, string>;
  /** Records waiting per CDR sink, if CDRs are on. */
  cdrPending?(): Record<string, number>;
}

const RTP_ZERO = { audioIn: 0, videoIn: 0, audioOut: 0, videoOut: 0, lost: 0 };
type RtpTotals = typeof RTP_ZERO;

const addRtp = (into: RtpTotals, r: Readonly<RtpTotals>): void => {
  into.audioIn += r.audioIn;
  into.videoIn += r.videoIn;
  into.audioOut += r.audioOut;
  into.videoOut += r.videoOut;
  into.lost += r.lost;
};

const SIP_DIRECTIONS: ReadonlySet<string> = new Set([CdrDirection.Inbound, CdrDirection.Outbound]);

export class KorusMetrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #trunks: ReadonlySet<string>;
  /** Last report of each live worker thread, and the totals of threads that are gone. */
  readonly #lastRtp = new Map<number, RtpTotals>();
  readonly #retired: RtpTotals = { ...RTP_ZERO };
  readonly #invites: Counter<"direction" | "trunk" | "status">;
  readonly #setup: Histogram;
  readonly #jitter: Histogram;
  readonly #mos: Histogram;

  constructor(sources: MetricsSources, trunks: readonly string[]) {
    this.#sources = sources;
    this.#trunks = new Set(trunks);
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#invites = new Counter({
      name: "korus_sip_invites_total",
      help: "SIP INVITE transactions (calls) that ended, by direction, trunk and final SIP status",
      labelNames: ["direction", "trunk", "status"] as const,
      registers,
    });
    this.#setup = new Histogram({
      name: "korus_sip_call_setup_seconds",
      help: "Time from the INVITE to the answer of answered SIP calls",
      buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60],
      registers,
    });
    this.#jitter = new Histogram({
      name: "korus_rtp_jitter_seconds",
      help: "Interarrival jitter (RFC 3550) of the received audio of each finished call leg",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2],
      registers,
    });
    this.#mos = new Histogram({
      name: "korus_call_mos",
      help: "MOS estimate (ITU-T G.107 E-model) of each finished call leg with audio",
      buckets: [1, 1.5, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 5],
      registers,
    });
    this.#scrapeTimeMetrics(registers);
  }

  /** The trunk label of a trunk name: configured names only, so a peer cannot grow the series. */
  #trunk(name: string | null | undefined): string {
    if (name === null || name === undefined || name === "") {
      return "";
    }
    return this.#trunks.has(name) ? name : "other";
  }

  /** A finished call leg (CdrService.committedListeners). */
  observeCdr(r: CdrRecord): void {
    if (SIP_DIRECTIONS.has(r.direction)) {
      const status = r.sipStatus === null ? "none" : String(r.sipStatus);
      this.#invites.inc({ direction: r.direction, trunk: this.#trunk(r.trunk), status });
      if (r.answerTime !== null) {
        const s = (Date.parse(r.answerTime) - Date.parse(r.startTime)) / 1000;
        if (Number.isFinite(s) && s >= 0) {
          this.#setup.observe(s);
        }
      }
    }
    const jitterMs = r.media.rx.jitterMs;
    if (jitterMs !== null && r.media.rx.packets > 0) {
      this.#jitter.observe(jitterMs / 1000);
    }
    if (r.media.mos !== null) {
      this.#mos.observe(r.media.mos);
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** RTP totals over the live workers' last reports plus the retired ones. */
  #rtpTotals(): RtpTotals {
    const live = new Set<number>();
    for (const w of this.#sources.workers()) {
      if (!w.dead) {
        live.add(w.threadId);
        if (w.metrics !== null) {
          this.#lastRtp.set(w.threadId, { ...w.metrics.rtp });
        }
      }
    }
    for (const [thread, last] of this.#lastRtp) {
      if (!live.has(thread)) {
        addRtp(this.#retired, last);
        this.#lastRtp.delete(thread);
      }
    }
    const out = { ...this.#retired };
    for (const last of this.#lastRtp.values()) {
      addRtp(out, last);
    }
    return out;
  }

  #scrapeTimeMetrics(registers: Registry[]): void {
    const src = this.#sources;
    const trunkOf = (name: string | null | undefined): string => this.#trunk(name);
    const rtpTotals = (): RtpTotals => this.#rtpTotals();
    new Counter({
      name: "korus_rtp_packets_total",
      help: "RTP packets received (in) and sent (out) by the RTP endpoints of every worker",
      labelNames: ["direction", "kind"] as const,
      registers,
      collect() {
        const t = rtpTotals();
        this.reset();
        this.inc({ direction: "in", kind: "audio" }, t.audioIn);
        this.inc({ direction: "in", kind: "video" }, t.videoIn);
        this.inc({ direction: "out", kind: "audio" }, t.audioOut);
        this.inc({ direction: "out", kind: "video" }, t.videoOut);
      },
    });
    new Counter({
      name: "korus_rtp_lost_packets_total",
      help: "RTP packets missing from the received sequences (gaps), every worker",
      registers,
      collect() {
        const t = rtpTotals();
        this.reset();
        this.inc(t.lost);
      },
    });
    new Gauge({
      name: "korus_sip_calls_active",
      help: "SIP call legs in progress (from the INVITE to the end), by direction and trunk",
      labelNames: ["direction", "trunk"] as const,
      registers,
      collect() {
        this.reset();
        src.forEachOpenLeg?.((start) => {
          if (SIP_DIRECTIONS.has(start.direction)) {
            this.inc({ direction: start.direction, trunk: trunkOf(start.trunk) });
          }
        });
      },
    });
    new Gauge({
      name: "korus_trunk_up",
      help: "1 when the trunk answers its OPTIONS keepalive, 0 when it does not (trunks not probed are absent)",
      labelNames: ["trunk"] as const,
      registers,
      collect() {
        this.reset();
        for (const [name, state] of Object.entries(src.trunkStates?.() ?? {})) {
          if (state === "up" || state === "down") {
            this.set({ trunk: trunkOf(name) }, state === "up" ? 1 : 0);
          }
        }
      },
    });
    new Gauge({
      name: "korus_transcoders_active",
      help: "Live audio transcoding chains, by the codec decoded and the codec encoded",
      labelNames: ["from", "to"] as const,
      registers,
      collect() {
        this.reset();
        for (const w of src.workers()) {
          for (const [pair, n] of Object.entries(w.dead ? {} : (w.metrics?.transcoders ?? {}))) {
            const [from = "", to = ""] = pair.split(">");
            this.inc({ from, to }, n);
          }
        }
      },
    });
    this.#objectMetrics(registers);
    this.#workerMetrics(registers);
  }

  #objectMetrics(registers: Registry[]): void {
    const src = this.#sources;
    new Gauge({
      name: "korus_pipelines",
      help: "Live media pipelines",
      registers,
      collect() {
        let n = 0;
        for (const t of src.objectTypes()) {
          n += t === "MediaPipeline" ? 1 : 0;
        }
        this.set(n);
      },
    });
    new Gauge({
      name: "korus_elements",
      help: "Live media elements, by Kurento type",
      labelNames: ["type"] as const,
      registers,
      collect() {
        // Counted here first: one labelled set per type, not one per element (a scrape with 1000s of elements).
        const byType = new Map<string, number>();
        for (const t of src.objectTypes()) {
          if (t !== "MediaPipeline") {
            byType.set(t, (byType.get(t) ?? 0) + 1);
          }
        }
        this.reset();
        for (const [type, n] of byType) {
          this.set({ type }, n);
        }
      },
    });
    new Gauge({
      name: "korus_sessions",
      help: "Kurento sessions (kurento-client connections with a session id)",
      registers,
      collect() {
        this.set(src.sessions());
      },
    });
    new Gauge({
      name: "korus_recordings_active",
      help: "RecorderEndpoints recording or paused",
      registers,
      collect() {
        let n = 0;
        for (const w of src.workers()) {
          n += w.dead ? 0 : (w.metrics?.recordings ?? 0);
        }
        this.set(n);
      },
    });
    new Gauge({
      name: "korus_cdr_spool_pending",
      help: "Call detail records waiting for delivery, by sink",
      labelNames: ["sink"] as const,
      registers,
      collect() {
        this.reset();
        for (const [sink, n] of Object.entries(src.cdrPending?.() ?? {})) {
          this.set({ sink }, n);
        }
      },
    });
  }

  #workerMetrics(registers: Registry[]): void {
    const src = this.#sources;
    new Gauge({
      name: "korus_worker_event_loop_lag_seconds",
      help: "Mean event-loop delay of each media worker over its last load-report interval",
      labelNames: ["worker"] as const,
      registers,
      collect() {
        this.reset();
        for (const w of src.workers()) {
          if (!w.dead) {
            this.set({ worker: String(w.index) }, w.metrics?.lagSeconds ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: "korus_worker_utilization",
      help: "Event-loop utilisation (0..1) of each media worker over its last load-report interval",
      labelNames: ["worker"] as const,
      registers,
      collect() {
        this.reset();
        for (const w of src.workers()) {
          if (!w.dead) {
            this.set({ worker: String(w.index) }, w.load.elu);
          }
        }
      },
    });
  }
}

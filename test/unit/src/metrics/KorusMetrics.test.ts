/**
 * KorusMetrics with fake sources: the exposition has every metric of issue 16 §1 with its type and labels, the
 * worker counters are summed and survive a worker's replacement, label values stay bounded, and a finished call leg
 * (a CDR) moves the SIP counter and the histograms by one.
 */
import t from "tap";
import type { WorkerMetricsReport } from "../../../../media/index.js";
import { HangupSide } from "../../../../src/cdr/CdrRecord.js";
import { CdrDirection, type CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder, type LegStart } from "../../../../src/cdr/CdrRecorder.js";
import { KorusMetrics, type MetricsWorker } from "../../../../src/metrics/index.js";
import { parseExposition, sampleSum, sampleValue, type Exposition } from "../../../helpers/prometheus.js";

const report = (audioIn: number, lost = 0, extra: Partial<WorkerMetricsReport> = {}): WorkerMetricsReport => ({
  rtp: { audioIn, videoIn: 1, audioOut: audioIn * 2, videoOut: 0, lost },
  transcoders: {},
  recordings: 0,
  lagSeconds: 0.004,
  ...extra,
});

interface FakeWorker extends MetricsWorker {
  metrics: WorkerMetricsReport | null;
  dead: boolean;
}

const worker = (index: number, threadId: number, metrics: WorkerMetricsReport | null): FakeWorker => ({
  index,
  threadId,
  dead: false,
  load: { elu: 0.25 },
  metrics,
});

function setup(): {
  metrics: KorusMetrics;
  workers: FakeWorker[];
  legs: LegStart[];
  trunks: Record<string, string>;
} {
  const workers = [worker(0, 10, report(100, 3)), worker(1, 11, null)];
  const legs: LegStart[] = [];
  const trunks: Record<string, string> = { carrier: "up", backup: "down", lab: "unknown" };
  const metrics = new KorusMetrics(
    {
      workers: () => workers,
      objectTypes: () => ["MediaPipeline", "RtpEndpoint", "RtpEndpoint", "MediaPipeline", "WebRtcEndpoint"],
      sessions: () => 2,
      forEachOpenLeg: (fn) => legs.forEach(fn),
      trunkStates: () => trunks,
      cdrPending: () => ({ webhook: 4 }),
    },
    ["carrier", "backup", "lab"],
  );
  return { metrics, workers, legs, trunks };
}

const scrape = async (m: KorusMetrics): Promise<Exposition> => parseExposition((await m.scrape()).body);

t.test("every metric of the issue, with its type", async (t) => {
  const { metrics } = setup();
  const e = await scrape(metrics);
  const expected: Record<string, string> = {
    korus_sip_invites_total: "counter",
    korus_sip_calls_active: "gauge",
    korus_sip_call_setup_seconds: "histogram",
    korus_trunk_up: "gauge",
    korus_rtp_packets_total: "counter",
    korus_rtp_lost_packets_total: "counter",
    korus_rtp_jitter_seconds: "histogram",
    korus_call_mos: "histogram",
    korus_transcoders_active: "gauge",
    korus_pipelines: "gauge",
    korus_elements: "gauge",
    korus_sessions: "gauge",
    korus_recordings_active: "gauge",
    korus_cdr_spool_pending: "gauge",
    korus_worker_event_loop_lag_seconds: "gauge",
    korus_worker_utilization: "gauge",
    process_cpu_seconds_total: "counter",
    nodejs_heap_size_used_bytes: "gauge",
  };
  for (const [name, type] of Object.entries(expected)) {
    t.equal(e.types.get(name), type, name);
  }
  t.equal(sampleValue(e, "korus_pipelines"), 2);
  t.equal(sampleValue(e, "korus_elements", { type: "RtpEndpoint" }), 2);
  t.equal(sampleValue(e, "korus_elements", { type: "WebRtcEndpoint" }), 1);
  t.equal(sampleValue(e, "korus_elements", { type: "MediaPipeline" }), undefined);
  t.equal(sampleValue(e, "korus_sessions"), 2);
  t.equal(sampleValue(e, "korus_cdr_spool_pending", { sink: "webhook" }), 4);
  t.equal(sampleValue(e, "korus_trunk_up", { trunk: "carrier" }), 1);
  t.equal(sampleValue(e, "korus_trunk_up", { trunk: "backup" }), 0);
  t.equal(sampleValue(e, "korus_trunk_up", { trunk: "lab" }), undefined, "a trunk never probed is absent");
  t.equal(sampleValue(e, "korus_worker_utilization", { worker: "0" }), 0.25);
  t.equal(sampleValue(e, "korus_worker_event_loop_lag_seconds", { worker: "0" }), 0.004);
});

t.test("worker counters are summed, and a replaced worker's totals are kept", async (t) => {
  const { metrics, workers } = setup();
  let e = await scrape(metrics);
  t.equal(sampleValue(e, "korus_rtp_packets_total", { direction: "in", kind: "audio" }), 100);
  t.equal(sampleValue(e, "korus_rtp_packets_total", { direction: "out", kind: "audio" }), 200);
  t.equal(sampleValue(e, "korus_rtp_lost_packets_total"), 3);
  workers[1] = worker(1, 11, report(50, 1, { transcoders: { "pcmu>opus": 2 }, recordings: 1 }));
  e = await scrape(metrics);
  t.equal(sampleValue(e, "korus_rtp_packets_total", { direction: "in", kind: "audio" }), 150);
  t.equal(sampleValue(e, "korus_rtp_lost_packets_total"), 4);
  t.equal(sampleValue(e, "korus_transcoders_active", { from: "pcmu", to: "opus" }), 2);
  t.equal(sampleValue(e, "korus_recordings_active"), 1);
  // Worker 0 dies and a fresh thread takes its slot: its 100 packets stay counted, once.
  workers[0] = worker(0, 12, report(7));
  e = await scrape(metrics);
  t.equal(sampleValue(e, "korus_rtp_packets_total", { direction: "in", kind: "audio" }), 157);
  e = await scrape(metrics);
  t.equal(sampleValue(e, "korus_rtp_packets_total", { direction: "in", kind: "audio" }), 157, "counted once");
  t.equal(sampleValue(e, "korus_rtp_lost_packets_total"), 4);
  t.equal(sampleValue(e, "korus_transcoders_active", { from: "pcmu", to: "opus" }), 2);
});

t.test("calls active and finished calls; trunk labels come from the configuration only", async (t) => {
  const { metrics, legs } = setup();
  legs.push(
    { direction: CdrDirection.Inbound, trunk: "carrier" },
    { direction: CdrDirection.Inbound, trunk: "carrier" },
    { direction: CdrDirection.Outbound, trunk: "made-up-by-a-peer" },
    { direction: CdrDirection.WebRtc },
  );
  let clock = Date.parse("2026-12-07T10:00:00.000Z");
  const records: CdrRecord[] = [];
  const recorder = new CdrRecorder({ commit: (r) => records.push(r), now: () => clock });
  recorder.started("a", { direction: CdrDirection.Inbound, trunk: "carrier" });
  clock += 1500;
  recorder.answered("a");
  recorder.media("a", { peerCodec: "pcmu", pipelineCodec: "pcmu" });
  clock += 10_000;
  recorder.ended("a", {
    hangupSide: HangupSide.Remote,
    endReason: "bye",
    stats: { rx: { packets: 500, lost: 0, jitterMs: 3 }, tx: { packets: 500, lost: 0, jitterMs: 2 }, rttMs: 40 },
  });
  recorder.started("b", { direction: CdrDirection.Outbound, trunk: "elsewhere" });
  clock += 200;
  recorder.ended("b", { hangupSide: HangupSide.Remote, sipStatus: 486, endReason: "rejected" });
  t.equal(records.length, 2);
  for (const r of records) {
    metrics.observeCdr(r);
  }
  const e = await scrape(metrics);
  t.equal(sampleValue(e, "korus_sip_calls_active", { direction: "inbound", trunk: "carrier" }), 2);
  t.equal(sampleValue(e, "korus_sip_calls_active", { direction: "outbound", trunk: "other" }), 1);
  t.equal(sampleSum(e, "korus_sip_calls_active"), 3, "WebRTC legs are not SIP calls");
  t.equal(sampleValue(e, "korus_sip_invites_total", { direction: "inbound", trunk: "carrier", status: "200" }), 1);
  t.equal(sampleValue(e, "korus_sip_invites_total", { direction: "outbound", trunk: "other", status: "486" }), 1);
  t.equal(sampleValue(e, "korus_sip_call_setup_seconds_count"), 1);
  t.equal(sampleValue(e, "korus_sip_call_setup_seconds_sum"), 1.5);
  t.equal(sampleValue(e, "korus_sip_call_setup_seconds_bucket", { le: "1" }), 0);
  t.equal(sampleValue(e, "korus_sip_call_setup_seconds_bucket", { le: "2" }), 1);
  t.equal(sampleValue(e, "korus_rtp_jitter_seconds_count"), 1);
  t.equal(sampleValue(e, "korus_rtp_jitter_seconds_sum"), 0.003);
  const mos = records[0]?.media.mos ?? null;
  t.ok(mos !== null && mos > 4, `the answered call has a MOS (${mos})`);
  t.equal(sampleValue(e, "korus_call_mos_count"), 1);
  t.equal(sampleValue(e, "korus_call_mos_sum"), mos);
});

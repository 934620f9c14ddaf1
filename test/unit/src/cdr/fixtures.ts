/**
 * CDR test fixtures: realistic records built through the real CdrRecorder (so they pass validateCdr).
 */
import { CdrDirection, HangupSide, type CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder } from "../../../../src/cdr/CdrRecorder.js";

/**
 * The i-th test record: an answered inbound PCMA↔Opus call starting at `t0 + i·1000` ms and lasting
 * `10 + i % 7` seconds (every 5th call is busy instead). Deterministic apart from the record id.
 */
export function makeRecord(i: number, t0 = Date.parse("2026-11-23T12:00:00.000Z")): CdrRecord {
  let out: CdrRecord | null = null;
  const rec = new CdrRecorder({ commit: (r) => (out = r) });
  const start = t0 + i * 1_000;
  rec.started("leg", {
    direction: i % 2 === 0 ? CdrDirection.Inbound : CdrDirection.Outbound,
    callId: `call-${i}@test.example`,
    pipelineId: `pipe-${i}_kurento.MediaPipeline`,
    elementId: `pipe-${i}_kurento.MediaPipeline/el-${i}_korus.SipEndpoint`,
    trunk: "carrier-a",
    from: `<sip:+1555000${String(i).padStart(4, "0")}@carrier.example>;tag=${i}`,
    to: '"Korus, Inc." <sip:+15559990000@korus.example>',
    pChargingVector: i % 3 === 0 ? `icid-value=icid-${i};orig-ioi=carrier.example` : null,
    at: start,
  });
  rec.ringing("leg", start + 100);
  if (i % 5 === 4) {
    rec.ended("leg", { hangupSide: HangupSide.Remote, sipStatus: 486, endReason: "rejected", at: start + 900 });
  } else {
    rec.media("leg", { peerCodec: "PCMA", pipelineCodec: "opus" });
    rec.answered("leg", start + 2_000);
    const secs = 10 + (i % 7);
    rec.ended("leg", {
      hangupSide: HangupSide.Remote,
      reasonHeader: "Q.850;cause=16",
      endReason: "bye",
      at: start + 2_000 + secs * 1_000,
      stats: {
        rx: { packets: secs * 50 - (i % 4), lost: i % 4, jitterMs: 1.5 + (i % 3), maxJitterMs: 6 + (i % 5) },
        tx: { packets: secs * 50, lost: 0, jitterMs: 1, maxJitterMs: 2 },
        rttMs: 20,
      },
    });
  }
  if (out === null) {
    throw new Error("recorder produced no record");
  }
  return out;
}

/**
 * Simplified ITU-T G.107 E-model: anchors from the Recommendation and G.113 Appendix I, and monotonic behaviour.
 */
import t, { type Test } from "tap";
import {
  CODEC_IMPAIRMENTS,
  UNKNOWN_CODEC,
  codecImpairment,
  delayImpairment,
  effectiveEquipmentImpairment,
  estimateMos,
  mosFromR,
} from "../../../../src/cdr/emodel.js";

const near = (t: Test, got: number, want: number, eps: number, what: string): void => {
  t.ok(Math.abs(got - want) <= eps, `${what}: ${got} ≈ ${want} (±${eps})`);
};

t.test("MOS from R (G.107 Annex B)", async (t) => {
  near(t, mosFromR(93.2), 4.41, 0.005, "default R 93.2");
  near(t, mosFromR(80), 4.02, 0.005, "R 80");
  near(t, mosFromR(70), 3.6, 0.01, "R 70");
  near(t, mosFromR(50), 2.58, 0.005, "R 50");
  t.equal(mosFromR(0), 1);
  t.equal(mosFromR(-5), 1);
  t.equal(mosFromR(100), 4.5);
  t.equal(mosFromR(120), 4.5);
  t.equal(mosFromR(Number.NaN), 1, "NaN is the worst score, not NaN");
});

t.test("delay impairment Id (Cole & Rosenbluth)", async (t) => {
  t.equal(delayImpairment(0), 0);
  t.equal(delayImpairment(-10), 0);
  near(t, delayImpairment(100), 2.4, 1e-9, "100 ms");
  near(t, delayImpairment(177.3), 4.2552, 1e-9, "knee");
  near(t, delayImpairment(300), 0.024 * 300 + 0.11 * (300 - 177.3), 1e-9, "300 ms");
});

t.test("Ie,eff (G.107 eq. 7-29) with G.113 Appendix I factors", async (t) => {
  const g711 = codecImpairment("PCMA");
  t.same({ ie: g711.ie, bpl: g711.bpl, assumed: g711.assumed }, { ie: 0, bpl: 25.1, assumed: false });
  t.equal(codecImpairment("PCMU/8000").bpl, 25.1, "clock rate suffix ignored");
  t.equal(codecImpairment("opus/48000/2"), CODEC_IMPAIRMENTS["opus"]);
  t.equal(codecImpairment("G729").ie, 11);
  t.equal(codecImpairment("x-unknown"), UNKNOWN_CODEC);
  t.equal(effectiveEquipmentImpairment(g711, 0), 0, "no loss, no impairment for G.711");
  near(t, effectiveEquipmentImpairment(g711, 5), (95 * 5) / (5 + 25.1), 1e-9, "G.711 5 % random loss");
  near(t, effectiveEquipmentImpairment(codecImpairment("G729"), 2), 11 + (84 * 2) / (2 + 19), 1e-9, "G.729 2 %");
  t.ok(
    effectiveEquipmentImpairment(g711, 5, 2) > effectiveEquipmentImpairment(g711, 5, 1),
    "bursty loss hurts more than random loss",
  );
  near(t, effectiveEquipmentImpairment(g711, 100), 95 * (100 / (100 + 25.1)), 1e-9, "100 % loss");
  t.equal(effectiveEquipmentImpairment(g711, 250), effectiveEquipmentImpairment(g711, 100), "loss capped at 100 %");
});

t.test("estimateMos combines delay and loss", async (t) => {
  const clean = estimateMos({ codec: "PCMA", lossPercent: 0 });
  t.equal(clean.delayMs, 20, "G.711 frame delay only");
  near(t, clean.r, 93.2 - 0.48, 1e-9, "R = 93.2 − Id(20 ms)");
  near(t, clean.mos, 4.4, 0.01, "clean G.711 ≈ 4.40");
  t.equal(clean.assumed, false);

  const lossy = estimateMos({ codec: "PCMA", lossPercent: 5, rttMs: 100, jitterMs: 10 });
  t.equal(lossy.delayMs, 50 + 20 + 20, "RTT/2 + 2 × jitter + frame");
  near(t, lossy.r, 93.2 - 0.024 * 90 - (95 * 5) / 30.1, 1e-9, "R for 5 % loss and 90 ms");
  t.ok(lossy.mos < clean.mos, "loss lowers MOS");

  const g729 = estimateMos({ codec: "G729", lossPercent: 0 });
  t.ok(g729.mos < clean.mos, "G.729 scores below G.711");
  near(t, g729.r, 93.2 - 0.024 * 25 - 11, 1e-9, "G.729 R");

  const worse = [0, 1, 2, 5, 10, 20, 50].map((p) => estimateMos({ codec: "PCMU", lossPercent: p }).mos);
  t.same(
    worse,
    [...worse].sort((a, b) => b - a),
    "MOS falls monotonically with loss",
  );
  const garbage = estimateMos({ codec: "PCMU", lossPercent: Number.NaN, rttMs: -5, jitterMs: Infinity });
  near(t, garbage.r, clean.r, 1e-9, "non-finite or negative inputs count as 0");
  const awful = estimateMos({ codec: "PCMU", lossPercent: 100, rttMs: 2000 });
  t.equal(awful.r, 0, "R floors at 0");
  t.equal(awful.mos, 1);
});

/**
 * ReplayWindow on its own (RFC 3711 §3.3.2) at both sizes Korus uses: 128 (SDES) and 64 (the WebRTC path), against
 * a plain model (a set of accepted indices and the highest one), with jumps across the bitmap's word boundaries.
 */
import t from "tap";
import { ReplayWindow } from "../../../../media/srtp/ReplayWindow.js";
import { SrtpSession } from "../../../../media/srtp/SrtpSession.js";
import { SrtpConfigError, findSuite } from "../../../../media/srtp/SrtpSuite.js";
import { prng } from "./fixtures/srtpPeers.js";

for (const size of [64, 128]) {
  t.test(`window of ${size}: verdicts equal the model over random jumps, duplicates and late indices`, (t) => {
    const w = new ReplayWindow(size);
    t.equal(w.size, size);
    t.equal(w.highest, -1);
    const seen = new Set<number>();
    let highest = -1;
    let mismatches = 0;
    const rand = prng(size);
    let next = 1000;
    for (let i = 0; i < 20_000; i++) {
      const r = rand();
      const index =
        r < 0.7 ? next++ : r < 0.8 ? (next += Math.floor(rand() * 3 * size)) : next - Math.floor(rand() * 2 * size);
      const want = index > highest ? "ok" : highest - index >= size ? "too-old" : seen.has(index) ? "replay" : "ok";
      const got = w.check(index);
      if (got !== want && mismatches++ < 5) {
        t.fail(`index ${index} (highest ${highest}): ${got}, want ${want}`);
      }
      if (got === "ok" && rand() < 0.9) {
        w.accept(index);
        seen.add(index);
        highest = Math.max(highest, index);
      }
    }
    t.equal(mismatches, 0, `${size}: every verdict as the model says`);
    t.equal(w.highest, highest);
    t.end();
  });
}

t.test("indices beyond 2^32 (ROC above 65535) and sizes that are not a multiple of 32", (t) => {
  const w = new ReplayWindow(64);
  const big = 2 ** 40 + 5;
  t.equal(w.check(big), "ok");
  w.accept(big);
  t.equal(w.check(big), "replay");
  t.equal(w.check(big - 63), "ok");
  t.equal(w.check(big - 64), "too-old");
  t.throws(() => new ReplayWindow(48), RangeError);
  t.throws(() => new ReplayWindow(0), RangeError);
  const suite = findSuite("AES_CM_128_HMAC_SHA1_80")!;
  t.throws(() => new SrtpSession(suite, Buffer.alloc(30), { replayWindow: 100 }), SrtpConfigError);
  t.end();
});

/**
 * The shared transcoder tick: one timer serves every registered transcoder at about 20 ms, a registration twice
 * counts once, and a transcoder that leaves is not ticked again.
 */
import t from "tap";
import { startTicking, stopTicking, TICK_MS } from "../../../../media/transcode/ticker.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("one timer ticks every registered transcoder; stopTicking ends it", async (t) => {
  const a = {
    n: 0,
    tick(): void {
      this.n++;
    },
  };
  const b = {
    n: 0,
    tick(): void {
      this.n++;
    },
  };
  startTicking(a);
  startTicking(a);
  startTicking(b);
  t.teardown(() => {
    stopTicking(a);
    stopTicking(b);
  });
  await sleep(TICK_MS * 6);
  t.ok(a.n >= 2 && a.n <= 7, `a ticked ${a.n} times in ${TICK_MS * 6} ms (once per tick, not twice)`);
  t.ok(Math.abs(a.n - b.n) <= 1, "b on the same timer");
  stopTicking(a);
  const at = a.n;
  await sleep(TICK_MS * 3);
  t.equal(a.n, at, "a is not ticked after it left");
  t.ok(b.n > at, "b still is");
});

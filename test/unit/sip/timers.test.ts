/**
 * Timer table (sip/transaction/timers.ts): RFC 3261 Appendix A and RFC 6026 §8.11.
 */

import t from "tap";
import { DEFAULT_TIMER_BASE, systemClock, timerTable } from "../../../sip/index.js";

t.test("unreliable transport values (RFC 3261 Table 4, RFC 6026 §8.11)", async (t) => {
  t.same(timerTable(false), {
    T1: 500,
    T2: 4000,
    T4: 5000,
    TIMER_A: 500,
    TIMER_B: 32000,
    TIMER_C: 181000,
    TIMER_D: 32000,
    TIMER_E: 500,
    TIMER_F: 32000,
    TIMER_G: 500,
    TIMER_H: 32000,
    TIMER_I: 5000,
    TIMER_J: 32000,
    TIMER_K: 5000,
    TIMER_L: 32000,
    TIMER_M: 32000,
    TRYING_DELAY: 200,
  });
});

t.test("reliable transports: Timers D, I, J and K are zero", async (t) => {
  const r = timerTable(true);
  t.same([r.TIMER_D, r.TIMER_I, r.TIMER_J, r.TIMER_K], [0, 0, 0, 0]);
  t.same([r.TIMER_B, r.TIMER_F, r.TIMER_H, r.TIMER_L, r.TIMER_M], [32000, 32000, 32000, 32000, 32000]);
});

t.test("a larger T1 scales the 64*T1 timers; Timer D stays at least 32 s", async (t) => {
  const r = timerTable(false, { ...DEFAULT_TIMER_BASE, T1: 1000 });
  t.equal(r.TIMER_B, 64000);
  t.equal(r.TIMER_D, 64000);
  t.equal(timerTable(false, { ...DEFAULT_TIMER_BASE, T1: 100 }).TIMER_D, 32000, "MUST be at least 32 seconds");
});

t.test("the system clock schedules and cancels", async (t) => {
  const fired: string[] = [];
  // SIP timers are unref'd; keep the event loop alive while waiting.
  const keepAlive = setTimeout(() => undefined, 1000);
  const handle = systemClock.setTimeout(() => fired.push("cancelled"), 1);
  systemClock.clearTimeout(handle);
  await new Promise<void>((resolve) => {
    systemClock.setTimeout(() => {
      fired.push("ran");
      resolve();
    }, 1);
  });
  clearTimeout(keepAlive);
  t.same(fired, ["ran"]);
  t.ok(systemClock.now() > 0);
});

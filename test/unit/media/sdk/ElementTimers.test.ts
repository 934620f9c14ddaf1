import t from "tap";
import { ElementTimers } from "../../../../media/sdk/index.js";
import type { Logger } from "../../../../media/logger.js";

const errors: string[] = [];
const noop = (): void => undefined;
const logger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: (m) => errors.push(m),
  child: () => logger,
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("timers run, can be cleared, and are all cleared by closeAll", async (t) => {
  const timers = new ElementTimers(logger);
  let once = 0;
  let every = 0;
  let cleared = 0;
  timers.setTimeout(() => once++, 5);
  timers.setInterval(() => every++, 5);
  const h = timers.setTimeout(() => cleared++, 5);
  timers.clear(h);
  t.equal(timers.size, 2);
  // Poll rather than sleep a fixed time: the machine may be busy.
  for (let i = 0; i < 200 && (once === 0 || every < 2); i++) {
    await sleep(10);
  }
  t.equal(once, 1);
  t.ok(every >= 2, `the interval repeats (${every})`);
  t.equal(cleared, 0, "a cleared timer never runs");
  t.equal(timers.size, 1, "a fired timeout is forgotten");
  timers.closeAll();
  const at = every;
  await sleep(30);
  t.equal(every, at, "nothing runs after closeAll");
  t.equal(timers.size, 0);
  t.equal(
    timers.setTimeout(() => once++, 1),
    undefined,
    "no timer starts after closeAll",
  );
});

t.test("a throwing callback is logged, not thrown into the worker", async (t) => {
  const timers = new ElementTimers(logger);
  timers.setTimeout(() => {
    throw new Error("oops");
  }, 1);
  await sleep(20);
  t.match(errors, ["element timer callback failed"]);
  timers.closeAll();
});

import t from "tap";
import { DatagramChain } from "../../../../../media/endpoint/stages/DatagramStage.js";
import { MediaTimeoutStage, type MediaClock } from "../../../../../media/endpoint/stages/MediaTimeoutStage.js";
import { RateLimitedLog, type Logger } from "../../../../../media/logger.js";

/** A clock moved by hand; its interval runs at each multiple of its period that `advance` passes. */
class FakeClock implements MediaClock {
  ms = 1000;
  periods: number[] = [];
  #timer: { fn: () => void; ms: number; next: number } | undefined;

  now(): number {
    return this.ms;
  }

  every(ms: number, fn: () => void): () => void {
    this.periods.push(ms);
    const timer = { fn, ms, next: this.ms + ms };
    this.#timer = timer;
    return () => {
      if (this.#timer === timer) {
        this.#timer = undefined;
      }
    };
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  advance(ms: number): void {
    const end = this.ms + ms;
    while (this.#timer !== undefined && this.#timer.next <= end) {
      this.ms = this.#timer.next;
      this.#timer.next += this.#timer.ms;
      this.#timer.fn();
    }
    this.ms = end;
  }
}

const warned: string[] = [];
const logger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (msg) => warned.push(msg),
  error: () => undefined,
  child: () => logger,
};

function setup(timeoutMs = 1000): { clock: FakeClock; stage: MediaTimeoutStage; events: string[] } {
  const clock = new FakeClock();
  const events: string[] = [];
  const stage = new MediaTimeoutStage(
    timeoutMs,
    {
      elementId: "ep-1",
      log: new RateLimitedLog(logger),
      timeout: () => events.push(`timeout@${clock.ms}`),
      resume: () => events.push(`resume@${clock.ms}`),
    },
    clock,
  );
  return { clock, stage, events };
}

t.test("silent after the remote is set: one timeout, then valid RTP resumes", (t) => {
  const { clock, stage, events } = setup(1000);
  clock.advance(5000);
  t.same(events, [], "not armed: never fires");
  t.notOk(clock.running, "and runs no timer");
  stage.arm();
  t.same(clock.periods, [250], "a coarse check: a quarter of the timeout");
  clock.advance(1000);
  t.same(events, [], "not yet: exactly the timeout is not more than it");
  clock.advance(250);
  t.same(events, ["timeout@7250"], "fired at the first check past the timeout");
  t.ok(stage.timedOut);
  clock.advance(10_000);
  t.same(events, ["timeout@7250"], "once");
  stage.rtpValid(clock.now());
  t.same(events, ["timeout@7250", "resume@17250"], "valid RTP resumes");
  stage.rtpValid(clock.now());
  t.equal(events.length, 2, "resumes once");
  clock.advance(1250);
  t.same(events.slice(2), ["timeout@18500"], "silence again: a new timeout");
  t.end();
});

t.test("valid RTP keeps it alive (a field write, no timer reset); RTCP does not count", (t) => {
  const { clock, stage, events } = setup(1000);
  const chain = new DatagramChain([stage]);
  stage.arm();
  for (let i = 0; i < 40; i++) {
    clock.advance(100);
    chain.rtpValid(clock.now());
  }
  t.same(events, [], "RTP every 100 ms for 4 s: no timeout");
  t.same(clock.periods, [250], "one interval for the life of the stage");
  const rtcp = Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 1]);
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    t.equal(chain.rtcpIn(rtcp), rtcp, "RTCP passes the stage untouched");
  }
  t.equal(events.length, 1, "RTCP alone does not keep the media alive");
  t.match(events[0], /^timeout@/);
  t.end();
});

t.test("arm re-arms: the wait restarts from the new remote description, and one more timeout may come", (t) => {
  const { clock, stage, events } = setup(1000);
  stage.arm();
  clock.advance(750);
  stage.arm(); // a re-INVITE just before the timeout
  clock.advance(750);
  t.same(events, [], "the wait restarted at the re-arm");
  clock.advance(500);
  t.equal(events.length, 1, "then it fires");
  stage.arm(); // a new description while timed out (e.g. hold)
  t.notOk(stage.timedOut, "armed again: not timed out");
  clock.advance(1250);
  t.equal(events.length, 2, "and it may fire again, without valid RTP in between");
  t.same(clock.periods, [250], "still one interval");
  t.end();
});

t.test("close stops the interval; 0 disables; a throwing hook is contained", (t) => {
  const { clock, stage, events } = setup(1000);
  stage.arm();
  stage.close();
  t.notOk(clock.running, "the interval is stopped");
  stage.arm();
  t.notOk(clock.running, "a closed stage is not armed again");
  clock.advance(5000);
  t.same(events, []);
  stage.close();

  const off = setup(0);
  off.stage.arm();
  t.notOk(off.clock.running, "timeout 0: no timer");
  off.clock.advance(60_000);
  t.same(off.events, []);

  const clock2 = new FakeClock();
  let calls = 0;
  const throwing = new MediaTimeoutStage(
    100,
    {
      elementId: "ep-2",
      log: new RateLimitedLog(logger),
      timeout: () => {
        calls++;
        throw new Error("owner bug");
      },
      resume: () => {
        calls++;
        throw new Error("owner bug");
      },
    },
    clock2,
  );
  throwing.arm();
  t.same(clock2.periods, [50], "the check is at least every 50 ms");
  t.doesNotThrow(() => clock2.advance(200));
  t.doesNotThrow(() => throwing.rtpValid(clock2.now()));
  t.equal(calls, 2, "both hooks ran");
  t.ok(warned.includes("media timeout timeout hook failed"), "logged");
  t.end();
});

t.test("the real clock: an unref'd interval, stopped by close", async (t) => {
  const events: string[] = [];
  const stage = new MediaTimeoutStage(100, {
    elementId: "ep-3",
    log: new RateLimitedLog(logger),
    timeout: () => events.push("timeout"),
    resume: () => events.push("resume"),
  });
  t.teardown(() => stage.close());
  stage.arm();
  await new Promise((r) => setTimeout(r, 300));
  t.same(events, ["timeout"]);
  stage.rtpValid(performance.now());
  t.same(events, ["timeout", "resume"]);
});

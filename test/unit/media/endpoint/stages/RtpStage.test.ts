import t from "tap";
import { StageChain, type RtpStage } from "../../../../../media/endpoint/stages/RtpStage.js";
import { MockStream } from "./mockStream.js";

class Recorder implements RtpStage {
  readonly seen: number[] = [];
  constructor(
    readonly name: string,
    readonly log: string[],
    readonly pass: (seq: number) => boolean = () => true,
    readonly closeError?: Error,
  ) {}
  onRtp(p: { sequenceNumber: number }): boolean {
    this.seen.push(p.sequenceNumber);
    return this.pass(p.sequenceNumber);
  }
  close(): void {
    this.log.push(`close ${this.name}`);
    if (this.closeError !== undefined) {
      throw this.closeError;
    }
  }
}

t.test("stages run in order; one that holds a packet back stops the chain for it", (t) => {
  const log: string[] = [];
  const a = new Recorder("a", log);
  const b = new Recorder("b", log, (seq) => seq % 2 === 0);
  const c = new Recorder("c", log);
  const chain = new StageChain([a, b, c]);
  const s = new MockStream();
  const results = [0, 1, 2, 3].map(() => chain.run(s.next(Buffer.alloc(4))));
  t.same(results, [true, false, true, false]);
  t.same(a.seen, [1000, 1001, 1002, 1003], "the first stage sees every packet");
  t.same(b.seen, [1000, 1001, 1002, 1003]);
  t.same(c.seen, [1000, 1002], "the stage after a hold sees only what passed");
  t.ok(new StageChain([]).run(s.next(Buffer.alloc(1))), "an empty chain passes everything");
  t.end();
});

t.test("close() closes every stage and gathers every error", (t) => {
  const log: string[] = [];
  const e1 = new Error("first");
  const e2 = new Error("second");
  const chain = new StageChain([
    new Recorder("a", log, undefined, e1),
    new Recorder("b", log),
    new Recorder("c", log, undefined, e2),
  ]);
  let caught: unknown;
  try {
    chain.close();
  } catch (err) {
    caught = err;
  }
  t.same(log, ["close a", "close b", "close c"], "a failing stage does not stop the others");
  t.ok(caught instanceof AggregateError);
  t.same(caught instanceof AggregateError ? caught.errors : [], [e1, e2], "both errors reported");
  const ok = new StageChain([new Recorder("x", log)]);
  t.doesNotThrow(() => ok.close());
  t.end();
});

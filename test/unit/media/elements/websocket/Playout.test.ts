import t from "tap";
import { Playout } from "../../../../../media/elements/websocket/Playout.js";

const bytes = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

t.test("re-frames chunks of any size; a partial frame waits", (t) => {
  const p = new Playout(4, 100, 10, 0xff);
  p.pushAudio(bytes(6, 1));
  t.equal(p.queuedFrames, 1);
  p.pushAudio(bytes(2, 2));
  t.equal(p.queuedFrames, 2);
  const none = (): void => undefined;
  t.same([...p.next(none)!], [1, 1, 1, 1]);
  t.same([...p.next(none)!], [1, 1, 2, 2]);
  t.equal(p.next(none), undefined);
  t.end();
});

t.test("marks are reached in order, after the audio queued before them", (t) => {
  const p = new Playout(4, 100, 10, 0xff);
  const reached: string[] = [];
  p.pushAudio(bytes(8, 1));
  p.pushMark("a");
  p.pushAudio(bytes(2, 2)); // partial: padded when the next mark comes
  p.pushMark("b");
  p.next((m) => reached.push(m));
  t.same(reached, [], "not before its audio played");
  p.next((m) => reached.push(m));
  t.same(reached, []);
  const padded = p.next((m) => reached.push(m));
  t.same(reached, ["a"], "a once the frame after it is due");
  t.same([...padded!], [2, 2, 0xff, 0xff], "the partial frame is padded with silence");
  t.equal(
    p.next((m) => reached.push(m)),
    undefined,
  );
  t.same(reached, ["a", "b"]);
  t.end();
});

t.test("clear drops the audio and returns the pending marks", (t) => {
  const p = new Playout(4, 100, 10, 0);
  p.pushAudio(bytes(40, 1));
  p.pushMark("x");
  p.pushAudio(bytes(40, 1));
  p.pushMark("y");
  t.same(p.clear(), ["x", "y"]);
  t.equal(p.queuedFrames, 0);
  t.equal(p.pendingMarks, 0);
  t.equal(
    p.next(() => t.fail("no mark after clear")),
    undefined,
  );
  t.end();
});

t.test("clearMarks keeps the audio", (t) => {
  const p = new Playout(4, 100, 10, 0);
  p.pushAudio(bytes(8, 1));
  p.pushMark("x");
  p.pushAudio(bytes(4, 1));
  t.same(p.clearMarks(), ["x"]);
  t.equal(p.queuedFrames, 3);
  t.end();
});

t.test("bounded: frames and marks past the caps are dropped and counted", (t) => {
  const p = new Playout(4, 3, 2, 0);
  t.equal(p.pushAudio(bytes(20, 1)), 2, "two of five frames dropped");
  t.equal(p.queuedFrames, 3);
  t.equal(p.droppedFrames, 2);
  t.ok(p.pushMark("a"));
  t.ok(p.pushMark("b"));
  t.notOk(p.pushMark("c"));
  t.equal(p.droppedMarks, 1);
  t.end();
});

t.test("a long stream does not grow the array (compaction)", (t) => {
  const p = new Playout(2, 10, 10, 0);
  let wrong = 0;
  for (let i = 0; i < 5000; i++) {
    p.pushAudio(bytes(2, i & 0xff));
    wrong += p.next(() => undefined)?.[0] === (i & 0xff) ? 0 : 1;
  }
  t.equal(wrong, 0, "every frame comes out in order");
  t.equal(p.queuedFrames, 0);
  t.end();
});

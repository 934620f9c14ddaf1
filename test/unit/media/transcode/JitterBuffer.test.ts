/**
 * The reordering jitter buffer in front of the transcoder's decoder: in-order packets pass at once, a gap waits for
 * at most maxHold newer packets or maxWaitMs, reordered packets play in order, losses become concealment calls,
 * late and duplicate packets are dropped, sequence wrap is seamless and big jumps restart the stream.
 */
import t from "tap";
import { JitterBuffer } from "../../../../media/transcode/JitterBuffer.js";

function recorder(opts = {}): { jb: JitterBuffer<string>; out: string[] } {
  const out: string[] = [];
  const jb = new JitterBuffer<string>(
    { packet: (item, seq) => out.push(`${item}@${seq}`), lost: (seq) => out.push(`lost@${seq}`) },
    opts,
  );
  return { jb, out };
}

t.test("in order: each packet is released immediately", async (t) => {
  const { jb, out } = recorder();
  for (let s = 10; s < 15; s++) {
    jb.push(s, `p${s}`, 0);
    t.equal(out.at(-1), `p${s}@${s}`, `packet ${s} out at once`);
  }
  t.equal(jb.held, 0);
  t.same(jb.stats, { released: 5, lost: 0, late: 0, duplicates: 0, reordered: 0, resets: 0 });
});

t.test("a swapped pair plays in order; a late and a duplicate packet are dropped", async (t) => {
  const { jb, out } = recorder();
  jb.push(1, "a", 0);
  jb.push(3, "c", 1);
  t.same(out, ["a@1"], "3 is held while 2 is missing");
  jb.push(2, "b", 2);
  t.same(out, ["a@1", "b@2", "c@3"], "2 unblocks 3");
  jb.push(2, "b-again", 3);
  jb.push(5, "e", 4);
  jb.push(5, "e-dup", 5);
  t.equal(jb.stats.late, 1, "2 after 3 was played: late");
  t.equal(jb.stats.duplicates, 1, "5 twice while held: duplicate");
  t.equal(jb.stats.reordered, 1);
});

t.test("a loss is declared after maxHold newer packets and concealed once per missing packet", async (t) => {
  const { jb, out } = recorder({ maxHold: 2 });
  jb.push(100, "a", 0);
  jb.push(103, "d", 1);
  jb.push(104, "e", 2);
  t.same(out, ["a@100"], "two held: still waiting for 101, 102");
  jb.push(105, "f", 3);
  t.same(out, ["a@100", "lost@101", "lost@102", "d@103", "e@104", "f@105"]);
  t.equal(jb.stats.lost, 2);
  jb.push(101, "b-late", 4);
  t.equal(jb.stats.late, 1, "the missing packet arriving after all is late");
});

t.test("flush declares the gap lost after maxWaitMs even if nothing newer comes", async (t) => {
  const { jb, out } = recorder({ maxWaitMs: 60 });
  jb.push(1, "a", 0);
  jb.push(3, "c", 10);
  jb.flush(50);
  t.same(out, ["a@1"], "not yet");
  jb.flush(70);
  t.same(out, ["a@1", "lost@2", "c@3"], "60 ms after 3 arrived, 2 is given up");
});

t.test("sequence wrap is seamless; a big jump restarts without concealment", async (t) => {
  const { jb, out } = recorder();
  jb.push(65534, "a", 0);
  jb.push(65535, "b", 0);
  jb.push(0, "c", 0);
  jb.push(1, "d", 0);
  t.same(out, ["a@65534", "b@65535", "c@0", "d@1"], "wrap");
  jb.push(30000, "x", 0);
  t.equal(out.at(-1), "x@30000", "a jump of 30000 restarts at the new packet");
  t.equal(jb.stats.resets, 1);
  t.equal(jb.stats.lost, 0, "nothing concealed for a restart");
  jb.push(29990, "back", 0);
  t.equal(jb.stats.late, 1, "slightly older than the restart point: late");
  jb.push(5000, "y", 0);
  t.equal(out.at(-1), "y@5000", "a jump far backwards is a restart too");
  t.equal(jb.stats.resets, 2);
});

t.test("a long gap conceals at most maxConceal frames", async (t) => {
  const { jb, out } = recorder({ maxConceal: 3, maxHold: 0 });
  jb.push(1, "a", 0);
  jb.push(20, "t", 0);
  t.same(out, ["a@1", "lost@2", "lost@3", "lost@4", "t@20"]);
  t.equal(jb.stats.lost, 18, "all 18 missing packets counted as lost");
});

import t from "tap";
import { FRAME_MS, Pacer } from "../../../../../media/elements/websocket/Pacer.js";
import { Playout } from "../../../../../media/elements/websocket/Playout.js";

/** A playout + pacer on a fake clock; frames carry their index (2 bytes), silence is undefined. */
function rig(): {
  p: Playout;
  pacer: Pacer;
  played: { idx: number | undefined; at: number }[];
  marks: { name: string; at: number }[];
  skipped: number[];
  now: () => number;
  advance: (ms: number) => void;
  tick: () => void;
  push: (idx: number, n?: number) => void;
} {
  let clock = 1000;
  const p = new Playout(4, 3000, 100, 0);
  const played: { idx: number | undefined; at: number }[] = [];
  const marks: { name: string; at: number }[] = [];
  const skipped: number[] = [];
  const pacer = new Pacer(
    p,
    {
      play: (f, at) => played.push({ idx: f === undefined ? undefined : f[0]! | (f[1]! << 8), at }),
      skip: (n) => skipped.push(n),
    },
    (name) => marks.push({ name, at: clock }),
    clock,
  );
  return {
    p,
    pacer,
    played,
    marks,
    skipped,
    now: () => clock,
    advance: (ms) => {
      clock += ms;
    },
    tick: () => pacer.tick(clock),
    push: (idx, n = 1) => {
      const b = new Uint8Array(4 * n);
      for (let k = 0; k < n; k++) {
        b[4 * k] = (idx + k) & 0xff;
        b[4 * k + 1] = (idx + k) >> 8;
      }
      p.pushAudio(b);
      pacer.audio(clock);
    },
  };
}

const audio = (played: { idx: number | undefined }[]): number[] =>
  played.flatMap((x) => (x.idx === undefined ? [] : [x.idx]));

t.test("silence every frame time while the bot sends nothing (no dead air)", (t) => {
  const r = rig();
  for (let i = 0; i < 50; i++) {
    r.advance(FRAME_MS);
    r.tick();
  }
  t.ok(r.played.length >= 48 && r.played.length <= 50, `${r.played.length} silence frames in 1 s`);
  t.same(audio(r.played), []);
  t.end();
});

t.test("a bot streaming at real time is played on arrival, not at the tick's phase", (t) => {
  const r = rig();
  let idx = 0;
  const delays: number[] = [];
  for (let i = 0; i < 200; i++) {
    r.advance(7); // the bot's phase: 7 ms after the tick
    const at = r.now();
    const before = r.played.length;
    r.push(idx++);
    if (r.played.length > before) {
      delays.push(r.played.at(-1)!.at - at);
    }
    r.advance(FRAME_MS - 7);
    r.tick();
  }
  t.same(audio(r.played), [...Array(200).keys()], "every frame, in order");
  t.equal(delays.length, 200, "each left when it arrived");
  t.equal(r.p.trimmedFrames, 0);
  t.equal(r.played.filter((x) => x.idx === undefined).length <= 2, true, "no silence in the middle of the stream");
  t.end();
});

t.test("a TTS burst (seconds sent at once) is played in full, in order, one frame per frame time", (t) => {
  const r = rig();
  r.advance(3);
  r.push(0, 150); // 3 s of audio
  r.p.pushMark("end");
  for (let i = 0; i < 200; i++) {
    r.advance(FRAME_MS);
    r.tick();
  }
  t.same(audio(r.played), [...Array(150).keys()], "all 150 frames, in order");
  t.equal(r.p.trimmedFrames, 0, "nothing trimmed");
  const firstAt = r.played[0]!.at;
  const lastAt = r.played.filter((x) => x.idx !== undefined).at(-1)!.at;
  t.ok(lastAt - firstAt >= 148 * FRAME_MS, `paced over ${lastAt - firstAt} ms`);
  t.equal(r.marks.length, 1);
  t.ok(r.marks[0]!.at > lastAt, "the mark is reached after its audio played");
  t.end();
});

t.test("a burst followed by real-time streaming keeps its lead (not trimmed)", (t) => {
  const r = rig();
  r.advance(3);
  r.push(0, 50); // 1 s lead
  let idx = 50;
  for (let i = 0; i < 150; i++) {
    r.advance(FRAME_MS);
    r.push(idx++);
    r.tick();
  }
  t.equal(r.p.trimmedFrames, 0, "the lead is the bot's: played in full");
  t.same(audio(r.played), [...Array(audio(r.played).length).keys()], "in order, none missing");
  t.end();
});

t.test("a pause then a burst then real-time streaming: the pause is no debt, the lead is kept", (t) => {
  const r = rig();
  let idx = 0;
  for (let i = 0; i < 100; i++) {
    r.advance(FRAME_MS);
    r.push(idx++);
    r.tick();
  }
  for (let i = 0; i < 100; i++) {
    r.advance(FRAME_MS); // 2 s of pause
    r.tick();
  }
  r.push(idx, 40); // 0.8 s lead
  idx += 40;
  for (let i = 0; i < 150; i++) {
    r.advance(FRAME_MS);
    r.push(idx++);
    r.tick();
  }
  t.equal(r.p.trimmedFrames, 0, "nothing trimmed");
  t.same(audio(r.played), [...Array(audio(r.played).length).keys()], "in order, none missing");
  t.end();
});

t.test("a stall's standing backlog behind a real-time bot is trimmed; marks still fire in order", (t) => {
  const r = rig();
  let idx = 0;
  const arrived = new Map<number, number>();
  const step = (deliver: boolean): void => {
    r.advance(5);
    if (deliver) {
      arrived.set(idx, r.now());
      r.push(idx++);
    }
    r.advance(FRAME_MS - 5);
    r.tick();
  };
  for (let i = 0; i < 50; i++) {
    step(true);
  }
  // The bot's audio is late by 8 frames (a stall upstream): silence plays meanwhile, then the 8 arrive at once
  // (7, a mark, 1, a mark): no more audio than real time, only late.
  for (let i = 0; i < 8; i++) {
    step(false);
  }
  r.advance(2);
  for (let k = 0; k < 7; k++) {
    arrived.set(idx, r.now());
    r.push(idx++);
  }
  r.p.pushMark("m1");
  r.push(idx++);
  arrived.set(idx - 1, r.now());
  r.p.pushMark("m2");
  for (let i = 0; i < 150; i++) {
    step(true);
  }
  t.ok(r.p.trimmedFrames >= 4 && r.p.trimmedFrames <= 8, `${r.p.trimmedFrames} frames trimmed`);
  const out = r.played.filter((x) => x.idx !== undefined);
  const lateTail = out.slice(-50).map((x) => x.at - arrived.get(x.idx!)!);
  t.ok(Math.max(...lateTail) < FRAME_MS, `the last second leaves within ${Math.max(...lateTail)} ms of arrival`);
  const idxs = out.map((x) => x.idx!);
  t.ok(
    idxs.every((x, i) => i === 0 || x > idxs[i - 1]!),
    "the frames that play are in order",
  );
  t.same(
    r.marks.map((m) => m.name),
    ["m1", "m2"],
    "marks in order",
  );
  t.end();
});

t.test("after a stall queued audio catches up; missed slots with nothing queued are skipped, not silence", (t) => {
  const r = rig();
  for (let i = 0; i < 10; i++) {
    r.advance(FRAME_MS);
    r.push(i);
    r.tick();
  }
  const before = r.played.length;
  r.advance(120); // the event loop stalled; the bot streamed on
  r.push(10, 3); // read before the tick (the tick runs after the poll phase)
  r.tick();
  const burst = r.played.slice(before);
  t.same(audio(burst), [10, 11, 12], "the queued audio leaves at once");
  t.ok(burst.length <= 4, `no silence for the missed slots (${burst.length} frames)`);
  t.ok(r.skipped.reduce((a, b) => a + b, 0) >= 1, "the RTP clock skipped the missed slots");
  t.end();
});

t.test("clear: silence at once; the cleared audio never plays", (t) => {
  const r = rig();
  r.push(0, 100);
  for (let i = 0; i < 10; i++) {
    r.advance(FRAME_MS);
    r.tick();
  }
  r.advance(5);
  r.p.clear();
  const n = r.played.length;
  r.pacer.cleared(r.now());
  for (let i = 0; i < 5; i++) {
    r.advance(FRAME_MS);
    r.tick();
  }
  const after = r.played.slice(n);
  t.ok(after.length >= 1 && after[0]!.at - r.played[n - 1]!.at <= FRAME_MS, "the next frame is due within 20 ms");
  t.same(audio(after), [], "only silence after the clear");
  t.end();
});

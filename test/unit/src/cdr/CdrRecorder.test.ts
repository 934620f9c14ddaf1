/**
 * CdrRecorder: partial updates keyed by leg id produce one validated record per leg, on a fake clock.
 */
import t from "tap";
import {
  CdrDirection,
  CdrError,
  Disposition,
  HangupSide,
  IcidOrigin,
  validateCdr,
  type CdrRecord,
} from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder } from "../../../../src/cdr/CdrRecorder.js";

const T0 = Date.parse("2026-11-23T20:00:00.000Z");

function setup(): { rec: CdrRecorder; committed: CdrRecord[]; clock: { now: number }; errors: unknown[] } {
  const committed: CdrRecord[] = [];
  const errors: unknown[] = [];
  const clock = { now: T0 };
  let n = 0;
  const rec = new CdrRecorder({
    commit: (r) => committed.push(r),
    onCommitError: (err) => errors.push(err),
    now: () => clock.now,
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
  });
  return { rec, committed, clock, errors };
}

t.test("an answered inbound call with headers, codecs and stats", async (t) => {
  const { rec, committed, clock } = setup();
  const id = rec.started("leg-1", {
    direction: CdrDirection.Inbound,
    callId: "a84b4c76e66710@pc33.example",
    pipelineId: "p1_kurento.MediaPipeline",
    elementId: "p1_kurento.MediaPipeline/e1_korus.SipEndpoint",
    trunk: "carrier-a",
    from: '"Alice" <sip:+15551230000@carrier.example;user=phone>;tag=9fxced76sl',
    to: "<sip:+15559870000@korus.example>",
    pai: "<tel:+15551230000>",
    pChargingVector: "icid-value=AyretyU0dm;icid-generated-at=192.0.6.8",
    diversion: ["<sip:+15550000001@carrier.example>;reason=unconditional"],
  });
  t.equal(id, "00000000-0000-4000-8000-000000000001");
  t.equal(rec.openLegs, 1);
  clock.now = T0 + 120;
  t.equal(rec.ringing("leg-1"), true);
  clock.now = T0 + 500;
  rec.ringing("leg-1"); // a second 18x does not move the ringing time
  rec.media("leg-1", { peerCodec: "PCMA", pipelineCodec: "opus" });
  clock.now = T0 + 3_250;
  rec.answered("leg-1");
  clock.now = T0 + 63_250;
  const r = rec.ended("leg-1", {
    hangupSide: HangupSide.Remote,
    reasonHeader: 'Q.850;cause=16;text="Normal call clearing"',
    endReason: "bye",
    stats: {
      rx: { packets: 2970, lost: 30, jitterMs: 4.5, maxJitterMs: 12.25 },
      tx: { packets: 3000, lost: 0, jitterMs: 2, maxJitterMs: 3 },
      rttMs: 40,
    },
  });
  t.ok(r !== null);
  const rec1 = r!;
  t.doesNotThrow(() => validateCdr(rec1), "valid record");
  t.same(committed, [rec1], "committed once");
  t.equal(rec.openLegs, 0);
  t.match(rec1, {
    recordId: id,
    callId: "a84b4c76e66710@pc33.example",
    linkedId: "p1_kurento.MediaPipeline",
    icid: "AyretyU0dm",
    icidOrigin: IcidOrigin.Received,
    direction: CdrDirection.Inbound,
    trunk: "carrier-a",
    from: "sip:+15551230000@carrier.example;user=phone",
    to: "sip:+15559870000@korus.example",
    pai: "tel:+15551230000",
    originalCalledNumber: "+15550000001",
    startTime: "2026-11-23T20:00:00.000Z",
    ringingTime: "2026-11-23T20:00:00.120Z",
    answerTime: "2026-11-23T20:00:03.250Z",
    endTime: "2026-11-23T20:01:03.250Z",
    durationMs: 63_250,
    billsecMs: 60_000,
    disposition: Disposition.Answered,
    sipStatus: 200,
    q850Cause: 16,
    hangupSide: HangupSide.Remote,
    endReason: "bye",
    media: {
      peerCodec: "PCMA",
      pipelineCodec: "opus",
      transcoded: true,
      rx: { packets: 2970, lost: 30, jitterMs: 4.5, maxJitterMs: 12.25 },
      tx: { packets: 3000, lost: 0 },
      rttMs: 40,
      recording: null,
    },
  });
  // rx loses 1 % (30 of 3000 expected) with 4.5 ms jitter: the worse direction sets the MOS.
  t.ok(rec1.media.mos !== null && rec1.media.mos > 3.9 && rec1.media.mos < 4.4, `MOS ${rec1.media.mos}`);
  t.equal(rec.ended("leg-1", { hangupSide: HangupSide.Local }), null, "a second end is ignored");
  t.equal(committed.length, 1, "still exactly one record");
});

t.test("an outbound call that is never answered generates an icid and derives the cause", async (t) => {
  const { rec, committed, clock } = setup();
  const outId = rec.started("out", {
    direction: CdrDirection.Outbound,
    callId: "c2",
    to: "sip:+4930123@trunk.example",
  });
  const icid = rec.icid("out");
  t.equal(icid, outId.replace(/-/g, ""), "icid known at the start, for the outgoing P-Charging-Vector");
  t.equal(rec.icid("nope"), null);
  clock.now += 2_000;
  const r = rec.ended("out", { hangupSide: HangupSide.Remote, sipStatus: 486, endReason: "rejected" })!;
  t.equal(r.disposition, Disposition.Busy);
  t.equal(r.q850Cause, 17, "derived from 486 per RFC 3398");
  t.equal(r.icidOrigin, IcidOrigin.Generated);
  t.match(r.icid, /^[0-9a-f]{32}$|^[0-9-]+$/);
  t.equal(r.icid, icid, "the record carries the icid handed out at the start");
  t.equal(r.billsecMs, 0);
  t.equal(r.durationMs, 2_000);
  t.equal(r.answerTime, null);
  t.equal(r.media.mos, null, "no media, no MOS");
  t.equal(r.media.transcoded, false);
  t.equal(committed.length, 1);
});

t.test("an inbound call whose 2xx is never ACKed is taken back: NO ANSWER (408), not billed", async (t) => {
  const { rec, clock } = setup();
  rec.started("in", { direction: CdrDirection.Inbound, callId: "c3" });
  clock.now += 1_000;
  rec.answered("in");
  clock.now += 32_000;
  t.equal(rec.unanswered("in"), true);
  t.equal(rec.unanswered("nope"), false, "an unknown leg");
  const r = rec.ended("in", { hangupSide: HangupSide.Local, sipStatus: 408, q850Cause: 102, endReason: "no-ack" })!;
  t.equal(r.disposition, Disposition.NoAnswer, "the caller never saw the call connect");
  t.equal(r.answerTime, null);
  t.equal(r.billsecMs, 0, "nothing billed");
  t.equal(r.durationMs, 33_000);
  t.equal(r.endReason, "no-ack");
});

t.test("ring timeout and caller CANCEL", async (t) => {
  const { rec, clock } = setup();
  rec.started("a", { direction: CdrDirection.Outbound });
  rec.started("b", { direction: CdrDirection.Inbound });
  rec.ringing("a");
  rec.ringing("b");
  clock.now += 30_000;
  const a = rec.ended("a", { hangupSide: HangupSide.System, sipStatus: 487, endReason: "ring-timeout" })!;
  const b = rec.ended("b", { hangupSide: HangupSide.Remote, sipStatus: 487, endReason: "cancel" })!;
  t.equal(a.disposition, Disposition.NoAnswer);
  t.equal(b.disposition, Disposition.Cancelled);
});

t.test("WebRTC session, explicit transcoded flag, recording, endAll on worker death", async (t) => {
  const { rec, committed, clock } = setup();
  rec.started("w1", { direction: CdrDirection.WebRtc, pipelineId: "p", elementId: "p/w1" });
  rec.started("w2", { direction: CdrDirection.WebRtc, pipelineId: "p", elementId: "p/w2" });
  clock.now += 800;
  rec.answered("w1");
  rec.media("w1", { peerCodec: "opus", pipelineCodec: "opus", recording: "file:///data/rec/w1.webm" });
  rec.media("w2", { peerCodec: "opus", pipelineCodec: "OPUS", transcoded: true });
  clock.now += 10_000;
  const ended = rec.endAll({ hangupSide: HangupSide.System, endReason: "worker-died", q850Cause: 41 });
  t.equal(ended.length, 2);
  t.equal(rec.openLegs, 0);
  t.same(
    committed.map((r) => [r.elementId, r.disposition, r.callId, r.media.transcoded, r.media.recording]),
    [
      ["p/w1", Disposition.Answered, null, false, "file:///data/rec/w1.webm"],
      ["p/w2", Disposition.Failed, null, true, null],
    ],
  );
  t.equal(committed[0]!.q850Cause, 41, "given cause wins over normal clearing");
  t.equal(committed[0]!.sipStatus, 200, "answered leg keeps its 2xx status");
  t.equal(committed[1]!.sipStatus, null);
});

t.test("endWhere ends only the matching legs (a dead worker's pipelines)", async (t) => {
  const { rec, committed } = setup();
  rec.started("s1", { direction: CdrDirection.Inbound, pipelineId: "p-dead" });
  rec.started("s2", { direction: CdrDirection.Outbound, pipelineId: "p-alive" });
  rec.started("w1", { direction: CdrDirection.WebRtc, pipelineId: "p-dead" });
  rec.answered("s1");
  const dead = new Set(["p-dead"]);
  const ended = rec.endWhere((_id, s) => dead.has(s.pipelineId ?? ""), {
    hangupSide: HangupSide.System,
    endReason: "worker-died",
    q850Cause: 41,
  });
  t.same(
    ended.map((r) => [r.pipelineId, r.endReason, r.hangupSide]),
    [
      ["p-dead", "worker-died", HangupSide.System],
      ["p-dead", "worker-died", HangupSide.System],
    ],
  );
  t.same(committed, ended);
  t.equal(rec.openLegs, 1);
  t.ok(rec.has("s2"), "the other pipeline's leg stays open");
});

t.test("times are clamped into order and commit failures are reported", async (t) => {
  const committed: CdrRecord[] = [];
  const errors: unknown[] = [];
  let first = true;
  const rec = new CdrRecorder({
    commit: (r) => {
      if (first) {
        first = false;
        throw new Error("disk full");
      }
      committed.push(r);
    },
    onCommitError: (err) => errors.push(err),
    now: () => T0,
  });
  rec.started("x", { direction: CdrDirection.Inbound, at: T0 + 1_000 });
  rec.ringing("x", T0); // before the start: clamped
  rec.answered("x", new Date(T0 + 500));
  const r = rec.ended("x", { hangupSide: HangupSide.Local, at: T0 + 200.6 })!; // before the answer: clamped
  t.equal(r.startTime, r.ringingTime);
  t.equal(r.answerTime, r.endTime);
  t.equal(r.durationMs, 0);
  t.doesNotThrow(() => validateCdr(r));
  t.equal(errors.length, 1, "commit error reported");
  t.equal(committed.length, 0);
  t.throws(() => rec.started("y", { direction: CdrDirection.Inbound, at: Number.NaN }), CdrError);
  rec.started("z", { direction: CdrDirection.Inbound });
  t.throws(() => rec.started("z", { direction: CdrDirection.Inbound }), CdrError, "duplicate leg id");
  t.equal(rec.ringing("nope"), false);
  t.equal(rec.answered("nope"), false);
  t.equal(rec.media("nope", { peerCodec: "PCMU" }), false);
  t.equal(rec.ended("nope", { hangupSide: HangupSide.Local }), null);
});

t.test("validateCdr rejects inconsistent records", async (t) => {
  const { rec } = setup();
  rec.started("v", { direction: CdrDirection.Inbound });
  const good = rec.ended("v", { hangupSide: HangupSide.Remote, sipStatus: 404 })!;
  const bad: [string, Partial<CdrRecord>][] = [
    ["time without ms", { endTime: "2026-11-23T20:00:00Z" }],
    ["end before start", { endTime: "2026-11-23T19:00:00.000Z", durationMs: -3_600_000 }],
    ["duration mismatch", { durationMs: 5 }],
    ["billsec without answer", { billsecMs: 10 }],
    ["ANSWERED without answer time", { disposition: Disposition.Answered }],
    ["empty icid", { icid: "" }],
  ];
  for (const [name, patch] of bad) {
    t.throws(() => validateCdr({ ...good, ...patch }), CdrError, name);
  }
});

t.test("a voice-bot stream: STREAMING periods add up, the outcome is CLOSED or FAILED with its reason", async (t) => {
  const { rec, committed, clock } = setup();
  rec.started("a", { direction: CdrDirection.Inbound });
  rec.started("b", { direction: CdrDirection.Inbound });
  rec.started("c", { direction: CdrDirection.Inbound });
  t.equal(rec.bot("nope", { state: "CONNECTING" }), false);
  for (const leg of ["a", "b"]) {
    rec.answered(leg);
    rec.bot(leg, { host: "bot.example:8443", state: "CONNECTING" });
  }
  clock.now = T0 + 200;
  rec.bot("a", { state: "STREAMING" });
  rec.bot("b", { state: "STREAMING" });
  clock.now = T0 + 1_200;
  rec.bot("b", { state: "CONNECTING", reason: "socket closed" }); // dropped: retrying
  clock.now = T0 + 2_000;
  rec.bot("b", { state: "STREAMING" });
  clock.now = T0 + 2_500;
  rec.bot("b", { state: "CONNECTING" });
  clock.now = T0 + 4_000;
  rec.bot("b", { state: "FAILED", reason: "bot unreachable for 1.5 s" });
  clock.now = T0 + 5_000;
  for (const leg of ["a", "b", "c"]) {
    rec.ended(leg, { hangupSide: HangupSide.Remote, endReason: "bye" });
  }
  const [a, b, c] = committed;
  t.same(a?.bot, { host: "bot.example:8443", seconds: 4.8, outcome: "CLOSED", reason: null }, "streamed to the end");
  t.same(b?.bot, { host: "bot.example:8443", seconds: 1.5, outcome: "FAILED", reason: "bot unreachable for 1.5 s" });
  t.equal(c?.bot, null, "a leg without a bot");
  for (const r of committed) {
    validateCdr(r);
  }
});

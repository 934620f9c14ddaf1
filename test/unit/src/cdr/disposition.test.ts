/**
 * Disposition derivation (a pure function of the final status, cause, hang-up side and end reason) and the Q.850
 * helpers (RFC 3398 mapping, RFC 3326 Reason header).
 */
import t from "tap";
import { Disposition, HangupSide } from "../../../../src/cdr/CdrRecord.js";
import { deriveDisposition, q850FromReasonHeader, q850FromSipStatus } from "../../../../src/cdr/disposition.js";

const facts = (over: Partial<Parameters<typeof deriveDisposition>[0]>): Parameters<typeof deriveDisposition>[0] => ({
  answered: false,
  sipStatus: null,
  q850Cause: null,
  hangupSide: HangupSide.Remote,
  endReason: null,
  ...over,
});

t.test("dispositions", async (t) => {
  const cases: [string, Parameters<typeof deriveDisposition>[0], Disposition][] = [
    ["answered, remote BYE", facts({ answered: true, sipStatus: 200, q850Cause: 16 }), Disposition.Answered],
    ["answered even with an odd cause", facts({ answered: true, sipStatus: 200, q850Cause: 41 }), Disposition.Answered],
    ["486 Busy Here", facts({ sipStatus: 486 }), Disposition.Busy],
    ["600 Busy Everywhere", facts({ sipStatus: 600 }), Disposition.Busy],
    ["603 Decline", facts({ sipStatus: 603 }), Disposition.Busy],
    ["Q.850 17 without a status", facts({ q850Cause: 17 }), Disposition.Busy],
    ["480 Temporarily Unavailable", facts({ sipStatus: 480 }), Disposition.NoAnswer],
    ["408 Request Timeout", facts({ sipStatus: 408 }), Disposition.NoAnswer],
    ["Q.850 19 no answer", facts({ sipStatus: 503, q850Cause: 19 }), Disposition.NoAnswer],
    [
      "ring timeout (Korus cancelled)",
      facts({ sipStatus: 487, hangupSide: HangupSide.System, endReason: "ring-timeout" }),
      Disposition.NoAnswer,
    ],
    ["487 caused by a system timer", facts({ sipStatus: 487, hangupSide: HangupSide.System }), Disposition.NoAnswer],
    ["caller CANCEL (487)", facts({ sipStatus: 487, hangupSide: HangupSide.Remote }), Disposition.Cancelled],
    [
      "app hangup() before answer",
      facts({ sipStatus: 487, hangupSide: HangupSide.Local, endReason: "cancel" }),
      Disposition.Cancelled,
    ],
    ["cancel without a status", facts({ endReason: "cancel" }), Disposition.Cancelled],
    ["404 unknown extension", facts({ sipStatus: 404, hangupSide: HangupSide.Local }), Disposition.Failed],
    ["503 from the trunk", facts({ sipStatus: 503, q850Cause: 41 }), Disposition.Failed],
    ["no response at all", facts({ hangupSide: HangupSide.System, endReason: "timeout" }), Disposition.Failed],
    ["WebRTC session never connected", facts({ hangupSide: HangupSide.Local }), Disposition.Failed],
  ];
  for (const [name, f, want] of cases) {
    t.equal(deriveDisposition(f), want, name);
  }
});

t.test("Q.850 cause from the SIP status (RFC 3398 §8.2.6.1)", async (t) => {
  t.equal(q850FromSipStatus(404), 1);
  t.equal(q850FromSipStatus(486), 17);
  t.equal(q850FromSipStatus(480), 18);
  t.equal(q850FromSipStatus(408), 102);
  t.equal(q850FromSipStatus(503), 41);
  t.equal(q850FromSipStatus(603), 21);
  t.equal(q850FromSipStatus(200), 16);
  t.equal(q850FromSipStatus(499), null, "unmapped");
});

t.test("Q.850 cause from a Reason header (RFC 3326)", async (t) => {
  t.equal(q850FromReasonHeader('Q.850;cause=16;text="Normal call clearing"'), 16);
  t.equal(q850FromReasonHeader("q.850 ; cause = 41"), 41, "case and whitespace");
  t.equal(q850FromReasonHeader('SIP;cause=487;text="Request Terminated", Q.850;cause=31'), 31, "second reason");
  t.equal(q850FromReasonHeader("SIP;cause=200"), null, "no Q.850 reason");
  t.equal(q850FromReasonHeader("Q.850;cause=999"), null, "out of range");
  t.equal(q850FromReasonHeader("Q.850;cause=abc"), null, "not a number");
  t.equal(q850FromReasonHeader(";;;,,,=="), null, "garbage never throws");
  t.equal(q850FromReasonHeader(""), null);
});

/**
 * An inbound call whose offer the media side cannot serve: 503 Service Unavailable with Retry-After and Q.850 cause 34
 * when media resources ran out (MediaUnavailableError: no free RTP port), so the carrier retries elsewhere; 488 Not
 * Acceptable Here for any other refusal (e.g. no common codec).
 */
import t from "tap";
import { SipResponse, type TerminationInfo } from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const TARGET = "sip:+4930123456@192.0.2.2:5060";

for (const [refuse, status] of [
  ["resources", 503],
  [true, 488],
] as const) {
  t.test(`processOffer refused (${String(refuse)}) → ${status}`, async (t) => {
    const { clock, net, a, b, mediaB } = pair();
    b.on("incomingCall", (session) => {
      const m = mediaB.at(-1);
      if (m !== undefined) {
        m.refuse = refuse;
      }
      void session.answer();
    });
    let info: TerminationInfo | undefined;
    const out = a.call(TARGET, { from: "sip:+441632960001@192.0.2.1", media: new TestMedia("192.0.2.1", 40000) });
    out.on("terminated", (i) => (info = i));
    await clock.run(500);
    const final = net.log.map((w) => w.message).find((m) => m instanceof SipResponse && m.status >= 300);
    t.ok(final instanceof SipResponse, "a final error response was sent");
    const res = final as SipResponse;
    t.equal(res.status, status);
    t.equal(info?.status, status, "the caller's session ended with it");
    if (status === 503) {
      t.equal(res.getHeader("Retry-After"), "7", "Retry-After from the error");
      t.match(res.getHeader("Reason") ?? "", /cause=34/, "Q.850 cause 34: no circuit/channel available");
    } else {
      t.equal(res.getHeader("Retry-After"), undefined, "no Retry-After for a codec refusal");
    }
  });
}

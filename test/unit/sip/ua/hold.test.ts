/**
 * Hold and resume through InviteSession.hold()/unhold() (issue 15 §2, sip/ua/SessionHold.ts) between two in-process
 * user agents on the stepping fake clock: the direction asked of the media handler (sendonly, inactive when the peer
 * holds us too, sendrecv to resume), the `hold` events of both sides, UPDATE when asked and allowed, and a session
 * refresh during a hold that keeps it.
 */

import t from "tap";
import { SessionState, type HoldState, type InviteSession, type OfferRequest } from "../../../../sip/index.js";
import { pair, TestMedia } from "./harness.js";

const TARGET = "sip:+4930123456@192.0.2.2:5060";
const FROM = "sip:+441632960001@192.0.2.1";

/** A media handler that records the direction each offer was asked for, and writes it into the SDP. */
class DirectionMedia extends TestMedia {
  readonly directions: (string | undefined)[] = [];

  override getOffer(request: OfferRequest): string {
    this.directions.push(request.direction);
    const sdp = super.getOffer(request);
    return request.direction === undefined ? sdp : sdp.replace(/a=(sendrecv|sendonly)/, `a=${request.direction}`);
  }
}

async function connected(): Promise<
  ReturnType<typeof pair> & { out: InviteSession; inc: InviteSession; media: DirectionMedia }
> {
  const p = pair({});
  let inc: InviteSession | undefined;
  p.b.on("incomingCall", (session) => {
    inc = session;
    void session.answer();
  });
  const media = new DirectionMedia("192.0.2.1", 40000);
  const out = p.a.call(TARGET, { from: FROM, media });
  await p.clock.run(20);
  if (inc === undefined || out.state !== SessionState.Confirmed) {
    throw new Error("call not connected");
  }
  return { ...p, out, inc, media };
}

t.test("hold() offers sendonly, unhold() sendrecv; both sides report their hold state", async (t) => {
  const { clock, net, out, inc, media } = await connected();
  const a: HoldState[] = [];
  const b: HoldState[] = [];
  out.on("hold", (s) => a.push(s));
  inc.on("hold", (s) => b.push(s));
  await out.hold();
  await clock.run(20);
  t.same(out.holdState, { local: true, remote: false });
  t.same(inc.holdState, { local: false, remote: true });
  t.match(media.remote, /a=recvonly/, "the peer answered recvonly");
  await out.unhold();
  await clock.run(20);
  t.same(media.directions.slice(-2), ["sendonly", "sendrecv"]);
  t.same(a, [
    { local: true, remote: false },
    { local: false, remote: false },
  ]);
  t.same(b, [
    { local: false, remote: true },
    { local: false, remote: false },
  ]);
  t.same(net.what().slice(3), ["INVITE", "200 INVITE", "ACK", "INVITE", "200 INVITE", "ACK"], "re-INVITEs");
});

t.test("hold while held: our offer is inactive (RFC 6337 §5.3)", async (t) => {
  const { clock, out, inc, media } = await connected();
  await inc.hold();
  await clock.run(20);
  t.same(out.holdState, { local: false, remote: true });
  await out.hold();
  await clock.run(20);
  t.equal(media.directions.at(-1), "inactive");
  t.same(out.holdState, { local: true, remote: true });
  await out.unhold();
  await clock.run(20);
  t.equal(media.directions.at(-1), "sendrecv");
  t.same(out.holdState, { local: false, remote: true }, "the peer still holds us");
});

t.test("hold({update: true}) sends an UPDATE when the peer allows it", async (t) => {
  const { clock, net, out, inc } = await connected();
  await out.hold({ update: true });
  await clock.run(20);
  t.same(net.what().slice(3), ["UPDATE", "200 UPDATE"]);
  t.same(inc.holdState, { local: false, remote: true });
  t.same(out.holdState, { local: true, remote: false });
});

t.test("a plain re-offer during a hold leaves the hold state alone", async (t) => {
  const { clock, out } = await connected();
  await out.hold();
  await clock.run(20);
  await out.reinvite({ refresh: true });
  await clock.run(20);
  t.same(out.holdState, { local: true, remote: false });
});

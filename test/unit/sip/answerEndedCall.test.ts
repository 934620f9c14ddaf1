/**
 * Issue 9, defect 10: answering an incoming call whose INVITE transaction already ended (CANCEL raced the answer, or
 * the caller is gone) is a SipLegError, which SipService answers 40107 (MEDIA_OBJECT_ILLEGAL_PARAM_ERROR) instead of
 * 40003 with a "request failed unexpectedly" warning; the dial plan then logs the ended call at debug level.
 */
import t from "tap";
import { TransactionStateError, type InviteSession } from "../../../sip/index.js";
import type { SipEndpointMedia } from "../../../src/sip/SipEndpointMedia.js";
import { SipLeg, SipLegError } from "../../../src/sip/SipLeg.js";

const none = (): Promise<null> => Promise.resolve(null);
const media: SipEndpointMedia = { offer: none, answer: none, processOffer: none, setDtmfMode: none, injectDtmf: none };

function fakeSession(answer: () => Promise<void>, termination: unknown = undefined): InviteSession {
  const s = { role: "uas", callId: "c@x", termination, on: () => s, answer };
  return s as unknown as InviteSession;
}

t.test("answer() on a call whose INVITE transaction ended", async (t) => {
  const warnings: string[] = [];
  const leg = new SipLeg("e", "p", {
    media,
    emit: () => undefined,
    warn: (m) => warnings.push(m),
  });
  leg.bind(
    fakeSession(() => Promise.reject(new TransactionStateError("InviteServerTransaction", "Terminated", "Completed"))),
    undefined,
    "sip:a@x",
  );
  const err = await leg.answer().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof SipLegError, `a SipLegError (${String(err)})`);
});

t.test("other failures of answer() still propagate", async (t) => {
  const leg = new SipLeg("e", "p", {
    media,
    emit: () => undefined,
    warn: () => undefined,
  });
  leg.bind(
    fakeSession(() => Promise.reject(new RangeError("boom"))),
    undefined,
    "sip:a@x",
  );
  await t.rejects(leg.answer(), RangeError);
});

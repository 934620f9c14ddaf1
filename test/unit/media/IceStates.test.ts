/**
 * IceComponentStateChanged follows KMS's order (kurento-protocol.md, elements.kmd IceComponentState):
 * nothing while only the SDP is processed, GATHERING on gatherCandidates(), CONNECTING when checks start,
 * then CONNECTED and READY once a pair is selected.
 */
import t from "tap";
import {
  Harness,
  invoke,
  makePeer,
  offerFromPeer,
  trickleTo,
  waitConnected,
  withoutCandidates,
} from "./fixtures/webrtcHarness.js";

t.test("ICE states: none during processOffer, then GATHERING → CONNECTING → CONNECTED → READY", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const ep = await h.endpoint();
  const peer = makePeer();
  t.teardown(async () => {
    await peer.close();
    h.pipeline.release();
  });
  const states = (): string[] => h.eventsOf(ep, "IceComponentStateChanged").map((e) => e["state"] as string);
  const { sdp } = await offerFromPeer(peer);
  const answer = (await invoke(ep, "processOffer", { offer: sdp })) as string;
  await new Promise((r) => setTimeout(r, 300));
  t.same(states(), [], "no ICE component state before gatherCandidates() and before any check");
  await peer.setRemoteDescription({ type: "answer", sdp: answer });
  await invoke(ep, "gatherCandidates");
  trickleTo(h, ep, peer);
  await waitConnected(peer);
  await h.waitEvent(ep, "IceComponentStateChanged", (d) => d["state"] === "READY");
  t.same(states(), ["GATHERING", "CONNECTING", "CONNECTED", "READY"], "KMS's order");
  const iReady = h.events.findIndex((e) => e.event === "IceComponentStateChanged" && e.data["state"] === "READY");
  const iPair = h.events.findIndex((e) => e.event === "NewCandidatePairSelected");
  t.ok(iPair >= 0 && iPair < iReady, "the selected pair is announced before READY");
});

t.test("an offer with a=end-of-candidates but no candidates still connects with trickled ones", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const ep = await h.endpoint();
  const peer = makePeer();
  t.teardown(async () => {
    await peer.close();
    h.pipeline.release();
  });
  const { sdp } = await offerFromPeer(peer);
  const candidates = sdp.split("\r\n").filter((l) => l.startsWith("a=candidate:") && l.includes(" 127.0.0.1 "));
  t.ok(candidates.length > 0, "the peer has loopback candidates to trickle");
  // The offer announces that gathering is over although it carries no candidate (seen from some clients).
  const offer = withoutCandidates(sdp).replace(/(a=mid:[^\r\n]+)/g, "$1\r\na=end-of-candidates");
  t.match(offer, /a=end-of-candidates/);
  const answer = (await invoke(ep, "processOffer", { offer })) as string;
  await peer.setRemoteDescription({ type: "answer", sdp: answer });
  await invoke(ep, "gatherCandidates");
  trickleTo(h, ep, peer);
  for (const c of candidates) {
    await invoke(ep, "addIceCandidate", { candidate: { candidate: c.slice(2), sdpMid: "0", sdpMLineIndex: 0 } });
  }
  await waitConnected(peer);
  await h.waitEvent(ep, "IceComponentStateChanged", (d) => d["state"] === "READY");
  t.notOk(
    h.eventsOf(ep, "IceComponentStateChanged").some((e) => e["state"] === "FAILED"),
    "ICE never failed",
  );
});

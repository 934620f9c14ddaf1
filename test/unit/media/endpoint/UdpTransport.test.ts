/**
 * UdpTransport's datagram stages in place, through an RtpEndpoint and a "phone" of UDP sockets on 127.0.0.1: what
 * keeps the media timeout alive (valid RTP, even while the endpoint does not receive; not RTCP alone).
 */
import t from "tap";
import { buildReceiverReport } from "../../../../media/rtp/Rtcp.js";
import { Phone, RtpHarness, invoke, sleep, until } from "../rtp/fixtures/rtpHarness.js";

const payload = Buffer.alloc(160, 0xd5);

t.test("media timeout: RTP while the endpoint does not receive keeps it alive; RTCP alone does not", async (t) => {
  const h = await RtpHarness.create();
  const ep = await h.rtp({ mediaTimeoutMs: 300 });
  const phone = await Phone.open();
  t.teardown(() => {
    phone.close();
    h.close();
  });
  const states = (): unknown[] => h.eventsOf(ep, "MediaStateChanged").map((d) => d["newState"]);
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  let seq = 1;
  phone.send(8, seq++, 0, 9, payload);
  await until(() => states().length === 1);
  t.same(states(), ["CONNECTED"]);

  // The phone only wants to receive: the endpoint answers sendonly and delivers nothing, but the phone's RTP is
  // still valid (as the socket sees it: it latches), so the media is not timed out.
  const answer = (await invoke(ep, "processOffer", {
    offer: phone.offer({ direction: "recvonly" }).replace("o=phone 1 1", "o=phone 1 2"),
  })) as string;
  t.match(answer, /a=sendonly/);
  for (let i = 0; i < 18; i++) {
    phone.send(8, seq++, seq * 160, 9, payload);
    await sleep(50);
  }
  t.same(states(), ["CONNECTED"], "900 ms of RTP the endpoint does not receive: no timeout");

  for (let i = 0; i < 16; i++) {
    phone.raw(buildReceiverReport({ ssrc: 9, reports: [] }), true);
    await sleep(50);
  }
  await until(() => states().length === 2);
  t.same(states(), ["CONNECTED", "DISCONNECTED"], "RTCP alone does not keep the media alive");
});

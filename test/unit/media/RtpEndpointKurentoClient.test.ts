/**
 * RtpEndpoint through the whole server with kurento-client 7.3.0 (the real npm package): create with an SDES
 * `crypto` ctor param (validated against the official elements descriptor), processOffer of an SRTP phone's
 * offer, connect(self), SRTP both ways from a UDP phone on 127.0.0.1, MediaStateChanged delivered to the client,
 * getStats records, generateOffer on a plain endpoint, and the Kurento error for a bad SDP. Run `npm run build`
 * first (the server runs from dist/).
 */
import { randomBytes } from "node:crypto";
import t from "tap";
import { SrtpSession } from "../../../media/srtp/SrtpSession.js";
import { findSuite } from "../../../media/srtp/SrtpSuite.js";
import {
  cb,
  cbError,
  connect,
  connectClient,
  createPipeline,
  kurento,
  type Callback,
  type KEvent,
  type MediaElement,
} from "../../helpers/kurento.js";
import { startKorus } from "../../helpers/server.js";
import { Phone, sleep, until } from "./rtp/fixtures/rtpHarness.js";

interface RtpEndpointProxy extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
  generateOffer(callback: Callback<string>): void;
  getStats(mediaType: string, callback: Callback<Record<string, Record<string, unknown>>>): void;
}

t.test("kurento-client creates and drives an SDES RtpEndpoint", async (t) => {
  t.setTimeout(90_000);
  const server = await startKorus(t, { workers: 1 });
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  const suite = findSuite("AES_CM_128_HMAC_SHA1_80");
  if (suite === undefined) {
    throw new Error("suite");
  }
  const epKey = randomBytes(30);
  const ep = (await cb<MediaElement>((done) =>
    pipeline.create(
      "RtpEndpoint",
      {
        crypto: kurento.getComplexType("SDES")({
          crypto: "AES_128_CM_HMAC_SHA1_80",
          keyBase64: epKey.toString("base64"),
        }),
      },
      done,
    ),
  )) as RtpEndpointProxy;
  const states: KEvent[] = [];
  ep.on("MediaStateChanged", (e) => states.push(e));
  await sleep(100); // let the subscription reach the server
  const phone = await Phone.open();
  t.teardown(() => phone.close());
  const phoneKey = randomBytes(30);
  const answer = await cb<string>((done) =>
    ep.processOffer(
      phone.offer({
        proto: "RTP/SAVP",
        extra: [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${phoneKey.toString("base64")}`],
      }),
      done,
    ),
  );
  t.match(answer, /m=audio \d+ RTP\/SAVP 8 101/);
  t.match(
    answer,
    new RegExp(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${epKey.toString("base64").replace(/\+/g, "\\+")}`),
  );
  await connect(ep, ep);
  phone.aimAt(answer);
  phone.srtpOut = new SrtpSession(suite, phoneKey);
  phone.srtpIn = new SrtpSession(suite, epKey);
  for (let i = 0; i < 25; i++) {
    phone.send(8, i, 160 * i, 0x42, Buffer.from(`frame-${i}`.padEnd(160, "~")));
    await sleep(5);
  }
  await until(() => phone.received.length >= 25, 5000);
  t.equal(phone.received.length, 25, "25 SRTP packets looped back through the server");
  t.same(phone.srtpErrors, []);
  t.equal(phone.received[24]?.payload.subarray(0, 8).toString(), "frame-24");
  await until(() => states.length > 0, 3000);
  t.equal(states[0]?.["newState"], "CONNECTED", "MediaStateChanged reached kurento-client");
  const stats = await cb<Record<string, Record<string, unknown>>>((done) => ep.getStats("AUDIO", done));
  const inbound = Object.values(stats).find((r) => r["type"] === "inboundrtp");
  t.equal(inbound?.["packetsReceived"], 25, "inboundrtp record through the client");

  const plain = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;
  const offer = await cb<string>((done) => plain.generateOffer(done));
  t.match(offer, /m=audio \d+ RTP\/AVP /);
  t.match(offer, /m=video \d+ RTP\/AVP /);
  const again = await cbError((done) => plain.processOffer(offer, done));
  t.equal(again.code, 40208, "processOffer after generateOffer: SDP_END_POINT_ALREADY_NEGOTIATED");
  const fresh = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;
  const bad = await cbError((done) => fresh.processOffer("not an sdp", done));
  t.equal(bad.code, 40201, "an unparsable offer: SDP_PARSE_ERROR");
});

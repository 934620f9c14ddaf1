/**
 * Issue 9, item 10 (one item): a malformed WebRTC SDP got 40205 with the WebRTC library's internal text (werift's
 * "Cannot read properties of undefined (reading 'iceParams')"). Now Korus's own parser reads every remote
 * description before werift does: 40201 with Korus's message naming the line or what is missing; werift's text
 * is logged at debug only.
 *
 * Attack level: processOffer / processAnswer of a WebRtcEndpoint in a real media worker, as the JSON-RPC layer
 * sends them.
 */
import { readFileSync } from "node:fs";
import t from "tap";
import { reserveRtpRange } from "../helpers/ports.js";
import { settingsFor } from "../unit/media/rtp/fixtures/rtpHarness.js";
import { MediaWorker, sdpOf } from "./fixtures/mediaWorker.js";

const chrome = readFileSync(new URL("../fixtures/sdp/chrome-offer.sdp", import.meta.url), "utf8");

/** Text of werift's (or V8's) own exceptions, which must never reach a client. */
const LIBRARY_TEXT = /Cannot read|undefined|null|iceParams|TypeError|werift|is not a function/;

t.test("malformed WebRTC SDP: 40201 with Korus's own message", async (t) => {
  t.setTimeout(60_000);
  const range = await reserveRtpRange();
  const w = await MediaWorker.start(settingsFor(range));
  t.teardown(async () => {
    await w.terminate();
    range.release();
  });
  await w.must({ method: "pipeline.create", params: { pipelineId: "p" } });

  const offers: [string, string, RegExp][] = [
    ["no ICE credentials", chrome.replace(/a=ice-(ufrag|pwd):[^\r\n]*\r?\n/g, ""), /m= section 0 has no a=ice-ufrag/],
    [
      "m= line without formats",
      chrome.replace(/^m=audio 9 UDP\/TLS\/RTP\/SAVPF [^\r\n]*/m, "m=audio 9 UDP/TLS/RTP/SAVPF"),
      /line 8: m= lists no formats/,
    ],
    [
      "a truncated candidate",
      chrome.replace(/^a=candidate:2999745851[^\r\n]*/m, "a=candidate:1 1 udp"),
      /line 11: candidate must be/,
    ],
    [
      "a broken fingerprint",
      chrome.replace(/^a=fingerprint:[^\r\n]*/m, "a=fingerprint:sha-256 zz"),
      /fingerprint must be/,
    ],
  ];
  let n = 0;
  for (const [name, sdp, message] of offers) {
    const id = `p/${n++}`;
    await w.create("p", id, "WebRtcEndpoint");
    const r = await w.invoke(id, "processOffer", { offer: sdp });
    t.match(r, { ok: false, code: 40201, message }, `processOffer, ${name}: 40201 naming the problem`);
    t.notMatch(r.ok ? "" : r.message, LIBRARY_TEXT, `processOffer, ${name}: no library text in the message`);
    await w.must({ method: "object.release", params: { objectId: id } });
  }

  // An answer without ICE credentials to our own offer.
  await w.create("p", "p/answer", "WebRtcEndpoint");
  const answer = sdpOf(await w.invoke("p/answer", "generateOffer", {}))
    .replace(/a=setup:actpass/g, "a=setup:active")
    .replace(/a=ice-(ufrag|pwd):[^\r\n]*\r?\n/g, "")
    .replace(/^a=candidate:[^\r\n]*\r?\n/gm, "");
  const r = await w.invoke("p/answer", "processAnswer", { answer });
  t.match(r, { ok: false, code: 40201, message: /has no a=ice-ufrag/ }, "processAnswer without ICE credentials: 40201");
  t.notMatch(r.ok ? "" : r.message, LIBRARY_TEXT, "processAnswer: no library text in the message");
});

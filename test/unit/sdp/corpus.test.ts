// The SDP corpus (test/fixtures/sdp/): every file must round-trip byte for byte and negotiate against the server
// capability set with the expected payload types per m-line.
import t from "tap";
import { SessionDescription, createAnswer, processAnswer } from "../../../sdp/index.js";
import { SERVER_CAPS, SERVER_OPTIONS, fixture, fixtureNames } from "./sdpFixtures.js";

/** Accepted payload types per m-line of the answer Korus builds for each fixture (empty = rejected). */
const EXPECTED: Record<string, number[][]> = {
  "carrier-g711-hold-offer.sdp": [[0, 101]],
  "carrier-g711-legacy-hold-offer.sdp": [[0, 101]],
  "carrier-g711-offer.sdp": [[0, 8, 101]],
  "carrier-g711-pcma-offer.sdp": [[8, 0, 101]],
  "carrier-g711-srtp-offer.sdp": [[8, 0, 101]],
  // Chrome: opus, G.711 and both DTMF clocks; VP8 + rtx and H.264 Constrained Baseline pm=1 + rtx; data channel off.
  "chrome-offer.sdp": [[111, 0, 8, 110, 126], [96, 97, 106, 107], []],
  "firefox-offer.sdp": [
    [109, 0, 8, 101],
    [120, 124, 126, 127],
  ],
  "kurento-answer-to-carrier-g711-offer.sdp": [[0]],
  "kurento-answer-to-chrome-offer.sdp": [[111, 0], [96, 106], []],
  // Safari: its first H.264 is High (640c1f), which a Constrained Baseline capability must not accept.
  "safari-offer.sdp": [
    [111, 0, 8, 110, 126],
    [98, 99, 102, 103],
  ],
  // AMR with crc / robust-sorting+interleaving cannot be answered unchanged by Korus: only PCMA and DTMF remain.
  "volte-amr-crc-offer.sdp": [[8, 100]],
  "volte-amr-octet-aligned-offer.sdp": [[104, 102, 105, 100]],
  // EVS is recognised but never accepted (sip-ims.md §4.1).
  "volte-amrwb-offer.sdp": [[98, 100, 110, 112, 8, 101, 103]],
  "volte-evs-offer.sdp": [[118, 96, 111, 110, 97, 98]],
};

/** Answers stored in the corpus, with the offer they answer. */
const ANSWERS: Record<string, string> = {
  "kurento-answer-to-carrier-g711-offer.sdp": "carrier-g711-offer.sdp",
  "kurento-answer-to-chrome-offer.sdp": "chrome-offer.sdp",
};

t.test("the corpus holds every expected fixture and nothing unexpected", async (t) => {
  t.same(fixtureNames(), Object.keys(EXPECTED).sort());
});

for (const name of fixtureNames()) {
  t.test(`SessionDescription.parse() of ${name} round-trips byte for byte`, async (t) => {
    const text = fixture(name);
    t.match(text, /\r\n$/, "the fixture keeps CRLF line endings");
    t.notMatch(text, /[^\r]\n/, "no bare LF in the fixture");
    t.equal(SessionDescription.parse(text).toString(), text);
  });

  t.test(`createAnswer() for ${name} accepts the expected payload types`, async (t) => {
    const offer = SessionDescription.parse(fixture(name));
    const answer = createAnswer(offer, SERVER_CAPS, SERVER_OPTIONS);
    const perLine = answer.sdp.media.map((m) => (m.port === 0 ? [] : m.payloadTypes));
    t.same(perLine, EXPECTED[name] ?? ["missing expectation"]);
    t.equal(answer.sdp.media.length, offer.media.length, "RFC 3264 §6: as many m-lines as the offer");
    t.notMatch(answer.sdp.toString(), /a=(curr|des|conf):/, "preconditions are not answered");
    t.equal(SessionDescription.parse(answer.sdp.toString()).toString(), answer.sdp.toString());
  });
}

for (const [answerName, offerName] of Object.entries(ANSWERS)) {
  t.test(`processAnswer() reads ${answerName} against ${offerName}`, async (t) => {
    const media = processAnswer(
      SessionDescription.parse(fixture(offerName)),
      SessionDescription.parse(fixture(answerName)),
    );
    const accepted = media.filter((m) => m.accepted);
    t.ok(accepted.length > 0, "at least one stream accepted");
    t.ok(
      accepted.every((m) => m.codecs.every((c) => c.payloadType === c.sendPayloadType)),
      "these answers reuse the offered payload types",
    );
  });
}

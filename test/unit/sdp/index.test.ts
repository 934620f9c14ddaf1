import t from "tap";
import * as sdp from "../../../sdp/index.js";

t.test("sdp/index.ts exports the model, offer/answer functions and errors", async (t) => {
  t.type(sdp.SessionDescription, "function");
  t.type(sdp.MediaDescription, "function");
  t.type(sdp.createAnswer, "function");
  t.type(sdp.createOffer, "function");
  t.type(sdp.processAnswer, "function");
  t.type(sdp.mapPayloadTypes, "function");
  t.ok(new sdp.SdpParseError("x", 1) instanceof Error);
  t.ok(new sdp.SdpNegotiationError("no-common-codec", "x") instanceof Error);
});

t.test("sdp/index.ts exports one parser per attribute family", async (t) => {
  const parsers = [
    sdp.parseRtpmap,
    sdp.parseFmtp,
    sdp.parseCandidate,
    sdp.parseFingerprint,
    sdp.parseSetup,
    sdp.parseSsrc,
    sdp.parseSsrcGroup,
    sdp.parseExtmap,
    sdp.parseRtcpFb,
    sdp.parseCrypto,
    sdp.parsePrecondition,
    sdp.parseGroup,
    sdp.parseRtcp,
  ];
  t.equal(parsers.filter((f) => typeof f === "function").length, parsers.length);
});

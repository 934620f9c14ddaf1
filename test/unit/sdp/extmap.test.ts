import t from "tap";
import { SdpParseError, formatExtmap, parseExtmap } from "../../../sdp/index.js";

t.test("parseExtmap() reads id, direction, URI and attributes (RFC 8285 §8)", async (t) => {
  t.same(parseExtmap("1 urn:ietf:params:rtp-hdrext:ssrc-audio-level"), {
    id: 1,
    uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  });
  t.same(parseExtmap("2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level"), {
    id: 2,
    direction: "recvonly",
    uri: "urn:ietf:params:rtp-hdrext:csrc-audio-level",
  });
  t.equal(parseExtmap("3 urn:example:ext vad=on").attributes, "vad=on");
});

t.test("formatExtmap() round-trips every form", async (t) => {
  for (const v of ["1 urn:x", "2/sendonly urn:y", "3 urn:z a b"]) {
    t.equal(formatExtmap(parseExtmap(v)), v);
  }
});

t.test("parseExtmap() of a malformed value throws SdpParseError", async (t) => {
  t.throws(() => parseExtmap("x urn:y", 4), { name: "SdpParseError", line: 4 });
  t.throws(() => parseExtmap("1/sideways urn:y"), SdpParseError);
  t.throws(() => parseExtmap("300 urn:y"), SdpParseError);
  t.throws(() => parseExtmap("1"), SdpParseError);
});

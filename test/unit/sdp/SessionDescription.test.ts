import t from "tap";
import { SdpParseError, SessionDescription, parseOrigin, parseTiming } from "../../../sdp/index.js";
import { fixture } from "./sdpFixtures.js";

const MINIMAL =
  "v=0\r\no=- 20518 0 IN IP4 203.0.113.1\r\ns=-\r\nc=IN IP4 203.0.113.1\r\nt=0 0\r\nm=audio 54400 RTP/AVP 0\r\n";

t.test("SessionDescription.parse() of a Chrome offer round-trips byte for byte", async (t) => {
  const text = fixture("chrome-offer.sdp");
  t.equal(SessionDescription.parse(text).toString(), text);
});

t.test("SessionDescription.parse() of LF-only text round-trips with LF", async (t) => {
  const text = MINIMAL.replaceAll("\r\n", "\n");
  const sdp = SessionDescription.parse(text);
  t.equal(sdp.toString(), text);
  t.equal(sdp.eol, "\n");
  sdp.media[0]?.addAttribute("ptime", "20");
  t.equal(sdp.toString(), `${text}a=ptime:20\n`, "an added line uses LF too");
});

t.test("SessionDescription.parse() keeps unknown attributes and a missing final CRLF", async (t) => {
  const text = `${MINIMAL}a=x-vendor-thing:42 foo\r\na=silenceSupp:off - - - -`;
  const sdp = SessionDescription.parse(text);
  t.equal(sdp.toString(), text);
  t.same(sdp.media[0]?.attributeValues("x-vendor-thing"), ["42 foo"]);
});

t.test("SessionDescription exposes the session-level fields", async (t) => {
  const sdp = SessionDescription.parse(fixture("volte-amrwb-offer.sdp"));
  t.same(sdp.origin, {
    username: "-",
    sessionId: "4312765098112",
    sessionVersion: "1",
    netType: "IN",
    addressType: "IP4",
    address: "192.0.2.10",
  });
  t.equal(sdp.sessionName, "-");
  t.same(sdp.connection, { netType: "IN", addressType: "IP4", address: "192.0.2.10" });
  t.same(sdp.bandwidths, [
    { type: "AS", value: 41 },
    { type: "RS", value: 600 },
    { type: "RR", value: 2000 },
  ]);
  t.same(sdp.timing, { start: 0, stop: 0 });
  t.equal(sdp.media.length, 1);
  t.equal(sdp.direction, undefined);
  t.equal(sdp.bundle, undefined);
});

t.test("SessionDescription exposes groups, bundle, fingerprints and msid-semantic of a Firefox offer", async (t) => {
  const sdp = SessionDescription.parse(fixture("firefox-offer.sdp"));
  t.same(sdp.groups, [{ semantics: "BUNDLE", mids: ["0", "1"] }]);
  t.same(sdp.bundle, ["0", "1"]);
  t.equal(sdp.fingerprints.length, 1);
  t.equal(sdp.fingerprints[0]?.algorithm, "sha-256");
  t.equal(sdp.attribute("msid-semantic"), "WMS *");
  t.ok(sdp.hasAttribute("ice-options"));
  t.notOk(sdp.iceLite);
  t.equal(sdp.setup, undefined);
  t.equal(sdp.mediaByMid("1")?.kind, "video");
  t.equal(sdp.mediaByMid("7"), undefined);
  // Session-level fingerprint is inherited by the media sections (RFC 8122 §5).
  t.equal(sdp.media[0]?.fingerprints[0]?.value, sdp.fingerprints[0]?.value);
});

t.test("SessionDescription keeps 19-digit session ids as strings", async (t) => {
  const sdp = SessionDescription.parse(fixture("chrome-offer.sdp"));
  t.equal(sdp.origin.sessionId, "4611731400430051336");
});

t.test("SessionDescription.incrementVersion() rewrites only the version digits", async (t) => {
  const text = fixture("chrome-offer.sdp");
  const sdp = SessionDescription.parse(text);
  sdp.incrementVersion();
  t.equal(sdp.origin.sessionVersion, "3");
  t.equal(sdp.toString(), text.replace("o=- 4611731400430051336 2 ", "o=- 4611731400430051336 3 "));
});

t.test("SessionDescription edits rewrite only the affected lines", async (t) => {
  const text = fixture("carrier-g711-offer.sdp");
  const sdp = SessionDescription.parse(text);
  sdp.setConnection({ netType: "IN", addressType: "IP4", address: "0.0.0.0" });
  sdp.direction = "inactive";
  t.equal(sdp.connection?.address, "0.0.0.0");
  t.equal(sdp.direction, "inactive");
  t.equal(
    sdp.toString(),
    text.replace("c=IN IP4 198.51.100.5", "c=IN IP4 0.0.0.0").replace("t=0 0\r\n", "t=0 0\r\na=inactive\r\n"),
  );
  sdp.direction = "sendrecv";
  t.equal(sdp.direction, "sendrecv", "a second edit rewrites the line it added");
});

t.test("SessionDescription.setConnection() inserts a missing c= before t=", async (t) => {
  const sdp = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n");
  sdp.setConnection({ netType: "IN", addressType: "IP4", address: "192.0.2.1" });
  t.equal(sdp.toString(), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n");
});

t.test("SessionDescription.parse() of garbage throws SdpParseError with the line number", async (t) => {
  t.throws(() => SessionDescription.parse(""), SdpParseError);
  t.throws(() => SessionDescription.parse("hello world"), { name: "SdpParseError", line: 1 });
  t.throws(() => SessionDescription.parse("o=- 1 1 IN IP4 192.0.2.1\r\nv=0\r\n"), {
    name: "SdpParseError",
    line: 1,
    message: /missing v=/,
  });
  t.throws(() => SessionDescription.parse("v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\n"), { name: "SdpParseError", line: 1 });
  t.throws(() => SessionDescription.parse("v=0\r\ns=-\r\nt=0 0\r\n"), { message: /missing o=/ });
  t.throws(() => SessionDescription.parse("v=0\r\no=- 1 IN IP4 192.0.2.1\r\n"), { name: "SdpParseError", line: 2 });
  t.throws(() => SessionDescription.parse("v=0\r\no=- x 1 IN IP4 192.0.2.1\r\n"), { name: "SdpParseError", line: 2 });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("t=0 0", "t=now")), { name: "SdpParseError", line: 5 });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("m=audio 54400 RTP/AVP 0", "m=audio")), {
    name: "SdpParseError",
    line: 6,
  });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("54400", "99999")), { name: "SdpParseError", line: 6 });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("54400", "x")), { name: "SdpParseError", line: 6 });
  t.throws(() => SessionDescription.parse(`${MINIMAL}a=rtpmap:0 PCMU\r\n`), { name: "SdpParseError", line: 7 });
  t.throws(() => SessionDescription.parse(`${MINIMAL}a=rtpmap:200 X/8000\r\n`), { name: "SdpParseError", line: 7 });
  t.throws(() => SessionDescription.parse(`${MINIMAL}a=ptime:fast\r\n`), { name: "SdpParseError", line: 7 });
  t.throws(() => SessionDescription.parse(`${MINIMAL}a=setup:maybe\r\n`), { name: "SdpParseError", line: 7 });
  t.throws(() => SessionDescription.parse(`${MINIMAL}v=0\r\n`), {
    name: "SdpParseError",
    line: 7,
    message: /session-level/,
  });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("s=-\r\n", "s=-\r\nv=0\r\n")), {
    name: "SdpParseError",
    line: 4,
  });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("c=IN IP4 203.0.113.1", "c=IN")), {
    name: "SdpParseError",
    line: 4,
  });
  t.throws(() => SessionDescription.parse(MINIMAL.replace("s=-\r\n", "s=-\r\nb=AS\r\n")), {
    name: "SdpParseError",
    line: 4,
  });
});

t.test("SessionDescription.parse() accepts a description without s=, t= or media", async (t) => {
  const sdp = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n");
  t.equal(sdp.sessionName, undefined);
  t.equal(sdp.timing, undefined);
  t.equal(sdp.media.length, 0);
});

t.test("parseOrigin() and parseTiming() validate their fields", async (t) => {
  t.equal(parseOrigin("- 1 2 IN IP6 2001:db8::1").address, "2001:db8::1");
  t.throws(() => parseOrigin("- 1 2 IN IP4", 2), { name: "SdpParseError", line: 2 });
  t.same(parseTiming("3034423619 3042462419"), { start: 3034423619, stop: 3042462419 });
  t.throws(() => parseTiming("0", 4), { name: "SdpParseError", line: 4 });
  t.throws(() => parseTiming("0 0 0", 4), SdpParseError);
});

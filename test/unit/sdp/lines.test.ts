import t from "tap";
import { SdpParseError } from "../../../sdp/errors.js";
import {
  addressTypeOf,
  formatConnection,
  formatLine,
  isHoldAddress,
  parseAttribute,
  parseBandwidth,
  parseConnection,
  parseInteger,
  splitLines,
} from "../../../sdp/lines.js";

t.test("splitLines() keeps each line's terminator and numbers lines from 1", async (t) => {
  const { lines, trailer, eol } = splitLines("v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=-");
  t.same(
    lines.map((l) => [l.type, l.value, l.eol, l.number]),
    [
      ["v", "0", "\r\n", 1],
      ["o", "- 1 1 IN IP4 192.0.2.1", "\n", 2],
      ["s", "-", "", 3],
    ],
  );
  t.equal(trailer, "");
  t.equal(eol, "\r\n", "new lines get the first line's terminator");
  t.equal(lines.map(formatLine).join(""), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=-");
});

t.test("splitLines() keeps trailing blank lines as the trailer", async (t) => {
  const { lines, trailer } = splitLines("v=0\r\ns=-\r\n\r\n");
  t.equal(lines.length, 2);
  t.equal(trailer, "\r\n");
});

t.test("splitLines() of LF-only text uses LF for new lines", async (t) => {
  t.equal(splitLines("v=0\ns=-\n").eol, "\n");
});

t.test("splitLines() rejects a line not of the x= form with its line number", async (t) => {
  t.throws(() => splitLines("v=0\r\nhello\r\n"), SdpParseError);
  t.throws(() => splitLines("v=0\r\nhello\r\n"), { name: "SdpParseError", line: 2, text: "hello" });
  t.throws(() => splitLines("v=0\r\na =x\r\n"), { name: "SdpParseError", line: 2 });
  t.throws(() => splitLines("v=0\r\nab=x\r\n"), { name: "SdpParseError", line: 2 });
});

t.test("splitLines() rejects a blank line between SDP lines", async (t) => {
  t.throws(() => splitLines("v=0\r\n\r\ns=-\r\n"), { name: "SdpParseError", line: 2 });
});

t.test("parseAttribute() splits at the first colon only", async (t) => {
  t.same(parseAttribute("rtpmap:0 PCMU/8000"), { name: "rtpmap", value: "0 PCMU/8000" });
  t.same(parseAttribute("fingerprint:sha-256 AA:BB"), { name: "fingerprint", value: "sha-256 AA:BB" });
  t.same(parseAttribute("sendrecv"), { name: "sendrecv", value: undefined });
  t.same(parseAttribute("extmap-allow-mixed:"), { name: "extmap-allow-mixed", value: "" });
});

t.test("parseConnection() reads IPv4, IPv6 and multicast suffixes", async (t) => {
  t.same(parseConnection("IN IP4 192.0.2.1"), { netType: "IN", addressType: "IP4", address: "192.0.2.1" });
  t.same(parseConnection("IN IP6 2001:db8::1"), { netType: "IN", addressType: "IP6", address: "2001:db8::1" });
  t.same(parseConnection("IN IP4 233.252.0.1/127/3"), {
    netType: "IN",
    addressType: "IP4",
    address: "233.252.0.1",
    ttl: 127,
    count: 3,
  });
  t.same(parseConnection("IN IP6 ff15::101/3"), { netType: "IN", addressType: "IP6", address: "ff15::101", count: 3 });
  t.equal(formatConnection(parseConnection("IN IP4 233.252.0.1/127/3")), "IN IP4 233.252.0.1/127/3");
});

t.test("parseConnection() of a malformed c= throws SdpParseError", async (t) => {
  t.throws(() => parseConnection("IN IP4", 5), { name: "SdpParseError", line: 5 });
  t.throws(() => parseConnection("IN IP4 192.0.2.1 extra", 5), SdpParseError);
  t.throws(() => parseConnection("IN IP4 233.252.0.1/x", 5), SdpParseError);
});

t.test("parseBandwidth() reads <type>:<value>", async (t) => {
  t.same(parseBandwidth("AS:41"), { type: "AS", value: 41 });
  t.same(parseBandwidth("TIAS:64000"), { type: "TIAS", value: 64000 });
  t.throws(() => parseBandwidth("AS", 3), { name: "SdpParseError", line: 3 });
  t.throws(() => parseBandwidth("AS:fast", 3), SdpParseError);
});

t.test("address helpers recognise IPv6 and hold addresses", async (t) => {
  t.equal(addressTypeOf("192.0.2.1"), "IP4");
  t.equal(addressTypeOf("2001:db8::1"), "IP6");
  t.ok(isHoldAddress("0.0.0.0"));
  t.ok(isHoldAddress("::"));
  t.notOk(isHoldAddress("192.0.2.1"));
  t.equal(parseInteger("42", "x", 1, "x=42"), 42);
  t.throws(() => parseInteger("-1", "x", 1, "x=-1"), SdpParseError);
});

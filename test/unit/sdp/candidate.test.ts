import t from "tap";
import { SdpParseError, formatCandidate, parseCandidate } from "../../../sdp/index.js";

const HOST =
  "2999745851 1 udp 2122260223 203.0.113.17 56143 typ host generation 0 ufrag x9Qm network-id 1 network-cost 10";

t.test("parseCandidate() reads the RFC 8839 §5.1 fields and keeps extensions in order", async (t) => {
  t.same(parseCandidate(HOST), {
    foundation: "2999745851",
    component: 1,
    transport: "udp",
    priority: 2122260223,
    address: "203.0.113.17",
    port: 56143,
    type: "host",
    extensions: [
      ["generation", "0"],
      ["ufrag", "x9Qm"],
      ["network-id", "1"],
      ["network-cost", "10"],
    ],
  });
});

t.test("parseCandidate() reads raddr, rport and tcptype", async (t) => {
  const srflx = parseCandidate(
    "1425401787 1 udp 1686052607 198.51.100.44 56143 typ srflx raddr 203.0.113.17 rport 56143",
  );
  t.equal(srflx.relatedAddress, "203.0.113.17");
  t.equal(srflx.relatedPort, 56143);
  const tcp = parseCandidate("candidate:4233069003 1 tcp 1518280447 203.0.113.17 9 typ host tcptype active");
  t.equal(tcp.tcpType, "active");
  t.equal(tcp.foundation, "4233069003", "a leading candidate: prefix (trickle JSON) is accepted");
});

t.test("formatCandidate() round-trips a Chrome candidate unchanged", async (t) => {
  t.equal(formatCandidate(parseCandidate(HOST)), HOST);
  const relay = "3 1 udp 41885439 192.0.2.50 3478 typ relay raddr 198.51.100.44 rport 56143 tcptype passive";
  t.equal(formatCandidate(parseCandidate(relay)), relay);
});

t.test("parseCandidate() of a malformed value throws SdpParseError", async (t) => {
  t.throws(() => parseCandidate("1 1 udp 100 192.0.2.1 9 host", 3), { name: "SdpParseError", line: 3 });
  t.throws(() => parseCandidate("1 x udp 100 192.0.2.1 9 typ host"), SdpParseError);
  t.throws(() => parseCandidate("1 1 udp 100 192.0.2.1"), SdpParseError);
});

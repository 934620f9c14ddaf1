import { readFileSync } from "node:fs";
import t from "tap";
import { SDP_LIMITS, SdpParseError, SessionDescription, checkSdpBounds } from "../../../sdp/index.js";

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/sdp/${name}`, import.meta.url), "utf8");

const audio = (port: string, extra: string[] = []): string =>
  [
    "v=0",
    "o=- 1 1 IN IP4 192.0.2.1",
    "s=-",
    "c=IN IP4 192.0.2.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    ...extra,
    "",
  ].join("\r\n");

t.test("real offers are far inside the limits", async (t) => {
  for (const name of ["chrome-offer.sdp", "firefox-offer.sdp", "safari-offer.sdp", "volte-evs-offer.sdp"]) {
    t.doesNotThrow(() => SessionDescription.parse(fixture(name)), name);
  }
});

t.test("each limit: at the limit accepted, one beyond refused with a message naming it", async (t) => {
  const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";
  const cand = (i: number): string => `a=candidate:${i} 1 udp 1 192.0.2.1 ${1000 + i} typ host\r\n`;
  const m = (i: number, cands = 0): string =>
    `m=audio ${2000 + 2 * i} RTP/AVP 0\r\n${Array.from({ length: cands }, (_, k) => cand(k)).join("")}`;
  const cases: [string, string, string, RegExp][] = [
    ["length", `${head}a=x:${"y".repeat(SDP_LIMITS.maxLength - head.length - 6)}\r\n`, "", /exceeds the limit/],
    [
      "m= sections",
      head + Array.from({ length: SDP_LIMITS.maxMediaSections }, (_, i) => m(i)).join(""),
      m(99),
      /m= sections/,
    ],
    ["candidates per m=", head + m(0, SDP_LIMITS.maxCandidatesPerMedia), cand(999), /more than 64 ICE candidates/],
    ["candidates in all", head + m(0, 64) + m(1, 63) + m(2, 1), cand(999), /more than 128 ICE candidates/],
    ["lines", head + "a=x\r\n".repeat(SDP_LIMITS.maxLines - 4), "a=x\r\n", /more than 2048 lines/],
  ];
  for (const [name, atLimit, more, message] of cases) {
    t.doesNotThrow(() => checkSdpBounds(atLimit), `${name}: at the limit`);
    t.throws(() => checkSdpBounds(atLimit + (more === "" ? "z" : more)), { name: "SdpParseError", message }, name);
  }
  t.throws(() => SessionDescription.parse("x".repeat(1_000_000)), SdpParseError, "parse() checks the limits first");
});

t.test("ports: RTCP must stay within 1-65535", async (t) => {
  t.throws(() => SessionDescription.parse(audio("65535")), /puts RTCP at 65536/);
  t.throws(() => SessionDescription.parse(audio("65534/2")), /run past 65535/);
  t.throws(() => SessionDescription.parse(audio("5000", ["a=rtcp:65536"])), /rtcp port 65536 is outside 1-65535/);
  t.throws(() => SessionDescription.parse(audio("5000", ["a=rtcp:0"])), /rtcp port 0 is outside 1-65535/);
  t.doesNotThrow(() => SessionDescription.parse(audio("65535", ["a=rtcp-mux"])), "rtcp-mux");
  t.doesNotThrow(() => SessionDescription.parse(audio("65535", ["a=rtcp:65000"])), "explicit RTCP port");
  t.doesNotThrow(() => SessionDescription.parse(audio("0")), "port 0");
  t.doesNotThrow(() => SessionDescription.parse(audio("65532/2")), "two pairs ending at 65535");
});

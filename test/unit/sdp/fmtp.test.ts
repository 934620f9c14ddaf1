import t from "tap";
import {
  AMR_INVARIANT_PARAMETERS,
  amrCompatible,
  formatEventList,
  formatFmtp,
  formatFmtpParameters,
  h264AnswerParameters,
  h264Compatible,
  parseAmrParameters,
  parseEventList,
  parseFmtp,
  parseFmtpParameters,
  parseOpusParameters,
  parseProfileLevelId,
} from "../../../sdp/index.js";

const p = parseFmtpParameters;

t.test("parseFmtp() keeps the parameter text exactly as written", async (t) => {
  t.same(parseFmtp("98 mode-change-capability=2; max-red=0"), {
    format: "98",
    parameters: "mode-change-capability=2; max-red=0",
  });
  t.equal(formatFmtp(parseFmtp("101 0-15")), "101 0-15");
  t.throws(() => parseFmtp("", 4), { name: "SdpParseError", line: 4 });
});

t.test("parseFmtpParameters() lower-cases keys, trims spaces and keeps bare tokens under the empty key", async (t) => {
  t.same(
    p("Octet-Align=1; mode-set=0,2,4,7 ;max-red=0"),
    new Map([
      ["octet-align", "1"],
      ["mode-set", "0,2,4,7"],
      ["max-red", "0"],
    ]),
  );
  t.same(p("0-15"), new Map([["", "0-15"]]));
  t.same(p(""), new Map());
  t.equal(formatFmtpParameters(p("minptime=10; useinbandfec=1")), "minptime=10;useinbandfec=1");
  t.equal(formatFmtpParameters(p("111/111")), "111/111");
});

t.test("parseAmrParameters() applies the RFC 4867 §8.1 defaults and implications", async (t) => {
  const be = parseAmrParameters(p("mode-change-capability=2; max-red=0"));
  t.equal(be.octetAlign, false, "no octet-align means bandwidth-efficient");
  t.equal(be.modeSet, undefined);
  t.equal(be.modeChangeCapability, 2);
  t.equal(be.maxRed, 0);
  const oa = parseAmrParameters(p("octet-align=1;mode-set=0,2,4,7;mode-change-period=2;mode-change-neighbor=1"));
  t.same(oa.modeSet, [0, 2, 4, 7]);
  t.equal(oa.modeChangePeriod, 2);
  t.ok(oa.modeChangeNeighbor);
  t.ok(parseAmrParameters(p("crc=1")).octetAlign, "crc implies octet-aligned");
  t.ok(parseAmrParameters(p("robust-sorting=1")).octetAlign, "robust-sorting implies octet-aligned");
  t.ok(parseAmrParameters(p("interleaving=4")).octetAlign, "interleaving implies octet-aligned");
  t.ok(AMR_INVARIANT_PARAMETERS.includes("mode-set"));
});

t.test("amrCompatible() requires the same packing (RFC 4867 §8.3.1)", async (t) => {
  t.ok(amrCompatible(p("mode-change-capability=2"), p("")));
  t.notOk(amrCompatible(p("octet-align=1"), p("")));
  t.ok(amrCompatible(p("octet-align=1"), p("octet-align=1")));
  t.notOk(amrCompatible(p("octet-align=0"), p("octet-align=1")));
});

t.test("amrCompatible() refuses crc, robust-sorting and interleaving unless the capability has them", async (t) => {
  t.notOk(amrCompatible(p("octet-align=1;crc=1"), p("octet-align=1")));
  t.notOk(amrCompatible(p("robust-sorting=1;interleaving=4"), p("octet-align=1")));
  t.ok(amrCompatible(p("octet-align=1;crc=1"), p("octet-align=1;crc=1")));
  t.notOk(amrCompatible(p("channels=2"), p("")));
});

t.test("amrCompatible() accepts an offered mode-set only inside a restricted capability", async (t) => {
  t.ok(amrCompatible(p("mode-set=0,2,4,7"), p("")), "an unrestricted capability accepts any mode-set");
  t.ok(amrCompatible(p("mode-set=0,2"), p("mode-set=0,1,2")));
  t.notOk(amrCompatible(p("mode-set=0,2,7"), p("mode-set=0,1,2")));
  t.notOk(amrCompatible(p(""), p("mode-set=0,1,2")), "all modes offered, only some supported");
});

t.test("parseEventList() and formatEventList() handle RFC 4733 event ranges", async (t) => {
  t.same(parseEventList("0-3,8,10-11"), [0, 1, 2, 3, 8, 10, 11]);
  t.same(parseEventList(undefined).length, 16, "the default is 0-15");
  t.same(parseEventList("x,300"), []);
  t.equal(formatEventList([0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
  t.equal(formatEventList(parseEventList("0-16")), "0-16");
  t.equal(formatEventList([]), "");
});

t.test("parseOpusParameters() reads RFC 7587 §6.1 parameters", async (t) => {
  const o = parseOpusParameters(p("maxplaybackrate=48000;stereo=1;useinbandfec=1;minptime=10"));
  t.equal(o.maxplaybackrate, 48000);
  t.ok(o.stereo);
  t.ok(o.useinbandfec);
  t.notOk(o.usedtx);
  t.equal(o.minptime, 10);
  t.equal(o.maxaveragebitrate, undefined);
});

t.test("parseProfileLevelId() recognises H.264 profiles (RFC 6184 §8.1)", async (t) => {
  t.same(parseProfileLevelId("42e01f"), {
    profileIdc: 0x42,
    profileIop: 0xe0,
    levelIdc: 0x1f,
    profile: "constrained-baseline",
  });
  t.equal(parseProfileLevelId("42001f")?.profile, "baseline");
  t.equal(parseProfileLevelId("4d001f")?.profile, "main");
  t.equal(parseProfileLevelId("640c1f")?.profile, "constrained-high");
  t.equal(parseProfileLevelId("64001f")?.profile, "high");
  t.equal(parseProfileLevelId()?.profile, "baseline", "default 420010");
  t.equal(parseProfileLevelId("xyz"), undefined);
});

t.test("h264Compatible() matches profile and packetization-mode, not level", async (t) => {
  const local = p("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  t.ok(h264Compatible(p("packetization-mode=1;profile-level-id=42e00a"), local));
  t.notOk(h264Compatible(p("packetization-mode=0;profile-level-id=42e01f"), local));
  t.notOk(h264Compatible(p("packetization-mode=1;profile-level-id=640c1f"), local));
  t.notOk(h264Compatible(p("packetization-mode=1;profile-level-id=zz"), local));
});

t.test("h264AnswerParameters() keeps the offered profile and picks the level (RFC 6184 §8.2.2)", async (t) => {
  const local = p("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  t.equal(
    formatFmtpParameters(
      h264AnswerParameters(p("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e00a"), local),
    ),
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "with asymmetry both sides declare their own level",
  );
  t.equal(
    formatFmtpParameters(h264AnswerParameters(p("packetization-mode=1;profile-level-id=42e00a"), local)),
    "packetization-mode=1;profile-level-id=42e00a",
    "without asymmetry the lower level",
  );
});

/** What sinks declare to the transcoder: fmtp parsing, AMR parameters, target keys shared by equal formats. */
import t from "tap";
import { formatParams, sinkAccepts, targetKey } from "../../../../media/transcode/format.js";
import { parseFmtpParameters } from "../../../../sdp/index.js";

t.test("fmtp parsing (sdp/'s parser, which formatParams uses) and AMR parameters", async (t) => {
  t.same(
    [...parseFmtpParameters("octet-align=1; mode-set=0,2,4 ;MODE-CHANGE-PERIOD=2")],
    [
      ["octet-align", "1"],
      ["mode-set", "0,2,4"],
      ["mode-change-period", "2"],
    ],
  );
  t.same([...parseFmtpParameters("")], []);
  t.same(formatParams("amr-wb", "mode-set=8;octet-align=1"), { octetAligned: true, modeSet: [8] });
  t.same(formatParams("amr", "mode-set=9,x,7"), { octetAligned: false, modeSet: [7] }, "invalid modes ignored");
  t.same(formatParams("opus", "octet-align=1"), { octetAligned: false, modeSet: undefined }, "only AMR's count");
});

t.test("target keys: codec, clock, channels, ptime and the AMR fmtp that shapes payloads", async (t) => {
  const opus = { codec: "opus", clockRate: 48000, channels: 2, parameters: "minptime=10;useinbandfec=1" };
  t.equal(targetKey(opus, 20), targetKey({ ...opus, parameters: "useinbandfec=0" }, 20), "Opus fmtp does not split");
  t.not(targetKey(opus, 20), targetKey(opus, 40), "ptime does");
  const be = { codec: "amr-wb", clockRate: 16000, channels: 1 };
  t.not(targetKey(be, 20), targetKey({ ...be, parameters: "octet-align=1" }, 20), "AMR packing splits");
  t.not(targetKey(be, 20), targetKey({ ...be, parameters: "mode-set=2" }, 20), "AMR mode-set splits");
});

t.test("sinkAccepts matches codec and clock", async (t) => {
  const caps = {
    formats: [{ codec: "pcmu", clockRate: 8000, channels: 1 }],
    telephoneEvents: [8000],
    ptimeMs: undefined,
    continuous: true,
  };
  t.ok(sinkAccepts(caps, "pcmu", 8000));
  t.notOk(sinkAccepts(caps, "pcmu", 16000));
  t.notOk(sinkAccepts(caps, "opus", 48000));
});

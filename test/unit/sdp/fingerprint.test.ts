import t from "tap";
import { SdpParseError, answerSetup, formatFingerprint, parseFingerprint, parseSetup } from "../../../sdp/index.js";

const VALUE = "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1";

t.test("parseFingerprint() reads hash function and value", async (t) => {
  t.same(parseFingerprint(`sha-256 ${VALUE}`), { algorithm: "sha-256", value: VALUE });
  t.equal(formatFingerprint(parseFingerprint(`sha-1 ${VALUE.slice(0, 59)}`)), `sha-1 ${VALUE.slice(0, 59)}`);
  t.throws(() => parseFingerprint("sha-256", 8), { name: "SdpParseError", line: 8 });
  t.throws(() => parseFingerprint("sha-256 XYZ"), SdpParseError);
});

t.test("parseSetup() accepts the four RFC 4145 roles only", async (t) => {
  for (const role of ["active", "passive", "actpass", "holdconn"]) {
    t.equal(parseSetup(role), role);
  }
  t.throws(() => parseSetup("both", 2), { name: "SdpParseError", line: 2 });
});

t.test("answerSetup() follows RFC 5763 §5 and RFC 4145 §4.1", async (t) => {
  t.equal(answerSetup("actpass"), "active", "the answerer SHOULD be active");
  t.equal(answerSetup("actpass", "passive"), "passive");
  t.equal(answerSetup("active"), "passive");
  t.equal(answerSetup("passive"), "active");
  t.equal(answerSetup("holdconn"), "holdconn");
  t.equal(answerSetup(undefined), "active");
});

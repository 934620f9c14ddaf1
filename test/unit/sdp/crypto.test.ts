import t from "tap";
import { SdpParseError, formatCrypto, parseCrypto, parseInlineKey } from "../../../sdp/index.js";

const LINE = "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4";

t.test("parseCrypto() reads tag, suite, key and session parameters (RFC 4568 §9.1)", async (t) => {
  t.same(parseCrypto(LINE), {
    tag: 1,
    suite: "AES_CM_128_HMAC_SHA1_80",
    keyParams: ["inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4"],
    sessionParams: [],
  });
  t.same(parseCrypto(`${LINE} UNENCRYPTED_SRTCP KDR=1`).sessionParams, ["UNENCRYPTED_SRTCP", "KDR=1"]);
  t.equal(formatCrypto(parseCrypto(`${LINE} UNENCRYPTED_SRTCP`)), `${LINE} UNENCRYPTED_SRTCP`);
});

t.test("parseInlineKey() splits key, lifetime and MKI (RFC 4568 §9.2)", async (t) => {
  t.same(parseInlineKey("inline:KEY|2^20|1:4"), { key: "KEY", lifetime: "2^20", mki: "1:4" });
  t.same(parseInlineKey("inline:KEY|1:4"), { key: "KEY", mki: "1:4" });
  t.same(parseInlineKey("inline:KEY"), { key: "KEY" });
  t.equal(parseInlineKey("uri:https://keys.example"), undefined);
});

t.test("parseCrypto() of a malformed value throws SdpParseError", async (t) => {
  t.throws(() => parseCrypto("1 AES_CM_128_HMAC_SHA1_80", 9), { name: "SdpParseError", line: 9 });
  t.throws(() => parseCrypto("x AES_CM_128_HMAC_SHA1_80 inline:KEY"), SdpParseError);
});

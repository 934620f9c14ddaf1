/**
 * Parameters (sip/message/Parameters.ts): ordered, case-insensitive, spelling-preserving.
 */

import t from "tap";
import { Parameters, SipParseError } from "../../../sip/index.js";
import { parseHeaderParams, parseUriParams } from "../../../sip/message/Parameters.js";
import { PARAM_CHARS } from "../../../sip/message/grammar.js";

t.test("lookups ignore case (RFC 3261 §7.3.1) and names keep their spelling", async (t) => {
  const p = new Parameters([
    ["Branch", "z9hG4bK1"],
    ["lr", null],
  ]);
  t.equal(p.get("branch"), "z9hG4bK1");
  t.equal(p.get("LR"), null);
  t.equal(p.get("x"), undefined);
  t.equal(p.has("lR"), true);
  p.set("BRANCH", "z9hG4bK2").set("new", "v");
  t.equal(p.toString(), ";Branch=z9hG4bK2;lr;new=v");
  p.append("new", "w");
  t.equal(p.delete("NEW"), true, "delete removes every occurrence");
  t.equal(p.delete("new"), false);
  t.same(
    [...p.entries()],
    [
      ["Branch", "z9hG4bK2"],
      ["lr", null],
    ],
  );
  t.equal(p.size, 2);
});

t.test("URI rendering escapes names and values", async (t) => {
  const p = new Parameters([["a b", "c;d"]]);
  t.equal(p.toString(PARAM_CHARS), ";a%20b=c%3Bd");
});

t.test("header parameter parsing allows LWS around ; and = and rejects empty parameters", async (t) => {
  const p = new Parameters();
  t.equal(parseHeaderParams(' ; a = 1 ;b; c="x;y" , next', 0, p, "test", true), 21, "stops at the list comma");
  t.same(
    [...p.entries()],
    [
      ["a", "1"],
      ["b", null],
      ["c", '"x;y"'],
    ],
  );
  t.throws(() => parseHeaderParams(";;", 0, new Parameters(), "test", false), SipParseError);
  t.throws(() => parseHeaderParams(";a=", 0, new Parameters(), "test", false), SipParseError);
  t.throws(() => parseHeaderParams("x", 0, new Parameters(), "test", false), SipParseError);
  t.throws(() => parseUriParams("a;;b", ";", new Parameters(), "test"), SipParseError);
});

/**
 * sip/schema.ts, the one configuration-check mechanism (TypeBox): defaults, null as absent, the first issue with its
 * key path, what was expected and what was given, refinement rules, secrets never echoed.
 */
import { Type } from "@sinclair/typebox";
import t from "tap";
import { anyCasePattern, checkSchema, expectedOf, refine } from "../../../sip/index.js";

const Limits = refine(
  Type.Object(
    {
      min: Type.Integer({ minimum: 0, maximum: 10, default: 1 }),
      max: Type.Integer({ minimum: 0, maximum: 10, default: 5 }),
      names: Type.Array(Type.String({ minLength: 1 }), { default: ["a"] }),
      key: Type.String({ default: "", secret: true, pattern: "^(.{8,})?$", expected: '8 characters or more, or ""' }),
      mode: Type.Union([Type.Literal("fast"), Type.Literal("slow")], { default: "fast" }),
    },
    { additionalProperties: false, default: {} },
  ),
  (v) => (v.max < v.min ? { at: ".max", reason: `must be at least min (${v.min})` } : undefined),
);

const issueOf = (value: unknown): string => {
  const r = checkSchema(Limits, value, "limits");
  return r.ok ? "ok" : `${r.issue.path}: ${r.issue.reason}`;
};

t.test("defaults fill absent and null keys; the input is not changed", async (t) => {
  const input = { min: 2, max: null };
  const r = checkSchema(Limits, input, "limits");
  t.ok(r.ok);
  t.same(r.ok ? r.value : undefined, { min: 2, max: 5, names: ["a"], key: "", mode: "fast" });
  t.same(input, { min: 2, max: null });
  const none = checkSchema(Limits, undefined, "limits");
  t.same(none.ok ? none.value.names : undefined, ["a"]);
});

t.test("the first issue names the path, what was expected and what was given", async (t) => {
  t.equal(issueOf({ min: 11 }), "limits.min: must be an integer from 0 to 10, got 11");
  t.equal(issueOf({ min: "1" }), 'limits.min: must be an integer from 0 to 10, got "1"');
  t.equal(issueOf({ names: ["x", ""] }), 'limits.names[1]: must be a non-empty string, got ""');
  t.equal(issueOf({ names: "x" }), 'limits.names: must be a list, got "x"');
  t.equal(issueOf({ mode: "warp" }), 'limits.mode: must be one of fast, slow, got "warp"');
  t.equal(issueOf({ mim: 1 }), "limits.mim: unknown key (known: min, max, names, key, mode)");
  t.equal(issueOf([1]), "limits: must be a mapping, got [1]");
  t.equal(issueOf({ key: "short" }), 'limits.key: must be 8 characters or more, or ""', "a secret is not echoed");
  t.equal(issueOf({ min: 6, max: 2 }), "limits.max: must be at least min (6)", "refinement after the keywords");
  t.equal(issueOf({ min: 6, max: 20 }), "limits.max: must be an integer from 0 to 10, got 20", "keywords first");
  const required = Type.Object({ name: Type.String({ minLength: 1 }) });
  const r = checkSchema(required, {}, "");
  t.same(r.ok ? "ok" : r.issue, { path: "name", reason: "is required: a non-empty string" });
});

t.test("refinements run children first, on lists and leaves too", async (t) => {
  const seen: string[] = [];
  const leaf = refine(Type.String(), (s) => {
    seen.push(s);
    return s === "bad" ? { reason: "is bad" } : undefined;
  });
  const list = refine(Type.Array(leaf), (l) => {
    seen.push(`list of ${l.length}`);
    return l.length > 2 ? { reason: "is too long" } : undefined;
  });
  const r = checkSchema(list, ["a", "bad"], "x");
  t.same(r.ok ? "ok" : r.issue, { path: "x[1]", reason: "is bad" });
  t.same(seen, ["a", "bad"]);
  const long = checkSchema(list, ["a", "b", "c"], "x");
  t.same(long.ok ? "ok" : long.issue, { path: "x", reason: "is too long" });
});

t.test("expected text and case-insensitive enums", async (t) => {
  t.equal(expectedOf(Type.Integer({ minimum: 3 })), "an integer of at least 3");
  t.equal(expectedOf(Type.Boolean()), "true or false");
  t.equal(expectedOf(Type.String({ expected: "a host" })), "a host");
  const re = new RegExp(anyCasePattern(["AMR-WB", "telephone-event", "SHA-512-256-sess"]));
  for (const ok of ["amr-wb", "AMR-WB", "Telephone-Event", "sha-512-256-SESS"]) {
    t.ok(re.test(ok), ok);
  }
  for (const bad of ["AMR", "amr-wbx", "telephone", "SHA-512-256"]) {
    t.notOk(re.test(bad), bad);
  }
});

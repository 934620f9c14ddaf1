/**
 * Unit tests of the control plane's decisions: which addresses are loopback (the demo guard), how `kurento.auth`
 * resolves, where a token is read from, how a request target is normalised, and the duplicate cache's bounds.
 */
import type { IncomingMessage } from "node:http";
import t from "tap";
import { ANSWERED_MAX_CHARS, SessionManager } from "../../../src/kurento/SessionManager.js";
import { isLoopbackAddress, presentedToken, resolveAuth, TokenAuth } from "../../../src/rpc/auth.js";
import { normaliseRequestUrl } from "../../../src/rpc/httpPath.js";

const req = (url: string, authorization?: string): IncomingMessage =>
  ({ url, headers: authorization === undefined ? {} : { authorization } }) as unknown as IncomingMessage;

t.test("loopback addresses", async (t) => {
  for (const a of ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"]) {
    t.ok(isLoopbackAddress(a), a);
  }
  for (const a of ["192.0.2.10", "::ffff:192.0.2.10", "10.0.0.1", "::", "", "127.example.org", "fe80::1"]) {
    t.notOk(isLoopbackAddress(a), a);
  }
});

t.test("kurento.auth resolution and the exposure warning", async (t) => {
  const tok = [{ application: "a", token: "0123456789abcdef" }];
  t.same(resolveAuth("auto", "127.0.0.1", tok), { mode: "none", exposed: false });
  t.same(resolveAuth("auto", "0.0.0.0", tok), { mode: "tokens", exposed: false });
  t.same(resolveAuth("auto", "0.0.0.0", []), { mode: "none", exposed: true });
  t.same(resolveAuth("none", "192.0.2.1", tok), { mode: "none", exposed: true });
  t.same(resolveAuth("tokens", "::1", tok), { mode: "tokens", exposed: false });
});

t.test("tokens: bearer header or access_token", async (t) => {
  t.equal(presentedToken(req("/kurento", "Bearer abc")), "abc");
  t.equal(presentedToken(req("/kurento?x=1&access_token=q%2Bq")), "q+q");
  t.equal(presentedToken(req("/kurento", "Basic abc")), undefined);
  const auth = new TokenAuth("tokens", [
    { application: "a", token: "token-a-0123456789" },
    { application: "b", token: "token-b-0123456789" },
  ]);
  t.equal(auth.authenticate(req("/kurento?access_token=token-b-0123456789")), "b");
  t.equal(auth.authenticate(req("/kurento", "Bearer token-a-0123456789")), "a");
  t.equal(auth.authenticate(req("/kurento?access_token=token-a-012345678")), null);
  t.equal(auth.authenticate(req("/kurento")), null);
  t.equal(new TokenAuth("none", []).authenticate(req("/kurento")), "");
});

t.test("request targets are normalised once", async (t) => {
  const cases: [string, string | null][] = [
    ["/demo/gateway", "/demo/gateway"],
    ["/x/../demo/gateway", "/demo/gateway"],
    ["/./demo/gateway", "/demo/gateway"],
    ["//demo/gateway", "/demo/gateway"],
    ["/x/%2e%2e/demo/gateway?a=1", "/demo/gateway?a=1"],
    ["/../../demo", "/demo"],
    ["/demo\\gateway", "/demo/gateway"],
    ["http://host:8888/x/../demo/gateway?q", "/demo/gateway?q"],
    ["/kurento?access_token=a/../b", "/kurento?access_token=a/../b"],
    ["demo/gateway", null],
    ["ftp://host/demo", null],
    ["*", null],
  ];
  for (const [raw, want] of cases) {
    t.equal(normaliseRequestUrl(raw), want, raw);
  }
});

t.test("the duplicate-answer cache is bounded in characters", async (t) => {
  const sm = new SessionManager();
  const s = sm.obtain("s1");
  for (let i = 0; i < 64; i++) {
    sm.rememberAnswer(s, `n${i}`, "f", "x".repeat(8000));
  }
  t.ok(s.answeredChars <= ANSWERED_MAX_CHARS, `${s.answeredChars} characters kept`);
  t.ok(s.answered.has("n63") && !s.answered.has("n0"), "the oldest answers went first");
  sm.rememberAnswer(s, "big", "f", "x".repeat(100_000));
  t.notOk(s.answered.has("big"), "an answer too large to keep is not kept");
});

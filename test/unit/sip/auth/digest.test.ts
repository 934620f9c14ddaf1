/**
 * Digest computation against the RFCs' published vectors (RFC 2617 §3.5, RFC 7616 §3.9.1), plus the SIP client and
 * server sides (sip/auth/DigestClient.ts, sip/auth/DigestServer.ts) talking to each other.
 */

import t from "tap";
import {
  computeDigestResponse,
  DigestChallengeError,
  DigestClient,
  DigestServer,
  digestHa1,
  formatNonceCount,
  parseDigestAlgorithm,
  UnsupportedDigestAlgorithmError,
} from "../../../../sip/auth/index.js";
import { AuthHeader, parseAuthHeader, type SipRequest, type SipResponse } from "../../../../sip/index.js";
import { request, response } from "../helpers.js";

t.test("RFC 2617 §3.5 example (MD5, qop=auth)", async (t) => {
  const r = computeDigestResponse({
    algorithm: "MD5",
    username: "Mufasa",
    realm: "testrealm@host.com",
    password: "Circle Of Life",
    method: "GET",
    uri: "/dir/index.html",
    nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
    qop: "auth",
    nc: "00000001",
    cnonce: "0a4f113b",
  });
  t.equal(r, "6629fae49393a05397450978507c4ef1");
});

const RFC7616 = {
  username: "Mufasa",
  realm: "http-auth@example.org",
  password: "Circle of Life",
  method: "GET",
  uri: "/dir/index.html",
  nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
  qop: "auth",
  nc: "00000001",
  cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
} as const;

t.test("RFC 7616 §3.9.1 examples (MD5 and SHA-256)", async (t) => {
  t.equal(computeDigestResponse({ ...RFC7616, algorithm: "MD5" }), "8ca523f5e9506fed4657c9700eebdbec");
  t.equal(
    computeDigestResponse({ ...RFC7616, algorithm: "SHA-256" }),
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
  // The same with a stored H(A1) instead of the password.
  t.equal(
    computeDigestResponse({
      ...RFC7616,
      password: undefined,
      ha1: digestHa1("SHA-256", RFC7616.username, RFC7616.realm, RFC7616.password),
      algorithm: "SHA-256",
    }),
    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
  );
});

t.test("RFC 7616 §3.9.1 through the client, answering a parsed challenge (HTTP-style URI)", async (t) => {
  // The client computes from a SipRequest; the RFC vector's URI is an HTTP path, so build the pieces by hand and
  // check the header the client writes for a sip: request against an independent computation instead.
  const challenge = response(
    "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n" +
      "To: <sip:a@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n" +
      `WWW-Authenticate: Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=MD5, nonce="${RFC7616.nonce}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"\r\n` +
      `WWW-Authenticate: Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=SHA-256, nonce="${RFC7616.nonce}", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"\r\n` +
      "Content-Length: 0\r\n\r\n",
  );
  const req = register();
  const client = new DigestClient(
    { username: RFC7616.username, password: RFC7616.password },
    { cnonce: () => RFC7616.cnonce },
  );
  client.authorize(req, challenge);
  const [auth] = req.authHeaders("Authorization");
  t.ok(auth);
  t.equal(auth?.algorithm, "SHA-256", "SHA-256 preferred over MD5");
  t.equal(auth?.get("qop"), "auth");
  t.equal(auth?.get("nc"), "00000001");
  t.equal(auth?.get("cnonce"), RFC7616.cnonce);
  t.equal(auth?.get("opaque"), "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
  t.equal(auth?.get("uri"), "sip:registrar.example.com");
  t.equal(
    auth?.get("response"),
    computeDigestResponse({ ...RFC7616, algorithm: "SHA-256", method: "REGISTER", uri: "sip:registrar.example.com" }),
  );
  // The serialised header reparses with quoted strings and bare tokens where RFC 3261 §25.1 puts them.
  const text = req.getHeader("Authorization") ?? "";
  t.match(text, /qop=auth, nc=00000001/);
  t.match(text, /algorithm=SHA-256/);
  t.equal(parseAuthHeader(text, "Authorization").get("response"), auth?.get("response"));

  // Preemptive reuse increments nc (RFC 2617 §3.2.2).
  const next = register(2);
  t.equal(client.reauthorize(next), true);
  t.equal(next.authHeaders("Authorization")[0]?.get("nc"), "00000002");
});

function register(cseq = 1): SipRequest {
  return request(
    `REGISTER sip:registrar.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr${
      cseq
    }\r\nMax-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=f1\r\nTo: <sip:alice@example.com>\r\n` +
      `Call-ID: reg-1\r\nCSeq: ${cseq} REGISTER\r\nContact: <sip:alice@192.0.2.1:5060>\r\nContent-Length: 0\r\n\r\n`,
  );
}

function invite(extra = ""): SipRequest {
  return request(
    "INVITE sip:+4930123@korus.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.5;branch=z9hG4bKi1\r\n" +
      "Max-Forwards: 70\r\nFrom: <sip:+4411@carrier.example>;tag=a\r\nTo: <sip:+4930123@korus.example.com>\r\n" +
      `Call-ID: inv-1\r\nCSeq: 1 INVITE\r\n${extra}Content-Length: 0\r\n\r\n`,
  );
}

/** Copies the Authorization lines of `from` onto a fresh INVITE with the given CSeq (what a UAC's retry looks like). */
function retry(from: SipRequest, cseq: number, header = "Authorization"): SipRequest {
  const r = invite();
  r.setHeader("CSeq", `${cseq} INVITE`);
  r.setHeader(header, from.getHeaders(header));
  return r;
}

function serverWith(
  now: { t: number },
  extra: Partial<ConstructorParameters<typeof DigestServer>[0]> = {},
): DigestServer {
  return new DigestServer({
    realm: "korus.example.com",
    secret: Buffer.alloc(32, 7),
    lookup: (user) => (user === "carrier" ? { password: "s3cret" } : undefined),
    now: () => now.t,
    nonceTtlMs: 60_000,
    ...extra,
  });
}

t.test("server challenges, client answers, server verifies (SHA-256 preferred, MD5 offered)", async (t) => {
  const now = { t: 1_000_000 };
  const server = serverWith(now);
  const first = invite();
  const verdict = server.authenticate(first);
  t.equal(verdict.ok, false);
  if (verdict.ok) {
    return;
  }
  t.equal(verdict.reason, "missing");
  t.equal(verdict.response.status, 401);
  const challenges = verdict.response.authHeaders("WWW-Authenticate");
  t.same(
    challenges.map((c) => c.algorithm),
    ["SHA-256", "MD5"],
  );
  t.same(challenges[0]?.qop, ["auth"]);
  t.equal(challenges[0]?.nonce?.length, 43);
  t.equal(challenges[0]?.get("opaque")?.length, 22, "opaque derived from the nonce");
  t.equal(challenges[1]?.get("opaque"), challenges[0]?.get("opaque"));
  t.ok(verdict.response.to.tag, "To tag on the challenge");
  t.equal(server.challenge(invite()).to.tag, verdict.response.to.tag, "stateless To tag is deterministic");

  const client = new DigestClient({ username: "carrier", password: "s3cret" });
  const second = invite();
  second.setHeader("CSeq", "2 INVITE");
  client.authorize(second, verdict.response);
  const ok = server.authenticate(second);
  t.same(ok, { ok: true, username: "carrier", realm: "korus.example.com", algorithm: "SHA-256" });
  t.equal(server.trackedNonces, 1);

  // Replaying the same credentials (same nc) is refused with a stale challenge.
  const replay = server.authenticate(retry(second, 3));
  t.equal(replay.ok, false);
  if (!replay.ok) {
    t.equal(replay.reason, "replay");
    t.equal(replay.response.authHeaders("WWW-Authenticate")[0]?.stale, true);
  }
  // The next nc is accepted.
  const third = invite();
  client.reauthorize(third);
  t.equal(third.authHeaders("Authorization")[0]?.get("nc"), "00000002");
  t.equal(server.authenticate(third).ok, true);
});

t.test("MD5-only server; wrong password gets 403; unknown user looks the same", async (t) => {
  const now = { t: 5_000 };
  const server = serverWith(now, { algorithms: ["MD5"] });
  const challenge = server.challenge(invite());
  t.equal(challenge.authHeaders("WWW-Authenticate").length, 1);

  const good = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(good, challenge);
  t.equal(good.authHeaders("Authorization")[0]?.algorithm, "MD5");
  t.equal(server.authenticate(good).ok, true);

  const bad = invite();
  new DigestClient({ username: "carrier", password: "guess" }).authorize(bad, challenge);
  const wrong = server.authenticate(bad);
  t.equal(wrong.ok, false);
  if (!wrong.ok) {
    t.equal(wrong.reason, "wrong-response");
    t.equal(wrong.response.status, 403);
  }
  const stranger = invite();
  new DigestClient({ username: "mallory", password: "x" }).authorize(stranger, challenge);
  const unknown = server.authenticate(stranger);
  t.equal(unknown.ok, false);
  if (!unknown.ok) {
    t.equal(unknown.reason, "unknown-user");
    t.equal(unknown.response.status, 403);
  }
  // rejectStatus 401 re-challenges instead.
  const lenient = serverWith(now, { algorithms: ["MD5"], rejectStatus: 401 });
  const again = lenient.authenticate(bad);
  t.equal(again.ok ? 0 : again.response.status, 401);
});

t.test("expired nonce: stale=true; the client answers the stale challenge without giving up", async (t) => {
  const now = { t: 10_000 };
  const server = serverWith(now);
  const client = new DigestClient({ username: "carrier", password: "s3cret" });
  const first = server.authenticate(invite());
  if (first.ok) {
    t.fail("expected a challenge");
    return;
  }
  const req = invite();
  client.authorize(req, first.response);
  t.equal(server.authenticate(req).ok, true);

  now.t += 61_000;
  const later = invite();
  client.reauthorize(later);
  const stale = server.authenticate(later);
  t.equal(stale.ok, false);
  if (stale.ok) {
    return;
  }
  t.equal(stale.reason, "stale");
  t.equal(stale.response.authHeaders("WWW-Authenticate")[0]?.stale, true);
  const retried = invite();
  client.authorize(retried, stale.response);
  t.equal(server.authenticate(retried).ok, true, "fresh nonce accepted");
});

t.test("forged, mismatched and malformed credentials", async (t) => {
  const now = { t: 10_000 };
  const server = serverWith(now);
  const other = new DigestServer({
    realm: "korus.example.com",
    secret: Buffer.alloc(32, 9),
    lookup: () => ({ password: "s3cret" }),
    now: () => now.t,
  });
  const foreign = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(foreign, other.challenge(invite()));
  const forged = server.authenticate(foreign);
  t.equal(forged.ok ? "" : forged.reason, "bad-nonce", "a nonce signed with another secret");

  // An opaque that does not belong to the nonce.
  const swapped = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(swapped, server.challenge(invite()));
  const tampered = request(swapped.toString().replace(/opaque="[^"]+"/, 'opaque="AAAAAAAAAAAAAAAAAAAAAA"'));
  const badOpaque = server.authenticate(tampered);
  t.equal(badOpaque.ok ? "" : badOpaque.reason, "bad-nonce", "opaque must match its nonce");
  const dropped = request(swapped.toString().replace(/, opaque="[^"]+"/, ""));
  t.equal(server.authenticate(dropped).ok, true, "credentials without opaque are accepted");

  const uriSwap = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(uriSwap, server.challenge(invite()));
  const moved = request(uriSwap.toString().replace("INVITE sip:+4930123@", "INVITE sip:+4930999@"));
  const mismatch = server.authenticate(moved);
  t.equal(mismatch.ok ? "" : mismatch.reason, "uri-mismatch");
  t.equal(mismatch.ok ? 0 : mismatch.response.status, 400);
  t.match(mismatch.ok ? "" : mismatch.response.reason, /Digest URI mismatch/);

  // The same URI spelled differently (escaped user part) is accepted: it is compared in canonical form.
  const spelled = invite();
  const respelled = server.challenge(invite());
  const h2 = new AuthHeader("Digest");
  const n2 = respelled.authHeaders("WWW-Authenticate")[0]?.nonce ?? "";
  const escapedUri = "sip:%2B4930123@korus.example.com";
  h2.set("username", "carrier").set("realm", "korus.example.com").set("nonce", n2).set("uri", escapedUri);
  h2.set("algorithm", "MD5", false).set("qop", "auth", false).set("nc", "00000001", false).set("cnonce", "c1");
  h2.set(
    "response",
    computeDigestResponse({
      algorithm: "MD5",
      username: "carrier",
      realm: "korus.example.com",
      password: "s3cret",
      method: "INVITE",
      uri: escapedUri,
      nonce: n2,
      qop: "auth",
      nc: "00000001",
      cnonce: "c1",
    }),
  );
  spelled.setHeader("Authorization", h2.toString());
  t.equal(server.authenticate(spelled).ok, true, "escaped digest-uri equals the Request-URI");

  const broken = invite('Authorization: Digest username="carrier", realm="korus.example.com"\r\n');
  const incomplete = server.authenticate(broken);
  t.equal(incomplete.ok ? "" : incomplete.reason, "malformed");
  const garbage = invite("Authorization: Digest realm=\r\n");
  const bad = server.authenticate(garbage);
  t.equal(bad.ok ? "" : bad.reason, "malformed");
  t.equal(bad.ok ? 0 : bad.response.status, 400);

  // Without qop (RFC 2069 style) the answer is refused by default.
  const noQop = invite();
  const h = new AuthHeader("Digest");
  const nonce = server.createNonce();
  h.set("username", "carrier").set("realm", "korus.example.com").set("nonce", nonce);
  h.set("uri", noQop.uri.toString());
  h.set(
    "response",
    computeDigestResponse({
      algorithm: "MD5",
      username: "carrier",
      realm: "korus.example.com",
      password: "s3cret",
      method: "INVITE",
      uri: noQop.uri.toString(),
      nonce,
    }),
  );
  noQop.setHeader("Authorization", h.toString());
  t.equal(server.authenticate(noQop).ok, false);
  t.equal(serverWith(now, { allowNoQop: true }).authenticate(noQop).ok, true, "allowed when configured");
  // An algorithm the server did not offer.
  const sha512 = serverWith(now, { algorithms: ["SHA-512-256"] });
  const c512 = sha512.challenge(invite());
  t.equal(c512.authHeaders("WWW-Authenticate")[0]?.algorithm, "SHA-512-256");
  const r512 = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(r512, c512);
  t.equal(sha512.authenticate(r512).ok, true, "SHA-512-256 round trip");
  t.equal(server.authenticate(r512).ok ? "" : "refused", "refused", "SHA-512-256 not offered by the default server");
});

t.test("replay tracking is bounded and eviction never reopens a replay window", async (t) => {
  const now = { t: 100_000 };
  const server = serverWith(now, { maxTrackedNonces: 4 });
  const clients: { client: DigestClient; first: SipRequest }[] = [];
  for (let i = 0; i < 10; i++) {
    const client = new DigestClient({ username: "carrier", password: "s3cret" });
    const req = invite();
    now.t += 10;
    client.authorize(req, server.challenge(invite()));
    t.equal(server.authenticate(req).ok, true);
    clients.push({ client, first: req });
  }
  t.equal(server.trackedNonces, 4, "bounded");
  // The first client's nonce was evicted: replaying its first request must not be accepted.
  const replay = server.authenticate(retry(clients[0]!.first, 9));
  t.equal(replay.ok ? "" : replay.reason, "stale");
  // A tracked client continues normally.
  const cont = invite();
  clients[9]!.client.reauthorize(cont);
  t.equal(server.authenticate(cont).ok, true);
});

t.test("proxy mode: 407 with Proxy-Authenticate, answered with Proxy-Authorization", async (t) => {
  const now = { t: 1 };
  const server = serverWith(now, { proxy: true });
  const v = server.authenticate(invite());
  if (v.ok) {
    t.fail("expected a challenge");
    return;
  }
  t.equal(v.response.status, 407);
  t.equal(v.response.authHeaders("Proxy-Authenticate").length, 2);
  const req = invite();
  new DigestClient({ username: "carrier", password: "s3cret" }).authorize(req, v.response);
  t.equal(req.hasHeader("Authorization"), false);
  t.equal(req.authHeaders("Proxy-Authorization").length, 1);
  t.equal(server.authenticate(req).ok, true);
});

t.test("client: realm filter, unusable challenges, rejected credentials", async (t) => {
  const mk = (lines: string): SipResponse =>
    response(
      "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n" +
        `To: <sip:a@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n${lines}Content-Length: 0\r\n\r\n`,
    );
  const client = new DigestClient({ username: "u", password: "p", realm: "right" });
  t.throws(
    () => client.authorize(register(), mk('WWW-Authenticate: Digest realm="wrong", nonce="n", qop="auth"\r\n')),
    DigestChallengeError,
  );
  t.throws(
    () =>
      client.authorize(register(), mk('WWW-Authenticate: Digest realm="right", nonce="n", algorithm=AKAv1-MD5\r\n')),
    DigestChallengeError,
  );
  t.throws(() => client.authorize(register(), mk('WWW-Authenticate: Basic realm="right"\r\n')), DigestChallengeError);
  t.throws(() => client.authorize(register(), mk("")), DigestChallengeError);

  const ch = mk('WWW-Authenticate: Digest realm="right", nonce="abc", qop="auth-int"\r\n');
  const r1 = register();
  client.authorize(r1, ch);
  t.equal(r1.authHeaders("Authorization")[0]?.get("qop"), "auth-int", "auth-int when it is the only qop");
  t.equal(r1.authHeaders("Authorization")[0]?.get("algorithm"), undefined, "no algorithm echoed when none offered");
  t.throws(() => client.authorize(register(2), ch), DigestChallengeError, "same nonce, not stale: wrong password");
  const stale = mk('WWW-Authenticate: Digest realm="right", nonce="abc", qop="auth", stale=true\r\n');
  const r3 = register(3);
  client.authorize(r3, stale);
  t.ok(r3.hasHeader("Authorization"), "stale=true is retried");
  t.equal(formatNonceCount(255), "000000ff");
  t.equal(parseDigestAlgorithm(undefined), "MD5");
  t.equal(parseDigestAlgorithm("sha-256-SESS"), "SHA-256-sess");
  t.throws(() => parseDigestAlgorithm("SHA-1"), UnsupportedDigestAlgorithmError);
});

t.test("-sess variants round-trip", async (t) => {
  const now = { t: 1 };
  for (const algorithm of ["MD5-sess", "SHA-256-sess"] as const) {
    const server = serverWith(now, { algorithms: [algorithm] });
    const req = invite();
    new DigestClient({ username: "carrier", password: "s3cret" }).authorize(req, server.challenge(invite()));
    t.equal(req.authHeaders("Authorization")[0]?.algorithm, algorithm);
    t.equal(server.authenticate(req).ok, true, algorithm);
  }
});

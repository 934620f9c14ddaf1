/**
 * The admin console's gate (src/admin/access.ts): which client addresses may reach it (loopback, admin.allowNetworks,
 * IPv4-mapped forms), the token compare, the Cookie parser, and the session list (login, expiry, cap, logout).
 */
import type { IncomingMessage } from "node:http";
import t from "tap";
import {
  AdminAccess,
  cookieValue,
  FAILURE_WINDOW_MS,
  MAX_LOGIN_FAILURES,
  MAX_SESSIONS,
  networkList,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  sourceAllowed,
} from "../../../../src/admin/access.js";

/** A request as the gate reads it: socket address and headers. */
const req = (headers: Record<string, string>, remoteAddress = "127.0.0.1"): IncomingMessage =>
  ({ headers, socket: { remoteAddress } }) as IncomingMessage;

t.test("loopback only by default; admin.allowNetworks opens those networks", async (t) => {
  const none = networkList([]);
  for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    t.ok(sourceAllowed(a, none), `${a} is loopback`);
  }
  for (const a of ["10.0.0.5", "192.168.1.20", "::ffff:10.0.0.5", "2001:db8::1", "0.0.0.0", "", "not-an-ip"]) {
    t.notOk(sourceAllowed(a, none), `${a} refused`);
  }
  const lan = networkList(["10.0.0.0/8", "192.168.1.0/24"]);
  t.ok(sourceAllowed("10.20.30.40", lan));
  t.ok(sourceAllowed("::ffff:10.20.30.40", lan), "IPv4-mapped form");
  t.ok(sourceAllowed("192.168.1.254", lan));
  t.notOk(sourceAllowed("192.168.2.1", lan));
  t.notOk(sourceAllowed("11.0.0.1", lan));
  const access = new AdminAccess("tok", ["10.0.0.0/8"]);
  t.ok(access.allowedSource(req({}, "10.1.1.1")));
  t.notOk(access.allowedSource(req({}, "172.16.0.1")));
});

t.test("the token: bearer header only, exact match", async (t) => {
  const access = new AdminAccess("s3cret-token", []);
  t.ok(access.tokenMatches("s3cret-token"));
  for (const bad of ["s3cret-toke", "s3cret-token ", "S3CRET-TOKEN", "", undefined, "x".repeat(5000)]) {
    t.notOk(access.tokenMatches(bad), `refused: ${String(bad).slice(0, 20)}`);
  }
  t.ok(access.authenticated(req({ authorization: "Bearer s3cret-token" })));
  t.notOk(access.authenticated(req({ authorization: "Bearer wrong" })));
  t.notOk(access.authenticated(req({ authorization: "Basic s3cret-token" })));
  t.notOk(access.authenticated(req({})), "nothing presented");
  // A wrong bearer is not rescued by a valid cookie: the header is what the client asserted.
  const id = access.login("s3cret-token") ?? "";
  t.notOk(access.authenticated(req({ authorization: "Bearer nope", cookie: `${SESSION_COOKIE}=${id}` })));
});

t.test("cookie parsing", async (t) => {
  t.equal(cookieValue("a=1; korus_admin=xyz; b=2", "korus_admin"), "xyz");
  t.equal(cookieValue("korus_admin_x=1; korus_admin=", "korus_admin"), "");
  t.equal(cookieValue("other=1", "korus_admin"), undefined);
  t.equal(cookieValue(undefined, "korus_admin"), undefined);
});

t.test("sessions: login with the right token, expiry, cap, logout", async (t) => {
  let now = 1_000_000;
  const access = new AdminAccess("tok", [], () => now);
  t.equal(access.login("wrong"), null, "a wrong token gets no session");
  t.equal(access.sessions, 0);
  const id = access.login("tok");
  t.type(id, "string");
  const withCookie = req({ cookie: `${SESSION_COOKIE}=${id ?? ""}` });
  t.ok(access.authenticated(withCookie), "the cookie authenticates");
  t.notOk(access.authenticated(req({ cookie: `${SESSION_COOKIE}=${(id ?? "").slice(1)}` })), "a forged id does not");
  now += SESSION_TTL_MS;
  t.notOk(access.authenticated(withCookie), "expired");
  t.equal(access.sessions, 0, "and forgotten");

  const first = access.login("tok") ?? "";
  for (let i = 0; i < MAX_SESSIONS + 10; i++) {
    access.login("tok");
  }
  t.equal(access.sessions, MAX_SESSIONS, "the session list is capped");
  t.notOk(access.authenticated(req({ cookie: `${SESSION_COOKIE}=${first}` })), "the oldest went first");

  const last = access.login("tok") ?? "";
  const r = req({ cookie: `${SESSION_COOKIE}=${last}` });
  t.ok(access.authenticated(r));
  access.logout(r);
  t.notOk(access.authenticated(r), "logged out");
});

t.test("wrong tokens from one address are throttled for a minute; other addresses are not", async (t) => {
  let now = 5_000_000;
  const access = new AdminAccess("tok", [], () => now);
  for (let i = 0; i < MAX_LOGIN_FAILURES; i++) {
    t.equal(access.login("guess", "10.0.0.9"), null);
  }
  t.ok(access.throttled("10.0.0.9"));
  t.equal(access.login("tok", "10.0.0.9"), null, "even the right token waits");
  t.notOk(access.throttled("127.0.0.1"));
  t.type(access.login("tok", "127.0.0.1"), "string", "another address logs in");
  now += FAILURE_WINDOW_MS;
  t.type(access.login("tok", "10.0.0.9"), "string", "after the window");
});

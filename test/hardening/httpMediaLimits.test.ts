/**
 * Issue 9, HTTP media limits: a media server that answers slowly, never ends, or redirects forever cannot hold a
 * player (and its worker's memory and sockets) forever. openHttpMedia (the fetch every http(s) PlayerEndpoint uses)
 * is driven with small limits against loopback listeners: no response headers → refused after headersTimeoutMs;
 * an endless body → cut at maxBytes; a body that stalls → cut after idleTimeoutMs; a redirect loop → refused after
 * maxRedirects hops; an oversized Content-Length → refused before reading. Every socket is closed afterwards.
 */
import "../helpers/loopbackNamespace.js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Writable } from "node:stream";
import t from "tap";
import { CompiledHttpPolicy, openHttpMedia, type HttpLimits } from "../../media/files/httpMedia.js";

t.setTimeout(30_000);
const limits: HttpLimits = { maxRedirects: 3, headersTimeoutMs: 300, idleTimeoutMs: 300, maxBytes: 64 * 1024 };
const policy = new CompiledHttpPolicy({ allowHosts: [], allowNetworks: ["127.0.0.0/8"] });
const open = new Set<Socket>();
let hops = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  switch (req.url) {
    case "/silent":
      return; // never answers
    case "/endless": {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 1);
      const push = (): void => {
        while (res.write(chunk)) {
          // fill the socket
        }
        res.once("drain", push);
      };
      push();
      return;
    }
    case "/stall":
      res.writeHead(200);
      res.write(Buffer.alloc(1000, 1)); // then nothing, connection kept open
      return;
    case "/loop":
      hops++;
      res.writeHead(302, { location: "/loop" }).end();
      return;
    case "/huge":
      res.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
      res.write(Buffer.alloc(10, 1));
      return;
    default:
      res.writeHead(404).end();
  }
});
server.on("connection", (s: Socket) => {
  open.add(s);
  s.on("close", () => open.delete(s));
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

/** A sink that takes everything (a fast ffmpeg). */
const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });

async function until(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

t.test("no response headers: refused after headersTimeoutMs", { timeout: 5000 }, async (t) => {
  const start = Date.now();
  await t.rejects(openHttpMedia(`${base}/silent`, policy, new AbortController().signal, limits), {
    name: "HttpMediaError",
    message: /no response .* within 300 ms/,
  });
  t.ok(Date.now() - start < 2000, "promptly");
  t.ok(await until(() => open.size === 0), "the socket is closed");
});

t.test("an endless body is cut at maxBytes", { timeout: 5000 }, async (t) => {
  const body = await openHttpMedia(`${base}/endless`, policy, new AbortController().signal, limits);
  const error = await new Promise<string | undefined>((r) => body.pipeInto(sink(), r));
  t.match(error, /larger than 65536 bytes/);
  t.ok(await until(() => open.size === 0), "the socket is closed");
});

t.test("a stalled body is cut after idleTimeoutMs", { timeout: 5000 }, async (t) => {
  const body = await openHttpMedia(`${base}/stall`, policy, new AbortController().signal, limits);
  const error = await new Promise<string | undefined>((r) => body.pipeInto(sink(), r));
  t.match(error, /no data .* for 300 ms/);
  t.ok(await until(() => open.size === 0), "the socket is closed");
});

t.test("a redirect loop stops after maxRedirects", { timeout: 5000 }, async (t) => {
  await t.rejects(openHttpMedia(`${base}/loop`, policy, new AbortController().signal, limits), {
    name: "HttpMediaError",
    message: /more than 3 redirects/,
  });
  t.equal(hops, 4, "the first request and 3 redirects");
});

t.test("an oversized Content-Length is refused before the body is read", { timeout: 5000 }, async (t) => {
  await t.rejects(openHttpMedia(`${base}/huge`, policy, new AbortController().signal, limits), {
    name: "HttpMediaError",
    message: /larger than/,
  });
  t.ok(await until(() => open.size === 0), "the socket is closed");
});

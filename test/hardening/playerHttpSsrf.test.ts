/**
 * Issue 9, HTTP media without SSRF: a client that reaches the WebSocket used to make ffmpeg fetch any URL, redirects
 * included (ffmpeg resolved names and followed redirects itself). Now Korus fetches http(s) media itself under
 * `httpMedia`, checks every hop before connecting, and ffmpeg only reads a pipe.
 *
 * A "forbidden target" listens on 127.0.0.1 (and ::1) and counts TCP connections; it would serve a tone to anyone.
 * - Default config: URLs to it by IPv4, decimal IPv4, `localhost`, `[::1]` and `[::ffff:127.0.0.1]`, and to
 *   link-local (169.254.169.254, fe80::), private, ULA and multicast addresses raise RESOURCE_ERROR_NOT_AUTHORIZED; ftp:, gopher:, data:, concat:, subfile: are refused as unsupported URIs; the
 *   target gets no connection at all.
 * - `allowNetworks: [127.0.0.2/32]`, `allowHosts: [127.0.0.2, localhost]`: an allowed origin on 127.0.0.2 plays
 *   (800 Hz at the phone); its redirects to 127.0.0.1 (host not allowed) and to localhost (allowed name, refused
 *   address) are refused at the redirect, and the target still gets no connection.
 */
import "../helpers/loopbackNamespace.js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import t from "tap";
import { startKorus } from "../helpers/server.js";
import { PlayerSession, toneWav } from "./playerFixtures.js";

t.setTimeout(90_000);
const tone = toneWav(800, 1);

/** An HTTP server that serves the tone at every path (and redirects /to?u=URL) and counts connections. */
async function listener(host: string, port = 0): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const to = u.searchParams.get("u");
    if (u.pathname === "/to" && to !== null) {
      res.writeHead(302, { location: to }).end();
      return;
    }
    res.writeHead(200, { "content-type": "audio/wav", "content-length": tone.length }).end(tone);
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

const target = await listener("127.0.0.1");
const target6 = await listener("::1", target.port).catch(() => undefined);
const forbiddenConnections = (): number => target.connections() + (target6?.connections() ?? 0);
const p = target.port;

t.test("default config: loopback in every spelling and other schemes are refused; no connection", async (t) => {
  const k = await startKorus(t, { workers: 1 });
  const s = await PlayerSession.open(k.url);
  t.teardown(() => s.close());
  for (const uri of [
    `http://127.0.0.1:${p}/a.wav`,
    `http://2130706433:${p}/a.wav`,
    `http://0x7f.1:${p}/a.wav`,
    `http://localhost:${p}/a.wav`,
    `https://localhost:${p}/a.wav`,
    `http://[::1]:${p}/a.wav`,
    `http://[::ffff:127.0.0.1]:${p}/a.wav`,
    `http://0.0.0.0:${p}/a.wav`,
    // Never connected to (refused before any connection): link-local (cloud metadata), private, multicast, ULA.
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/a.wav",
    "http://192.168.1.1/a.wav",
    "http://224.0.0.1/a.wav",
    "http://[fe80::1]/a.wav",
    "http://[fd00::1]/a.wav",
    "http://[ff02::1]/a.wav",
    "http://[::ffff:a9fe:a9fe]/a.wav",
  ]) {
    const got = await s.play(uri);
    t.match(got.error, { type: "RESOURCE_ERROR_NOT_AUTHORIZED", errorCode: 15 }, `${uri}: NOT_AUTHORIZED`);
    t.match(String(got.error?.["description"]), /refused/, `${uri}: ${String(got.error?.["description"])}`);
  }
  for (const uri of [
    `ftp://127.0.0.1:${p}/a.wav`,
    `gopher://127.0.0.1:${p}/_GET%20/`,
    `data:audio/wav;base64,${tone.subarray(0, 64).toString("base64")}`,
    `concat:http://127.0.0.1:${p}/a.wav|http://127.0.0.1:${p}/b.wav`,
    `subfile:,,start,0,end,0,,:http://127.0.0.1:${p}/a.wav`,
  ]) {
    const got = await s.play(uri);
    t.match(got.error, { type: "RESOURCE_ERROR_NOT_FOUND" }, `${uri}: refused`);
    t.match(String(got.error?.["description"]), /unsupported URI/, `${uri}: unsupported URI`);
  }
  t.equal(forbiddenConnections(), 0, "the forbidden target received no connection");
});

t.test("allow-listed origin plays; its redirects to forbidden places are refused at the redirect", async (t) => {
  const allowed = await listener("127.0.0.2");
  const k = await startKorus(t, {
    workers: 1,
    config: { httpMedia: { allowHosts: ["127.0.0.2", "localhost"], allowNetworks: ["127.0.0.2/32"] } },
  });
  const s = await PlayerSession.open(k.url);
  t.teardown(() => s.close());
  const origin = `http://127.0.0.2:${allowed.port}`;
  for (const to of [`http://127.0.0.1:${p}/a.wav`, `http://localhost:${p}/a.wav`, `http://[::1]:${p}/a.wav`]) {
    const uri = `${origin}/to?u=${encodeURIComponent(to)}`;
    const got = await s.play(uri);
    t.match(got.error, { type: "RESOURCE_ERROR_NOT_AUTHORIZED", errorCode: 15 }, `redirect to ${to}: NOT_AUTHORIZED`);
    t.notOk(got.endOfStream, `redirect to ${to}: not played`);
  }
  const direct = await s.play(`http://localhost:${p}/a.wav`);
  t.match(direct.error, { type: "RESOURCE_ERROR_NOT_AUTHORIZED" }, "an allowed name resolving to loopback is refused");
  t.equal(forbiddenConnections(), 0, "the forbidden target received no connection");

  for (const uri of [`${origin}/tone.wav`, `${origin}/to?u=${encodeURIComponent(`${origin}/tone.wav`)}`]) {
    const got = await s.playToPhone(uri);
    t.equal(got.error, undefined, `${uri}: no Error`);
    t.ok(got.endOfStream, `${uri}: EndOfStream`);
    t.ok(Math.abs(got.hz - 800) < 10, `${uri}: the phone hears ${got.hz.toFixed(1)} Hz`);
  }
  t.ok(allowed.connections() >= 3, "the allowed origin was reached");
});

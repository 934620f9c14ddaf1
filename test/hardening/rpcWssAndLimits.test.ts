/**
 * The Kurento port over TLS (WSS, `server.tlsCertFile`/`tlsKeyFile`, a self-signed certificate made for the test),
 * and the WebSocket connection limits: over `server.maxConnectionsPerAddress` an upgrade gets HTTP 429, over
 * `server.maxConnections` HTTP 503, never an upgrade; a closed connection frees its place.
 */
import "../helpers/loopbackNamespace.js";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import t from "tap";
import WebSocket from "ws";
import { startTestServer } from "../helpers/inProcessServer.js";

t.setTimeout(60_000);

/** Resolves with the HTTP status of the upgrade (101 when it opened) and the socket, if open. */
const connect = (url: string, opts: WebSocket.ClientOptions = {}): Promise<{ status: number; ws?: WebSocket }> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once("open", () => resolve({ status: 101, ws }));
    ws.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once("error", reject);
  });

const ask = (ws: WebSocket, msg: Record<string, unknown>): Promise<Record<string, unknown>> =>
  new Promise((resolve) => {
    ws.once("message", (d: Buffer) => resolve(JSON.parse(d.toString("utf8")) as Record<string, unknown>));
    ws.send(JSON.stringify(msg));
  });

t.test("WSS on the Kurento port", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-wss-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
      ...["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
    ],
    { stdio: "ignore" },
  );
  const server = await startTestServer({ server: { tlsCertFile: cert, tlsKeyFile: key } });
  t.teardown(() => server.stop());
  const wss = `wss://127.0.0.1:${server.port}/kurento`;
  const { status, ws } = await connect(wss, { ca: readFileSync(cert) });
  t.equal(status, 101, "wss:// opens with the certificate as CA");
  const pong = await ask(ws!, { jsonrpc: "2.0", id: 1, method: "ping" });
  t.same(pong["result"], { value: "pong" }, "JSON-RPC over TLS");
  ws!.close();
  await t.rejects(connect(`ws://127.0.0.1:${server.port}/kurento`), "plain ws:// is not served");
  await t.rejects(connect(wss), "an untrusted certificate is refused by the client");
  const health = await new Promise<string>((resolve, reject) => {
    https
      .get(`https://127.0.0.1:${server.port}/health`, { ca: readFileSync(cert) }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString("utf8")));
        res.on("end", () => resolve(body));
      })
      .on("error", reject);
  });
  t.match(health, /"status":"ok"/, "/health over HTTPS");
});

t.test("connection limits: 429 per address, 503 in total", async (t) => {
  const server = await startTestServer({ server: { maxConnections: 3, maxConnectionsPerAddress: 2 } });
  t.teardown(() => server.stop());
  const url = (host: string): string => `ws://${host}:${server.port}/kurento`;
  const a1 = await connect(url("127.0.0.1"));
  const a2 = await connect(url("127.0.0.1"));
  t.same([a1.status, a2.status], [101, 101]);
  t.equal((await connect(url("127.0.0.1"))).status, 429, "a third connection from the address: 429");
  // Another loopback address is another client address.
  const b1 = await connect(url("127.0.0.1"), { localAddress: "127.0.0.2" });
  t.equal(b1.status, 101);
  t.equal((await connect(url("127.0.0.1"), { localAddress: "127.0.0.3" })).status, 503, "over the total: 503");
  const closed = new Promise((r) => a1.ws!.once("close", r));
  a1.ws!.close();
  await closed;
  await new Promise((r) => setTimeout(r, 100));
  const again = await connect(url("127.0.0.1"));
  t.equal(again.status, 101, "a closed connection frees its place");
  for (const c of [a2, b1, again]) {
    c.ws?.close();
  }
});

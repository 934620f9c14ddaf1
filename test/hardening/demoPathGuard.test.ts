/**
 * Issue 9, defect 11: the demo guard tested the raw URL, so `/x/../demo/gateway`, `/./demo/gateway` and
 * absolute-form URLs served the page to remote clients. Now every request is routed and guarded on one normalised
 * path.
 *
 * A remote client, honestly: inside the loopback-only namespace the test adds 192.0.2.10 (TEST-NET-1, not a
 * loopback address) to `lo`, the server listens on 0.0.0.0, and the client connects from 192.0.2.10, so the
 * server sees a non-loopback peer address. A loopback client (127.0.0.1) still gets the page, through the same
 * normalised routing.
 */
import { inLoopbackNamespace } from "../helpers/loopbackNamespace.js";
import { execFileSync } from "node:child_process";
import net from "node:net";
import t from "tap";
import { startKorus } from "../helpers/server.js";

t.setTimeout(60_000);

const REMOTE = "192.0.2.10";

/** Sends one raw HTTP/1.1 request from `from` to `host:port` and resolves with the status code. */
const rawStatus = (host: string, port: number, from: string, request: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress: from });
    let buf = "";
    s.setTimeout(5000, () => s.destroy(new Error("no answer")));
    s.on("connect", () => s.write(request));
    s.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(buf);
      if (m !== null) {
        resolve(Number(m[1]));
        s.destroy();
      }
    });
    s.on("error", reject);
    s.on("close", () => reject(new Error(`closed without a status: ${JSON.stringify(buf)}`)));
  });

const get = (target: string, extra = ""): string =>
  `GET ${target} HTTP/1.1\r\nHost: korus.test\r\n${extra}Connection: close\r\n\r\n`;
const upgrade = (target: string): string =>
  get(
    target,
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
  );

t.test("the demo is refused to a remote client however the path is spelled", async (t) => {
  t.ok(inLoopbackNamespace, "runs in the loopback-only namespace");
  execFileSync("ip", ["addr", "add", `${REMOTE}/32`, "dev", "lo"]);
  const server = await startKorus(t, { workers: 1, config: { server: { host: "0.0.0.0" }, sip: { enabled: false } } });
  const spellings = [
    "/demo/gateway",
    "/x/../demo/gateway",
    "/./demo/gateway",
    "//demo/gateway",
    "/x/%2e%2e/demo/gateway",
    "/x/%2E%2E/demo/app.js",
    "/demo//gateway",
    "/demo\\gateway",
    `http://${REMOTE}/demo/gateway`,
    "http://elsewhere.example/x/../demo/gateway",
  ];
  for (const target of spellings) {
    t.equal(await rawStatus(REMOTE, server.port, REMOTE, get(target)), 403, `remote GET ${target}: 403`);
  }
  for (const target of ["/demo/gateway/ws", "/x/../demo/gateway/ws", "/./demo/gateway/ws", "//demo/gateway/ws"]) {
    t.equal(await rawStatus(REMOTE, server.port, REMOTE, upgrade(target)), 403, `remote upgrade ${target}: 403`);
  }
  t.equal(await rawStatus("127.0.0.1", server.port, "127.0.0.1", get("/x/../demo/gateway")), 200, "local: served");
  t.equal(await rawStatus("127.0.0.1", server.port, "127.0.0.1", get("/./health")), 200, "routes see the same path");
});

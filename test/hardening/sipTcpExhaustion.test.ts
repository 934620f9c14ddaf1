/**
 * Issue 9 defect 3: SIP over TCP could be held open without limit. At the real server (dist/), in a loopback-only
 * namespace, with a trunk on 127.0.0.2–127.0.0.4 (so 127.0.0.1 is an unknown source) and small limits:
 * - a connection from an unknown source is closed at accept (the ACL);
 * - past `maxPerSource` and `maxTotal`, new connections are closed at once; idle ones are closed after
 *   `idleTimeoutS`; /health and a new call with echoed RTP still work;
 * - a partial message (headers without the empty line, or a Content-Length larger than the body) is cut off after
 *   `partialMessageTimeoutMs`;
 * - garbage with a readable request line gets 400 and the connection is closed; so does a message without
 *   Content-Length (a framing error).
 */
import "../helpers/loopbackNamespace.js";
import net from "node:net";
import t from "tap";
import { freeTcpPort, reserveRtpRange } from "../helpers/ports.js";
import { startKorus, type KorusProcess } from "../helpers/server.js";
import { echoCall, rawRequest, sleep, uaAt } from "./sipPeer.js";

t.setTimeout(60_000);

interface Conn {
  socket: net.Socket;
  data: string;
  closedAt: number | undefined;
}

/** Opens a TCP connection from `local` and tracks what it receives and when it closes. */
function open(port: number, local: string): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: local });
    const c: Conn = { socket, data: "", closedAt: undefined };
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      c.data += d;
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      c.closedAt = Date.now();
    });
    socket.once("connect", () => resolve(c));
    socket.once("error", reject);
  });
}

const waitClosed = async (c: Conn, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (c.closedAt === undefined && Date.now() < deadline) {
    await sleep(20);
  }
  return c.closedAt !== undefined;
};

const OPTIONS = (from: string, n: number): string =>
  rawRequest("OPTIONS", "sip:korus@127.0.0.1", [
    `Via: SIP/2.0/TCP ${from}:5060;branch=z9hG4bK-tcp${n}`,
    "Max-Forwards: 70",
    `From: <sip:t@${from}>;tag=f${n}`,
    "To: <sip:korus@127.0.0.1>",
    `Call-ID: tcp-${n}@${from}`,
    "CSeq: 1 OPTIONS",
  ]);

let k: KorusProcess;
let sipPort: number;

t.before(async () => {
  sipPort = await freeTcpPort();
  k = await startKorus(undefined, {
    workers: 1,
    config: {
      sip: {
        port: sipPort,
        trunks: [
          {
            name: "carrier",
            peers: ["127.0.0.2", "127.0.0.3", "127.0.0.4"],
            transport: "tcp",
            auth: "ip",
            optionsIntervalS: 0,
          },
        ],
        connections: {
          maxTotal: 12,
          maxPerSource: 5,
          idleTimeoutS: 2,
          partialMessageTimeoutMs: 500,
          fdReserve: 64,
        },
      },
    },
  });
});
t.teardown(() => k.stop());

t.test("an unknown source's connection is closed at accept", async (t) => {
  const c = await open(sipPort, "127.0.0.1");
  t.ok(await waitClosed(c, 1000), "closed within 1 s, long before the idle timeout");
  t.equal(c.data, "", "no byte was sent to it");
});

t.test("per-source and total limits, idle timeout; /health and a call still work", async (t) => {
  const conns: Conn[] = [];
  t.teardown(() => conns.forEach((c) => c.socket.destroy()));
  for (const local of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) {
    for (let i = 0; i < 7; i++) {
      conns.push(await open(sipPort, local));
    }
  }
  await sleep(400);
  const byHost = (h: string): Conn[] => conns.filter((c) => c.socket.localAddress === h);
  const openNow = (list: Conn[]): number => list.filter((c) => c.closedAt === undefined).length;
  t.equal(openNow(byHost("127.0.0.2")), 5, "127.0.0.2: 5 of 7 stay open (maxPerSource 5)");
  t.equal(openNow(byHost("127.0.0.3")), 5, "127.0.0.3: 5 of 7 stay open");
  t.equal(openNow(byHost("127.0.0.4")), 2, "127.0.0.4: only 2 more fit under maxTotal 12");

  const health = await fetch(`${k.httpUrl}/health`);
  t.equal(health.status, 200, "/health answers while the connection limit is reached");
  const body = (await health.json()) as { sip?: { stats?: { connectionsRefused?: number } } };
  t.ok((body.sip?.stats?.connectionsRefused ?? 0) >= 9, "refusals are counted in /health sip.stats");

  // An open connection serves SIP (the limits did not break the accepted ones).
  const first = conns.find((c) => c.closedAt === undefined);
  first?.socket.write(OPTIONS("127.0.0.2", 1));
  await sleep(300);
  t.match(first?.data ?? "", /^SIP\/2\.0 200/, "an accepted connection gets its OPTIONS answered");

  const rtp = await reserveRtpRange();
  t.teardown(() => rtp.release());
  const { ua, close } = await uaAt("127.0.0.2", await freeTcpPort());
  t.teardown(close);
  const call = await echoCall(ua, "127.0.0.2", sipPort, rtp.min);
  t.ok(call.answered, `a new call is answered while the TCP limit is reached (status ${call.status})`);
  t.ok(call.echoed >= 1, `its RTP comes back byte for byte (${call.echoed} packets)`);

  const start = Date.now();
  for (const c of conns) {
    await waitClosed(c, 4000 - (Date.now() - start));
  }
  t.equal(openNow(conns), 0, "every idle connection is closed after idleTimeoutS (2 s)");
});

t.test("a partial message is cut off after partialMessageTimeoutMs", async (t) => {
  const head = await open(sipPort, "127.0.0.2");
  head.socket.write("INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bK-p1\r\n");
  const longBody = await open(sipPort, "127.0.0.3");
  longBody.socket.write(
    `${rawRequest("MESSAGE", "sip:x@127.0.0.1", [
      "Via: SIP/2.0/TCP 127.0.0.3;branch=z9hG4bK-p2",
      "From: <sip:a@127.0.0.3>;tag=1",
      "To: <sip:x@127.0.0.1>",
      "Call-ID: p2",
      "CSeq: 1 MESSAGE",
      "Content-Length: 40000",
    ])}short body`,
  );
  t.teardown(() => {
    head.socket.destroy();
    longBody.socket.destroy();
  });
  const t0 = Date.now();
  t.ok(await waitClosed(head, 1500), `headers without an end are closed (${Date.now() - t0} ms)`);
  t.ok(await waitClosed(longBody, 1500), "a body shorter than its Content-Length is closed");
});

t.test("garbage: 400, then the connection is closed", async (t) => {
  const bad = await open(sipPort, "127.0.0.2");
  bad.socket.write(
    rawRequest("INVITE", "sip:x@127.0.0.1", [
      "Via: SIP/2.0/TCP 127.0.0.2;branch=z9hG4bK-g1",
      "From: <sip:a@127.0.0.2>;tag=1",
      "To: <sip:x@127.0.0.1>",
      "CSeq: 1 INVITE",
    ]),
  );
  const noLength = await open(sipPort, "127.0.0.3");
  noLength.socket.write(
    "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.3;branch=z9hG4bK-g2\r\n" +
      "From: <sip:a@127.0.0.3>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: g2\r\nCSeq: 1 OPTIONS\r\n\r\n",
  );
  t.teardown(() => {
    bad.socket.destroy();
    noLength.socket.destroy();
  });
  t.ok(await waitClosed(bad, 1500), "a request without Call-ID: connection closed");
  t.match(bad.data, /^SIP\/2\.0 400/, "after a 400");
  t.ok(await waitClosed(noLength, 1500), "a request without Content-Length (framing error): closed");
  t.match(noLength.data, /^SIP\/2\.0 400/, "after a 400");
});

/**
 * Issue 9 defect 6: stateless answers to unknown sources could be redirected. At the real server (dist/), in a
 * loopback-only namespace, with its only trunk on 127.0.0.2 (127.0.0.1 is unknown): requests whose Via names
 * another host by `maddr`, by `received`, by its sent-by (without rport) or asks for TCP get their 403 back at the
 * packet's source (our UDP socket) only; a listener at the named address sees no datagram and no TCP connection.
 */
import "../helpers/loopbackNamespace.js";
import dgram from "node:dgram";
import net from "node:net";
import t from "tap";
import { freeTcpPort } from "../helpers/ports.js";
import { startKorus } from "../helpers/server.js";
import { rawRequest, sleep } from "./sipPeer.js";

t.setTimeout(45_000);

const VICTIM = "127.0.0.9";

t.test("403 to an unknown source goes to the packet source, never to the Via's target", async (t) => {
  const sipPort = await freeTcpPort();
  const k = await startKorus(undefined, {
    workers: 1,
    config: {
      sip: {
        port: sipPort,
        trunks: [{ name: "carrier", peers: ["127.0.0.2"], auth: "ip", optionsIntervalS: 0 }],
      },
    },
  });
  t.teardown(() => k.stop());

  // The "victim": UDP and TCP listeners on one port of another loopback address.
  const victimPort = await freeTcpPort();
  const victimUdp = dgram.createSocket("udp4");
  await new Promise<void>((r) => victimUdp.bind(victimPort, VICTIM, () => r()));
  const victimDatagrams: string[] = [];
  victimUdp.on("message", (m) => victimDatagrams.push(m.toString("latin1")));
  let victimConnections = 0;
  const victimTcp = net.createServer((s) => {
    victimConnections++;
    s.destroy();
  });
  await new Promise<void>((r) => victimTcp.listen(victimPort, VICTIM, () => r()));
  t.teardown(() => {
    victimUdp.close();
    victimTcp.close();
  });

  const client = dgram.createSocket("udp4");
  await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
  t.teardown(() => client.close());
  const answers: string[] = [];
  client.on("message", (m) => answers.push(m.toString("latin1")));

  const vias = {
    maddr: `SIP/2.0/UDP 127.0.0.1:${victimPort};maddr=${VICTIM};branch=z9hG4bK-m1`,
    received: `SIP/2.0/UDP ${VICTIM}:${victimPort};received=${VICTIM};rport=${victimPort};branch=z9hG4bK-m2`,
    sentBy: `SIP/2.0/UDP ${VICTIM}:${victimPort};branch=z9hG4bK-m3`,
    tcp: `SIP/2.0/TCP ${VICTIM}:${victimPort};branch=z9hG4bK-m4`,
    tcpMaddr: `SIP/2.0/TCP 127.0.0.1:${victimPort};maddr=${VICTIM};rport;branch=z9hG4bK-m5`,
  };
  let n = 0;
  for (const [name, via] of Object.entries(vias)) {
    for (const method of ["INVITE", "OPTIONS"]) {
      n++;
      const msg = rawRequest(method, `sip:x@127.0.0.1:${sipPort}`, [
        `Via: ${via}`,
        "Max-Forwards: 70",
        `From: <sip:a@${VICTIM}>;tag=${name}`,
        "To: <sip:x@127.0.0.1>",
        `Call-ID: redirect-${name}-${method}`,
        `CSeq: 1 ${method}`,
        `Contact: <sip:a@${VICTIM}:${victimPort}>`,
      ]);
      client.send(msg, sipPort, "127.0.0.1");
    }
  }
  const deadline = Date.now() + 3000;
  while (answers.length < n && Date.now() < deadline) {
    await sleep(50);
  }
  await sleep(500); // anything misdirected has had time to arrive
  t.equal(answers.length, n, `every request got its answer at the packet's source (${answers.length}/${n})`);
  t.ok(
    answers.every((a) => a.startsWith("SIP/2.0 403")),
    "all of them 403 (unknown source)",
  );
  t.same(victimDatagrams, [], "nothing was sent to the address in maddr / received / sent-by");
  t.equal(victimConnections, 0, "no TCP connection was opened to the Via's host");
});

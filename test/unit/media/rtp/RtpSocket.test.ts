import dgram from "node:dgram";
import t from "tap";
import type { Logger } from "../../../../media/logger.js";
import { PortAllocator } from "../../../../media/net/PortAllocator.js";
import { RtpSocket, type UdpAddress } from "../../../../media/net/RtpSocket.js";
import { buildRtp } from "../../../../media/rtp/RtpPacket.js";
import { buildReceiverReport } from "../../../../media/rtp/Rtcp.js";
import { reserveRtpRange } from "../../../helpers/ports.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

async function peer(): Promise<dgram.Socket & { got: Buffer[] }> {
  const s = dgram.createSocket("udp4") as dgram.Socket & { got: Buffer[] };
  s.got = [];
  s.on("message", (m) => s.got.push(m));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return s;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  for (let w = 0; !cond() && w < ms; w += 10) {
    await sleep(10);
  }
}

const addr = (s: dgram.Socket): UdpAddress => ({ address: "127.0.0.1", port: s.address().port });

t.test(
  "even port + RTCP on +1, latching, learning window, foreign drop, re-latch after silence, release",
  async (t) => {
    const range = await reserveRtpRange();
    t.teardown(() => range.release());
    const ports = new PortAllocator(range.min, range.max);
    const rtp: { from: UdpAddress; data: Buffer }[] = [];
    const rtcp: Buffer[] = [];
    const sock = await RtpSocket.open({
      ports,
      bindAddress: "127.0.0.1",
      logger,
      learningMs: 100,
      relatchSilenceMs: 800,
      onRtp: (d, from) => {
        if (d.length < 12) {
          return false; // "invalid": must not latch
        }
        rtp.push({ from, data: d });
        return true;
      },
      onRtcp: (d) => {
        rtcp.push(d);
        return true;
      },
    });
    const [a, b, c] = [await peer(), await peer(), await peer()];
    t.teardown(() => {
      sock.close();
      a.close();
      b.close();
      c.close();
    });
    t.equal(sock.port % 2, 0, "RTP port is even");
    t.equal(sock.rtcpPort, sock.port + 1);
    t.equal(ports.inUse, 1);

    // SDP says A; before any packet we send to A.
    sock.setRemote(addr(a), undefined, false);
    sock.sendRtp(buildRtp(0, false, 1, 0, 1, Buffer.from("to-a")));
    await until(() => a.got.length === 1);
    t.equal(a.got[0]?.subarray(12).toString(), "to-a");

    // An invalid datagram from B does not latch.
    b.send(Buffer.from("junk"), sock.port, "127.0.0.1");
    await sleep(50);
    t.equal(sock.latchedRtp, undefined, "no latch on an invalid packet");
    // A valid packet from B (NAT: SDP said A) latches B.
    b.send(buildRtp(0, false, 1, 0, 2, Buffer.from("b1")), sock.port, "127.0.0.1");
    await until(() => rtp.length === 1);
    t.same(sock.latchedRtp, addr(b));
    sock.sendRtp(buildRtp(0, false, 2, 0, 1, Buffer.from("to-b")));
    await until(() => b.got.length === 1);
    t.equal(b.got[0]?.subarray(12).toString(), "to-b", "symmetric RTP: replies go to the latched source");

    // Within the learning window C may take over.
    c.send(buildRtp(0, false, 1, 0, 3, Buffer.from("c1")), sock.port, "127.0.0.1");
    await until(() => rtp.length === 2);
    t.same(sock.latchedRtp, addr(c), "re-latched during learning");
    t.equal(sock.stats.relatches, 1);
    await sleep(150); // learning over
    // While C keeps sending, B is foreign.
    for (let i = 0; i < 5; i++) {
      c.send(buildRtp(0, false, 2 + i, 0, 3, Buffer.from("c")), sock.port, "127.0.0.1");
      b.send(buildRtp(0, false, 2 + i, 0, 2, Buffer.from("b")), sock.port, "127.0.0.1");
      await sleep(20);
    }
    await until(() => sock.stats.foreignPackets >= 5);
    t.equal(sock.stats.foreignPackets, 5, "packets from B dropped while C is live");
    t.same(sock.latchedRtp, addr(c));
    t.notOk(
      rtp.some((p) => p.from.port === addr(b).port && p.data.subarray(12).toString() === "b"),
      "none of B's reached the handler",
    );
    // C goes silent; after the silence B takes over.
    await sleep(900);
    b.send(buildRtp(0, false, 100, 0, 2, Buffer.from("b-again")), sock.port, "127.0.0.1");
    await until(() => sock.latchedRtp?.port === addr(b).port);
    t.same(sock.latchedRtp, addr(b), "re-latched after the latched source fell silent");

    // RTCP to the odd port, latched separately; muxed RTCP on the RTP port goes to onRtcp too.
    const rr = buildReceiverReport({ ssrc: 9, reports: [] });
    a.send(rr, sock.rtcpPort, "127.0.0.1");
    b.send(rr, sock.port, "127.0.0.1"); // muxed, from the latched RTP source
    c.send(rr, sock.port, "127.0.0.1"); // muxed, from a foreign source: dropped
    await until(() => rtcp.length === 2);
    await sleep(30);
    t.equal(rtcp.length, 2);
    sock.sendRtcp(rr);
    await until(() => a.got.length === 2);
    t.ok(a.got[1]?.equals(rr), "RTCP replies go to the RTCP source");

    // A new remote description forgets the latch.
    sock.setRemote(addr(a), undefined, true);
    t.equal(sock.latchedRtp, undefined);
    t.same(sock.rtcpTarget, addr(a), "rtcp-mux: RTCP to the RTP address");

    sock.close();
    sock.close();
    t.equal(ports.inUse, 0, "port pair returned on close (idempotent)");
    t.equal(sock.sendRtp(Buffer.alloc(12)), false, "a closed socket sends nothing");
  },
);

// The media timeout moved to MediaTimeoutStage (test/unit/media/endpoint/stages/MediaTimeoutStage.test.ts).
t.test("handler exceptions are contained: the datagram counts as invalid, the next one is handled", async (t) => {
  const range = await reserveRtpRange();
  t.teardown(() => range.release());
  const ports = new PortAllocator(range.min, range.max);
  let throwNext = true;
  let handled = 0;
  const sock = await RtpSocket.open({
    ports,
    bindAddress: "127.0.0.1",
    logger,
    onRtp: () => {
      if (throwNext) {
        throwNext = false;
        throw new Error("handler bug");
      }
      handled++;
      return true;
    },
    onRtcp: () => true,
  });
  const a = await peer();
  t.teardown(() => {
    sock.close();
    a.close();
  });
  sock.setRemote(addr(a), undefined, false);
  a.send(buildRtp(0, false, 1, 0, 1, Buffer.alloc(10)), sock.port, "127.0.0.1");
  await sleep(50);
  t.equal(sock.stats.invalidPackets, 1, "the throwing handler counted the datagram invalid");
  t.equal(sock.latchedRtp, undefined, "an invalid datagram does not latch");
  a.send(buildRtp(0, false, 2, 0, 1, Buffer.alloc(10)), sock.port, "127.0.0.1");
  await until(() => handled === 1);
  t.equal(sock.stats.invalidPackets, 1);
  t.same(sock.latchedRtp, addr(a), "the next valid datagram latches");
});

t.test("a taken pair is skipped and quarantined; exhaustion throws and leaks nothing", async (t) => {
  const range = await reserveRtpRange();
  t.teardown(() => range.release());
  const min = range.min % 2 === 0 ? range.min : range.min + 1;
  const blocker = dgram.createSocket("udp4");
  await new Promise<void>((r) => blocker.bind(min + 1, "127.0.0.1", r));
  t.teardown(() => blocker.close());
  const ports = new PortAllocator(min, min + 3);
  const opts = { ports, bindAddress: "127.0.0.1", logger, onRtp: () => true, onRtcp: () => true };
  const s = await RtpSocket.open(opts);
  t.equal(s.port, min + 2, "skipped the pair whose RTCP port was taken");
  await t.rejects(RtpSocket.open(opts), { name: "UnsupportedError" });
  s.close();
  t.equal(ports.inUse, 0);
});

for (const host of ["127.0.0.1", "localhost"]) {
  t.test(`packets built one after another in the reusable send buffer each reach ${host} intact`, async (t) => {
    const range = await reserveRtpRange();
    t.teardown(() => range.release());
    const ports = new PortAllocator(range.min, range.max);
    const sock = await RtpSocket.open({
      ports,
      bindAddress: "127.0.0.1",
      logger,
      onRtp: () => true,
      onRtcp: () => true,
    });
    const p = await peer();
    t.teardown(() => {
      sock.close();
      p.close();
    });
    // A host name is resolved a tick later: the buffer of a send still waiting must not be lent again.
    sock.setRemote({ address: host, port: p.address().port }, undefined, false);
    const sent: string[] = [];
    let first: Buffer | undefined;
    for (let i = 0; i < 200; i++) {
      const text = `packet-${i}`;
      const b = sock.rtpBuffer(12 + text.length);
      first ??= b;
      const pkt = buildRtp(0, false, i, 0, 1, Buffer.from(text));
      pkt.copy(b);
      t.ok(sock.sendRtp(b.subarray(0, pkt.length)));
      sent.push(text);
    }
    await until(() => p.got.length === sent.length);
    // Sorted: a host name's sends leave in the order the resolver answers.
    t.same(
      p.got.map((m) => m.subarray(12).toString()).sort(),
      [...sent].sort(),
      "every packet has its own content: a reused buffer never overwrote one still to be sent",
    );
    if (host === "127.0.0.1") {
      t.equal(sock.rtpBuffer(100), first, "the same buffer is lent again while every send left at once");
      t.not(sock.rtpBuffer(4000), first, "a larger packet gets a new buffer");
    }
  });
}

/**
 * Issue 9, defect 2: a peer's SDP with `m=audio 65535` (no rtcp-mux) made Korus send its RTCP BYE to port 65536 on
 * release; the send threw before the sockets closed, so every such call leaked its port pair for good (26 offers
 * used up a 100-port range). Now such an offer or answer is refused with 40201 before a port is opened, and
 * RtpSocket.close() closes its sockets whatever the last send did.
 *
 * Attack level: offers and answers from a hostile peer through a real media worker (as the JSON-RPC layer sends
 * them), in a worker with a 10-pair RTP range; afterwards every port of the range is bound by the test itself.
 * Runs in a loopback-only network namespace: without the fix Korus sends to 127.0.0.1:65535.
 */
import "../helpers/loopbackNamespace.js";
import dgram from "node:dgram";
import t from "tap";
import type { WorkerDump } from "../../media/channel/protocol.js";
import type { Logger } from "../../media/logger.js";
import { PortAllocator } from "../../media/net/PortAllocator.js";
import { RtpSocket } from "../../media/net/RtpSocket.js";
import { reserveRtpRange } from "../helpers/ports.js";
import { Phone, settingsFor } from "../unit/media/rtp/fixtures/rtpHarness.js";
import { MediaWorker, sdpOf } from "./fixtures/mediaWorker.js";

/** 10 port pairs: 26 leaking calls would exhaust them more than twice over. */
const PAIRS = 10;

function offer(port: number, extra: string[] = []): string {
  return [
    "v=0",
    "o=peer 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 8 101`,
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:101 telephone-event/8000",
    ...extra,
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** Binds `port` on 127.0.0.1 and 0.0.0.0 (Korus binds the wildcard); true when both binds succeed. */
async function bindable(port: number): Promise<boolean> {
  for (const address of ["0.0.0.0", "127.0.0.1"]) {
    const s = dgram.createSocket("udp4");
    const ok = await new Promise<boolean>((resolve) => {
      s.once("error", () => resolve(false));
      s.bind({ port, address, exclusive: true }, () => resolve(true));
    });
    await new Promise<void>((r) => {
      try {
        s.close(() => r());
      } catch {
        r();
      }
    });
    if (!ok) {
      return false;
    }
  }
  return true;
}

t.test("m=audio 65535 without an RTCP port: 40201 on offer and answer, no port ever leaks", async (t) => {
  t.setTimeout(60_000);
  const range = await reserveRtpRange();
  const settings = { ...settingsFor(range), rtpPortMax: range.min + 2 * PAIRS - 1 };
  const w = await MediaWorker.start(settings);
  const phone = await Phone.open();
  t.teardown(async () => {
    phone.close();
    await w.terminate();
    range.release();
  });
  await w.must({ method: "pipeline.create", params: { pipelineId: "p" } });

  const hostile: [string, string][] = [
    ["m=audio 65535, no rtcp-mux", offer(65535)],
    ["a=rtcp:65536", offer(5000, ["a=rtcp:65536"])],
    ["a=rtcp:0", offer(65535, ["a=rtcp:0"])],
    ["m=audio 65534/2", offer(65534).replace("m=audio 65534 ", "m=audio 65534/2 ")],
  ];
  for (let i = 0; i < 30; i++) {
    const [name, sdp] = hostile[i % hostile.length] ?? ["", ""];
    const id = `p/offer${i}`;
    await w.create("p", id, "RtpEndpoint");
    const r = await w.invoke(id, "processOffer", { offer: sdp });
    t.match(r, { ok: false, code: 40201 }, `processOffer #${i} (${name}) → 40201`);
    if (!r.ok && i < hostile.length) {
      t.match(r.message, /outside 1-65535|run past 65535/, `the message names the port range: ${r.message}`);
    }
    await w.must({ method: "object.release", params: { objectId: id } });
  }
  for (let i = 0; i < 30; i++) {
    const id = `p/answer${i}`;
    await w.create("p", id, "RtpEndpoint");
    const o = await w.invoke(id, "generateOffer", { options: { offerToReceiveVideo: false } });
    t.ok(o.ok, `generateOffer #${i} still gets ports`);
    const r = await w.invoke(id, "processAnswer", { answer: offer(65535) });
    t.match(r, { ok: false, code: 40201 }, `processAnswer #${i} with m=audio 65535 → 40201`);
    await w.must({ method: "object.release", params: { objectId: id } });
  }
  // A valid RTCP port next to RTP 65535 is fine (RFC 3605), and so is rtcp-mux (RFC 5761).
  for (const [name, sdp] of [
    ["a=rtcp:65000", offer(65535, ["a=rtcp:65000"])],
    ["a=rtcp-mux", offer(65535, ["a=rtcp-mux"])],
  ] as const) {
    await w.create("p", "p/ok", "RtpEndpoint");
    t.match(
      await w.invoke("p/ok", "processOffer", { offer: sdp }),
      { ok: true },
      `m=audio 65535 with ${name} accepted`,
    );
    await w.must({ method: "object.release", params: { objectId: "p/ok" } });
  }

  // 30 real calls in the same 10-pair range: each one's ports are free again after release.
  for (let i = 0; i < 30; i++) {
    const id = `p/call${i}`;
    await w.create("p", id, "RtpEndpoint");
    const r = await w.invoke(id, "processOffer", { offer: offer(phone.port) });
    if (!r.ok) {
      t.fail(`call #${i}: processOffer failed with ${r.code} ${r.message}`);
      break;
    }
    const port = Number(/m=audio (\d+)/.exec(sdpOf(r))?.[1]);
    await w.must({ method: "object.release", params: { objectId: id } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    t.ok(
      (await bindable(port)) && (await bindable(port + 1)),
      `call #${i}: ports ${port}/${port + 1} free after release`,
    );
  }
  const dump = (await w.must({ method: "worker.dump", params: {} })) as unknown as WorkerDump;
  t.equal(dump.portsInUse, 0, "the worker holds no port pair");
  const busy: number[] = [];
  for (let p = settings.rtpPortMin; p <= settings.rtpPortMax; p++) {
    if (!(await bindable(p))) {
      busy.push(p);
    }
  }
  t.same(busy, [], "every port of the range can be bound by someone else");
});

t.test("RtpSocket.close() closes both sockets after an RTCP send towards port 65536", async (t) => {
  const range = await reserveRtpRange();
  t.teardown(() => range.release());
  const ports = new PortAllocator(range.min, range.min + 3);
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const socket = await RtpSocket.open({
    ports,
    bindAddress: "127.0.0.1",
    logger,
    onRtp: () => true,
    onRtcp: () => true,
  });
  const port = socket.port;
  socket.setRemote({ address: "127.0.0.1", port: 65535 }, undefined, false);
  t.doesNotThrow(() => socket.sendRtcp(Buffer.from([0x81, 203, 0, 1, 0, 0, 0, 1])), "an RTCP BYE send never throws");
  socket.close();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(await bindable(port), `RTP port ${port} is free after close`);
  t.ok(await bindable(port + 1), `RTCP port ${port + 1} is free after close`);
  t.equal(ports.inUse, 0, "the pair went back to the allocator");
});

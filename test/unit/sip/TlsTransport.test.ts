/**
 * TLS transport (sip/transport/TlsTransport.ts) on 127.0.0.1 with a self-signed certificate generated at test time
 * by openssl, ephemeral ports, and real node:tls peers.
 */

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import t from "tap";
import {
  createResponse,
  parseMessage,
  setLoggerFactory,
  SipRequest,
  type InboundMessage,
  type Logger,
} from "../../../sip/index.js";
import { TlsTransport } from "../../../sip/transport/TlsTransport.js";
import { reserveRtpRange } from "../../helpers/ports.js";
import { INVITE, torture } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "korus-tls-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A self-signed EC certificate for `san` (e.g. `IP:127.0.0.1`), written as PEM files. */
function makeCert(name: string, san: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-addext",
      `subjectAltName=${san}`,
    ],
    { stdio: "ignore", timeout: 20_000 },
  );
  return { certFile, keyFile };
}

const server = makeCert("korus-test", "IP:127.0.0.1");
const client = makeCert("carrier-test", "IP:127.0.0.1");
const wrongName = makeCert("elsewhere", "DNS:sbc.elsewhere.example");

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error("condition not met within 10 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

t.test("request and response over one verified TLS connection, reused both ways", async (t) => {
  const serverInbox: InboundMessage[] = [];
  const clientInbox: InboundMessage[] = [];
  const a = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...server,
    caFile: client.certFile,
    requestClientCert: true,
    onMessage: (m) => serverInbox.push(m),
  });
  const b = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...client,
    caFile: server.certFile,
    onMessage: (m) => clientInbox.push(m),
  });
  t.teardown(() => Promise.all([a.close(), b.close()]));
  t.equal(a.reliable, true);
  t.equal(a.protocol, "TLS");

  const dest = { host: "127.0.0.1", port: a.address.port, transport: "TLS" } as const;
  await Promise.all([
    b.send(parseMessage(INVITE), dest),
    b.send(parseMessage(INVITE.replace("CSeq: 102", "CSeq: 103")), dest),
  ]);
  await until(() => serverInbox.length === 2);
  t.same(
    serverInbox.map((m) => m.message.cseq.seq),
    [102, 103],
  );
  t.equal(b.connectionCount, 1, "concurrent sends share one handshake");
  const first = serverInbox[0]!;
  t.equal(first.source.transport, "TLS");
  t.type(first.message, SipRequest);
  t.equal(first.message.callId, "3c26700e6f4a5c2e@203.0.113.10");
  t.equal((first.message as SipRequest).topVia.received, "127.0.0.1", "received stamped (RFC 3261 §18.2.1)");
  await a.send(createResponse(first.message as SipRequest, 200, { toTag: "tls" }), first.source);
  await until(() => clientInbox.length === 1);
  t.equal(clientInbox[0]?.message.to.tag, "tls");
  t.equal(a.connectionCount, 1, "the response used the existing connection");

  // Certificate renewal: new connections get the new certificate; the open one is untouched.
  await a.reloadCertificates();
  t.equal(a.connectionCount, 1);
});

t.test("framing across records, CRLF pong, stateless 400, size limit and broken Content-Length close", async (t) => {
  const inbox: InboundMessage[] = [];
  const a = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...server,
    limits: { maxMessageSize: 4096 },
    onMessage: (m) => inbox.push(m),
  });
  t.teardown(() => a.close());
  const connect = async (): Promise<{ socket: tls.TLSSocket; received: Buffer[]; closed: () => boolean }> => {
    const socket = tls.connect({ host: "127.0.0.1", port: a.address.port, ca: await readCa() });
    await new Promise((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    const received: Buffer[] = [];
    let closed = false;
    socket.on("data", (d: Buffer) => received.push(d));
    socket.on("close", () => (closed = true));
    socket.on("error", () => undefined);
    return { socket, received, closed: () => closed };
  };

  const c1 = await connect();
  t.teardown(() => c1.socket.destroy());
  const data = Buffer.from(INVITE);
  c1.socket.write(data.subarray(0, 77));
  await new Promise((resolve) => setTimeout(resolve, 10));
  c1.socket.write(data.subarray(77));
  c1.socket.write("\r\n\r\n");
  await until(() => inbox.length === 1 && c1.received.length > 0);
  t.equal(inbox[0]?.message.cseq.seq, 102);
  t.equal(Buffer.concat(c1.received).toString(), "\r\n", "RFC 5626 pong");

  // A request missing Call-ID gets a stateless 400 naming the fault, then the connection is closed (issue 9 §3: a
  // stream that carried garbage is out of step with its peer).
  c1.received.length = 0;
  c1.socket.write(INVITE.replace(/Call-ID: [^\r]+\r\n/, ""));
  await until(() => c1.received.length > 0 && c1.closed());
  t.match(Buffer.concat(c1.received).toString(), /^SIP\/2\.0 400 Bad Request \(Missing Call-ID\)\r\n/);

  const c0 = await connect();
  t.teardown(() => c0.socket.destroy());
  c0.socket.write(torture("ncl.dat"));
  await until(() => c0.closed());
  t.pass("a negative Content-Length closes the stream");

  const c2 = await connect();
  t.teardown(() => c2.socket.destroy());
  c2.socket.write(INVITE.replace(/Content-Length: \d+/, "Content-Length: 100000"));
  await until(() => c2.closed());
  t.equal(inbox.length, 1, "the oversized message was never delivered");
});

async function readCa(): Promise<Buffer> {
  const { readFile } = await import("node:fs/promises");
  return readFile(server.certFile);
}

t.test("untrusted or misnamed certificates are refused; handshake garbage does not hurt the server", async (t) => {
  const inbox: InboundMessage[] = [];
  const a = await TlsTransport.listen({ host: "127.0.0.1", port: 0, ...server, onMessage: (m) => inbox.push(m) });
  const misnamed = await TlsTransport.listen({ host: "127.0.0.1", port: 0, ...wrongName, onMessage: () => undefined });
  const noTrust = await TlsTransport.listen({ host: "127.0.0.1", port: 0, ...client, onMessage: () => undefined });
  const trusting = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...client,
    caFile: wrongName.certFile,
    onMessage: () => undefined,
  });
  t.teardown(() => Promise.all([a.close(), misnamed.close(), noTrust.close(), trusting.close()]));

  await t.rejects(
    noTrust.send(parseMessage(INVITE), { host: "127.0.0.1", port: a.address.port, transport: "TLS" }),
    { code: "DEPTH_ZERO_SELF_SIGNED_CERT" },
    "self-signed certificate not in the trust store",
  );
  await t.rejects(
    trusting.send(parseMessage(INVITE), { host: "127.0.0.1", port: misnamed.address.port, transport: "TLS" }),
    { code: "ERR_TLS_CERT_ALTNAME_INVALID" },
    "trusted certificate for another name (RFC 5922 §7.1)",
  );
  t.equal(noTrust.connectionCount, 0);

  // Plain-text SIP to the TLS port: the handshake fails, the server logs and carries on.
  const net = await import("node:net");
  const raw = net.connect(a.address.port, "127.0.0.1");
  raw.on("error", () => undefined);
  await new Promise((resolve) => raw.once("connect", resolve));
  raw.write(INVITE);
  await new Promise((resolve) => raw.once("close", resolve));
  t.equal(inbox.length, 0);

  const ok = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...client,
    caFile: server.certFile,
    onMessage: () => undefined,
  });
  t.teardown(() => ok.close());
  await ok.send(parseMessage(INVITE), { host: "127.0.0.1", port: a.address.port, transport: "TLS" });
  await until(() => inbox.length === 1);
  t.pass("the server still serves after the garbage");
});

t.test("mutual TLS: a client without a trusted certificate never gets a message through", async (t) => {
  const inbox: InboundMessage[] = [];
  const a = await TlsTransport.listen({
    host: "127.0.0.1",
    port: 0,
    ...server,
    caFile: client.certFile,
    requestClientCert: true,
    onMessage: (m) => inbox.push(m),
  });
  t.teardown(() => a.close());
  for (const creds of [{}, { cert: readFileSync(wrongName.certFile), key: readFileSync(wrongName.keyFile) }]) {
    const socket = tls.connect({ host: "127.0.0.1", port: a.address.port, ca: await readCa(), ...creds });
    socket.on("error", () => undefined);
    let closed = false;
    socket.on("close", () => (closed = true));
    socket.once("secureConnect", () => socket.write(INVITE));
    await until(() => closed);
  }
  t.equal(inbox.length, 0, "no certificate, or one the server does not trust: nothing delivered");
  // The trusted client certificate works.
  const ok = tls.connect({
    host: "127.0.0.1",
    port: a.address.port,
    ca: await readCa(),
    cert: readFileSync(client.certFile),
    key: readFileSync(client.keyFile),
  });
  t.teardown(() => ok.destroy());
  ok.once("secureConnect", () => ok.write(INVITE));
  await until(() => inbox.length === 1);
  t.equal(inbox[0]?.source.transport, "TLS");
});

t.test("configuration errors surface at listen time; closed transports refuse to send", async (t) => {
  await t.rejects(
    TlsTransport.listen({
      host: "127.0.0.1",
      port: 0,
      certFile: join(dir, "missing.crt"),
      keyFile: server.keyFile,
      onMessage: () => undefined,
    }),
    { code: "ENOENT" },
  );
  const garbage = join(dir, "garbage.pem");
  writeFileSync(garbage, "not a certificate");
  await t.rejects(
    TlsTransport.listen({
      host: "127.0.0.1",
      port: 0,
      certFile: garbage,
      keyFile: garbage,
      onMessage: () => undefined,
    }),
  );
  const a = await TlsTransport.listen({ host: "127.0.0.1", port: 0, ...server, onMessage: () => undefined });
  await a.close();
  await a.close();
  await t.rejects(a.send(parseMessage(INVITE), { host: "127.0.0.1", port: 1, transport: "TLS" }), /closed/);
});

t.test("a flood of bad requests is answered but logged at a bounded rate", async (t) => {
  const lines: string[] = [];
  const record = (message: string): void => {
    lines.push(message);
  };
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  setLoggerFactory((ns) => (ns === "sip:transport:tls" ? logger : { ...logger, info: () => undefined }));
  t.teardown(() => setLoggerFactory(undefined));
  const a = await TlsTransport.listen({ host: "127.0.0.1", port: 0, ...server, onMessage: () => undefined });
  t.teardown(() => a.close());
  // Each connection carries one bad request: the connection is closed after its 400 (issue 9 §3).
  const ca = await readCa();
  let answers = 0;
  const bad = INVITE.replace(/Call-ID: [^\r]+\r\n/, "");
  for (let i = 0; i < 40; i++) {
    const socket = tls.connect({ host: "127.0.0.1", port: a.address.port, ca });
    socket.on("error", () => undefined);
    t.teardown(() => socket.destroy());
    await new Promise((resolve) => socket.once("secureConnect", resolve));
    socket.on("data", (d: Buffer) => (answers += (d.toString().match(/SIP\/2\.0 400 /g) ?? []).length));
    socket.write(bad);
  }
  await until(() => answers === 40);
  t.equal(answers, 40, "every answerable request got its stateless 400");
  const rejected = lines.filter((l) => l === "rejected SIP request").length;
  t.equal(rejected, 20, "but only 20 log lines in the window");
});

t.test(
  "interop with baresip over TLS: its INVITE in, our 486 out and its ACK back; our OPTIONS to its listener",
  async (t) => {
    const range = await reserveRtpRange();
    const baresipCert = makeCert("baresip-test", "IP:127.0.0.1");
    const both = join(dir, "baresip-both.pem");
    writeFileSync(both, Buffer.concat([readFileSync(baresipCert.certFile), readFileSync(baresipCert.keyFile)]));
    const inbox: InboundMessage[] = [];
    const a = await TlsTransport.listen({
      host: "127.0.0.1",
      port: 0,
      ...server,
      caFile: baresipCert.certFile,
      onMessage: (m) => inbox.push(m),
    });
    const conf = join(dir, "baresip");
    mkdirSync(conf, { recursive: true });
    const sipPort = range.min;
    writeFileSync(
      join(conf, "config"),
      [
        "poll_method epoll",
        `sip_listen 127.0.0.1:${sipPort}`,
        `sip_cafile ${server.certFile}`,
        `sip_certificate ${both}`,
        "net_interface 127.0.0.1",
        "audio_player aubridge,nil",
        "audio_source ausine,440",
        "audio_alert aubridge,nil",
        `rtp_ports ${range.min + 10}-${range.min + 40}`,
        "module_path /usr/lib/baresip/modules",
        "module g711.so",
        "module aubridge.so",
        "module ausine.so",
        "module_tmp account.so",
        "module_app menu.so",
        "",
      ].join("\n"),
    );
    writeFileSync(join(conf, "accounts"), "<sip:uac@127.0.0.1;transport=tls>;regint=0;audio_codecs=pcma\n");
    let child: ChildProcess | undefined = spawn(
      "baresip",
      ["-f", conf, "-e", `/dial sip:test@127.0.0.1:${a.address.port}`, "-t", "15"],
      { stdio: "ignore" },
    );
    t.teardown(async () => {
      child?.kill("SIGKILL");
      range.release();
      await a.close();
    });
    child.on("exit", () => (child = undefined));

    await until(() => inbox.some((m) => m.message instanceof SipRequest && m.message.method === "INVITE"));
    const inviteIn = inbox.find((m) => m.message instanceof SipRequest && m.message.method === "INVITE")!;
    const invite = inviteIn.message as SipRequest;
    t.equal(inviteIn.source.transport, "TLS");
    t.equal(invite.topVia.transport, "TLS", "baresip's Via says TLS");
    t.match(invite.bodyText, /a=rtpmap:8 PCMA\/8000/);
    await a.send(createResponse(invite, 486, { toTag: "busy" }), inviteIn.source);
    await until(() => inbox.some((m) => m.message instanceof SipRequest && m.message.method === "ACK"));
    const ack = inbox.find((m) => m.message instanceof SipRequest && m.message.method === "ACK")!;
    t.equal(ack.message.callId, invite.callId, "the non-2xx ACK came back");
    t.equal(ack.message.to.tag, "busy");
    t.same(ack.source, inviteIn.source, "on the same TLS connection");

    // Our side as TLS client: OPTIONS to baresip's TLS listener (sip_listen port + 1), verified against its certificate.
    const options = parseMessage(
      `OPTIONS sip:uac@127.0.0.1:${sipPort + 1};transport=tls SIP/2.0\r\n` +
        `Via: SIP/2.0/TLS 127.0.0.1:${a.address.port};branch=z9hG4bKopt1;rport\r\nMax-Forwards: 70\r\n` +
        `From: <sip:korus@127.0.0.1>;tag=o1\r\nTo: <sip:uac@127.0.0.1>\r\nCall-ID: opt-tls-1\r\n` +
        `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    );
    await a.send(options, { host: "127.0.0.1", port: sipPort + 1, transport: "TLS" });
    await until(() => inbox.some((m) => m.message.callId === "opt-tls-1"));
    const answer = inbox.find((m) => m.message.callId === "opt-tls-1")!;
    t.ok(
      "status" in answer.message && answer.message.status >= 200,
      `baresip answered ${"status" in answer.message ? answer.message.status : "?"}`,
    );
  },
);

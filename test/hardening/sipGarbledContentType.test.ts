/**
 * Issue 9, defect 10: a request whose Content-Type cannot be parsed is the peer's syntax error and gets
 * `400 Bad Request (Invalid Content-Type)` (RFC 3261 §21.4.1), not 500. Raw UDP datagrams to the built server, inside
 * a loopback-only network namespace (hostile traffic); a well-formed OPTIONS afterwards still gets 200.
 */
import "../helpers/loopbackNamespace.js";
import { createSocket } from "node:dgram";
import t from "tap";
import { startKorus } from "../helpers/server.js";
import { interopSlot } from "../helpers/slot.js";

t.setTimeout(60_000);

const { port } = await interopSlot(t, "sipctype");
const sipPort = port();
const myPort = port();
await startKorus(t, { workers: 1, config: { sip: { port: sipPort } } });

const sock = createSocket("udp4");
const inbox: string[] = [];
const waiters: ((m: string) => void)[] = [];
sock.on("message", (m) => {
  const text = m.toString("latin1");
  // Provisional responses (100 Trying) are not what the tests wait for.
  if (/^SIP\/2\.0 1\d\d /.test(text)) {
    return;
  }
  const w = waiters.shift();
  if (w !== undefined) {
    w(text);
  } else {
    inbox.push(text);
  }
});
await new Promise<void>((resolve) => sock.bind(myPort, "127.0.0.1", resolve));
t.teardown(() => sock.close());

function exchange(text: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no final response")), timeoutMs);
    waiters.push((m) => {
      clearTimeout(timer);
      resolve(m);
    });
    sock.send(Buffer.from(text, "latin1"), sipPort, "127.0.0.1");
  });
}

const SDP = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n";

function request(method: string, n: number, contentType: string | undefined, body: string): string {
  return (
    `${method} sip:echo@127.0.0.1:${sipPort} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:${myPort};branch=z9hG4bKctype${n}\r\n` +
    `Max-Forwards: 70\r\n` +
    `From: <sip:attacker@127.0.0.1>;tag=ct${n}\r\n` +
    `To: <sip:echo@127.0.0.1:${sipPort}>\r\n` +
    `Call-ID: ctype-${n}@127.0.0.1\r\n` +
    `CSeq: 1 ${method}\r\n` +
    `Contact: <sip:attacker@127.0.0.1:${myPort}>\r\n${
      contentType === undefined ? "" : `Content-Type: ${contentType}\r\n`
    }Content-Length: ${Buffer.byteLength(body, "latin1")}\r\n\r\n${body}`
  );
}

const garbled = ["///", "application", "application/sdp;=x", "@@/sdp", ""];
garbled.forEach((ct, i) => {
  t.test(`INVITE with Content-Type ${JSON.stringify(ct)}: 400`, async (t) => {
    const r = await exchange(request("INVITE", i, ct, SDP));
    t.match(r, /^SIP\/2\.0 400 /, `status line: ${r.split("\r\n")[0] ?? ""}`);
    t.match(r.split("\r\n")[0] ?? "", /Content-Type/, "the reason phrase names Content-Type");
  });
});

t.test("OPTIONS with a garbled Content-Type: 400", async (t) => {
  const r = await exchange(request("OPTIONS", 100, "///", "x"));
  t.match(r, /^SIP\/2\.0 400 /, r.split("\r\n")[0] ?? "");
});

t.test("the server still answers a well-formed OPTIONS", async (t) => {
  const r = await exchange(request("OPTIONS", 101, undefined, ""));
  t.match(r, /^SIP\/2\.0 200 /, r.split("\r\n")[0] ?? "");
});

/**
 * SIP parser throughput (libraries.md §10: target ≥ 100k typical INVITEs/s on one core, kirm/sip's order).
 *
 * Measures `parseMessage` over a realistic carrier INVITE (two Vias, Record-Route, P-Asserted-Identity, SDP) and a
 * 200 OK with SDP, eagerly validated (the default) and lazily, plus parse+serialise. The baseline is `JSON.parse` of an
 * object of the same size measured in the same run, so the ratio is comparable across machines (performance.md).
 * Not wired into `bench/run.ts`; run it with `node dist/bench/sipParser.js` after a build.
 */

import { pathToFileURL } from "node:url";
import { parseMessage } from "../sip/index.js";

/** One measured figure. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
}

const SDP =
  "v=0\r\no=- 3724394400 3724394400 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n" +
  "m=audio 30000 RTP/AVP 8 0 18 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n" +
  "a=fmtp:18 annexb=no\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n";

const INVITE_HEADERS = [
  "INVITE sip:+4930123456@korus.example.com;user=phone SIP/2.0",
  "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4e5f6;rport",
  "Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK776asdhds;received=10.0.0.5",
  "Max-Forwards: 69",
  "Record-Route: <sip:203.0.113.10;lr;ftag=as6f7e8d>",
  'From: "+441632960001" <sip:+441632960001@sbc.carrier.example;user=phone>;tag=as6f7e8d',
  "To: <sip:+4930123456@korus.example.com;user=phone>",
  "Call-ID: 3c26700e6f4a5c2e@203.0.113.10",
  "CSeq: 102 INVITE",
  "Contact: <sip:+441632960001@203.0.113.10:5060;transport=udp>",
  "P-Asserted-Identity: <tel:+441632960001>",
  "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, PRACK, UPDATE",
  "Supported: 100rel, timer, replaces",
  "Session-Expires: 1800",
  "Min-SE: 90",
  "User-Agent: CarrierSBC 4.2",
  "Content-Type: application/sdp",
];

const OK_HEADERS = [
  "SIP/2.0 200 OK",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkorus1;rport=5060;received=192.0.2.1",
  'From: "Korus" <sip:korus@192.0.2.1>;tag=k1',
  "To: <sip:+441632960001@sbc.carrier.example;user=phone>;tag=as99",
  "Call-ID: 9a8b7c6d@192.0.2.1",
  "CSeq: 1 INVITE",
  "Contact: <sip:sbc@203.0.113.10:5060>",
  "Record-Route: <sip:203.0.113.10;lr>",
  "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE",
  "Supported: timer",
  "Session-Expires: 1800;refresher=uac",
  "Content-Type: application/sdp",
];

function message(lines: string[]): Buffer {
  return Buffer.from(`${lines.join("\r\n")}\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`);
}

/** Runs `fn` repeatedly for about `ms` milliseconds after a warm-up and returns operations per second. */
function rate(fn: () => unknown, ms = 1000): number {
  for (let i = 0; i < 20000; i++) {
    fn();
  }
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 1000; i++) {
      fn();
    }
    ops += 1000;
    now = performance.now();
  }
  return Math.round((ops * 1000) / (now - start));
}

/** Measures parser throughput and a same-run JSON.parse baseline. */
export async function run(): Promise<BenchResult[]> {
  const invite = message(INVITE_HEADERS);
  const ok = message(OK_HEADERS);
  // Baseline: JSON of an equivalent object (same headers and body), about the INVITE's size.
  const json = JSON.stringify({ startLine: INVITE_HEADERS[0], headers: INVITE_HEADERS.slice(1), body: SDP });

  const inviteRate = rate(() => parseMessage(invite));
  const okRate = rate(() => parseMessage(ok));
  const lazyRate = rate(() => parseMessage(invite, { lazy: true }));
  const roundTripRate = rate(() => parseMessage(invite).toBuffer());
  const jsonRate = rate(() => JSON.parse(json) as unknown);
  await Promise.resolve();
  return [
    { name: `sip parse INVITE (${invite.length} B, validated)`, value: inviteRate, unit: "msg/s" },
    { name: `sip parse 200 OK (${ok.length} B, validated)`, value: okRate, unit: "msg/s" },
    { name: "sip parse INVITE (lazy)", value: lazyRate, unit: "msg/s" },
    { name: "sip parse + serialise INVITE", value: roundTripRate, unit: "msg/s" },
    { name: `baseline JSON.parse (${json.length} B)`, value: jsonRate, unit: "msg/s" },
    { name: "sip INVITE parse / JSON.parse", value: Math.round((inviteRate / jsonRate) * 1000) / 1000, unit: "ratio" },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) {
    console.log(`${r.name}: ${r.value} ${r.unit}`);
  }
}

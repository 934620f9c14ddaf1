/**
 * The example third-party module examples/korus-module-audiolevel as the module tests use it
 * (test/integration/modules.test.ts, test/interop/audiolevelModule.test.ts): a copy in a fresh folder outside
 * the repository (the path a config's `modules:` names), the PCMU offer that feeds it through an RtpEndpoint, a
 * paced PCMU tone, and the level in dBov the filter should report for it.
 */
import { createSocket } from "node:dgram";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Test } from "tap";
import { G711Encoder } from "../../media/codecs/index.js";
import { ROOT } from "./server.js";
import { generateTone } from "./tone.js";

export const AUDIOLEVEL_EXAMPLE = path.join(ROOT, "examples/korus-module-audiolevel");

/**
 * A copy of the example module, named `name`, in a fresh folder outside the repository (removed at `t`'s
 * teardown). Returns the module's folder; its parent is free for siblings (e.g. a generated client module).
 */
export function copyExample(t: Test, name = "korus-module-audiolevel"): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-module-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const target = path.join(dir, name);
  cpSync(AUDIOLEVEL_EXAMPLE, target, { recursive: true });
  return target;
}

/** An SDP offer that sends PCMU only (the peer feeding an RtpEndpoint). */
export const PCMU_SENDONLY_OFFER = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 9 RTP/AVP 0",
  "a=rtpmap:0 PCMU/8000",
  "a=sendonly",
  "",
].join("\r\n");

/** RMS level in dBov of a sine of peak `amplitude` (full-scale square = 0 dBov). */
export const sineDbov = (amplitude: number): number => 20 * Math.log10(amplitude / Math.SQRT2 / 32768);

/**
 * Sends `seconds` of a 440 Hz PCMU tone of peak `amplitude` to 127.0.0.1:`port` from SSRC `ssrc`, paced at
 * 20 ms; `seq.n` numbers the packets and carries on across calls.
 */
export async function sendTone(
  port: number,
  amplitude: number,
  seconds: number,
  seq: { n: number },
  ssrc = 0x1234abcd,
): Promise<void> {
  const sock = createSocket("udp4");
  const enc = new G711Encoder("PCMU");
  const pcm = generateTone(440, { sampleRate: 8000, samples: 8000 * seconds, amplitude });
  try {
    for (let off = 0; off + 160 <= pcm.length; off += 160) {
      const payload = enc.encode(pcm.subarray(off, off + 160));
      const pkt = Buffer.alloc(12 + payload.length);
      pkt[0] = 0x80;
      pkt[1] = 0;
      pkt.writeUInt16BE(seq.n & 0xffff, 2);
      pkt.writeUInt32BE((seq.n * 160) >>> 0, 4);
      pkt.writeUInt32BE(ssrc, 8);
      pkt.set(payload, 12);
      seq.n++;
      sock.send(pkt, port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    sock.close();
  }
}

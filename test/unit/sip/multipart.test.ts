/**
 * multipart bodies (sip/message/multipart.ts), RFC 2046 §5.1 and RFC 5621.
 */

import t from "tap";
import { parseMultipart, serializeMultipart, SipParseError } from "../../../sip/index.js";

t.test("serialize then parse: SDP next to a binary ISUP part (SIP-I)", async (t) => {
  const isup = Uint8Array.from([0x01, 0x00, 0x0d, 0x0a, 0x2d, 0x2d, 0xff]);
  const body = serializeMultipart(
    [
      { headers: [["Content-Type", "application/sdp"]], body: Buffer.from("v=0\r\n") },
      {
        headers: [
          ["Content-Type", "application/ISUP;version=itu-t92+"],
          ["Content-Disposition", "signal;handling=optional"],
        ],
        body: isup,
      },
    ],
    "b1",
  );
  const parts = parseMultipart(body, "b1");
  t.equal(parts.length, 2);
  t.equal(parts[0]?.contentType?.essence, "application/sdp");
  t.equal(Buffer.from(parts[0]?.body ?? []).toString(), "v=0\r\n");
  t.equal(parts[1]?.contentType?.param("version"), "itu-t92+");
  t.same(Buffer.from(parts[1]?.body ?? []), Buffer.from(isup), "CRLF and -- inside a binary part are data");
  t.same(parts[1]?.headers[1], ["Content-Disposition", "signal;handling=optional"]);
});

t.test("a part without headers defaults to no Content-Type", async (t) => {
  const parts = parseMultipart(Buffer.from("preamble\r\n--x\r\n\r\nplain\r\n--x--\r\n"), "x");
  t.equal(parts[0]?.contentType, undefined);
  t.equal(Buffer.from(parts[0]?.body ?? []).toString(), "plain");
});

t.test("missing delimiters throw SipParseError", async (t) => {
  t.throws(() => parseMultipart(Buffer.from("no boundary here"), "x"), SipParseError);
  t.throws(
    () => parseMultipart(Buffer.from("--x\r\nContent-Type: text/plain\r\n\r\nunterminated"), "x"),
    SipParseError,
  );
  t.throws(() => parseMultipart(Buffer.from("--x\r\nbad header\r\n\r\nbody\r\n--x--"), "x"), SipParseError);
});

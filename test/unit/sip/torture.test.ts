/**
 * RFC 4475 torture messages (https://www.rfc-editor.org/rfc/rfc4475), read as raw bytes from
 * test/fixtures/sip-torture/ (a copy of ../shared/fixtures/sip-torture/) and passed whole, as one UDP datagram, unless a row says otherwise (INDEX.md).
 */

import t from "tap";
import {
  GenericUri,
  parseMessage,
  parseMultipart,
  SipParseError,
  SipRequest,
  SipResponse,
  SipStreamFramer,
  SipUri,
  serverTransactionId,
  createStatelessErrorResponse,
} from "../../../sip/index.js";
import { parseFailure, torture } from "./helpers.js";

function req(name: string): SipRequest {
  const m = parseMessage(torture(name));
  t.type(m, SipRequest, `${name} is a request`);
  return m as SipRequest;
}

function res(name: string): SipResponse {
  const m = parseMessage(torture(name));
  t.type(m, SipResponse, `${name} is a response`);
  return m as SipResponse;
}

function sipUri(uri: unknown): SipUri {
  if (!(uri instanceof SipUri)) {
    throw new Error("expected a SIP URI");
  }
  return uri;
}

t.test("§3.1.1 valid messages: every one parses and its key fields are right", async (t) => {
  t.test("3.1.1.1 wsinv: a short tortuous INVITE is accepted as well-formed", async (t) => {
    const m = req("wsinv.dat");
    t.equal(m.method, "INVITE");
    const uri = sipUri(m.uri);
    t.equal(uri.user, "vivekg");
    t.equal(uri.host, "chair-dnrc.example.com");
    t.equal(uri.params.get("unknownparam"), null, "URI parameter without value");
    t.equal(m.to.tag, "1918181833n", "LWS around ; and = in To");
    t.equal(m.from.displayName, 'J Rosenberg \\"', "quoted-pairs resolved once");
    t.equal(m.from.tag, "98asjd8", "From tag after folded ;");
    t.equal(m.maxForwards, 68, "leading zeros in Max-Forwards");
    t.equal(m.cseq.seq, 9, "leading zeros in CSeq");
    t.equal(m.cseq.method, "INVITE", "CSeq folded across lines");
    t.same(
      m.via.map((v) => [v.transport, v.host, v.branch]),
      [
        ["UDP", "192.0.2.2", "390skdjuw"],
        ["TCP", "spindle.example.com", "z9hG4bK9ikj8"],
        ["UDP", "192.168.255.111", "z9hG4bK30239"],
      ],
      "three Via values with LWS around / and folded branch",
    );
    t.equal(m.getHeader("Subject"), "", "empty Subject via compact s");
    t.equal(m.getHeader("newfangledheader"), "newfangled value continued newfangled value", "folded unknown header");
    t.equal(m.getHeader("UnknownHeaderWithUnusualValue"), ";;,,;;,;", "unknown header kept opaque");
    t.equal(m.routes[0]?.uri.toString(), "sip:services.example.com;lr;unknownwith=value;unknown-no-value");
    const contact = m.contacts[0];
    t.equal(contact?.displayName, 'Quoted string ""');
    t.equal(contact?.params.get("newparam"), "newvalue");
    t.equal(contact?.params.get("secondparam"), null);
    t.equal(contact?.q, 0.33);
    t.equal(m.contentType?.essence, "application/sdp");
    t.equal(m.body.length, 150);
  });

  t.test("3.1.1.2 intmeth: a wide range of valid characters", async (t) => {
    const m = req("intmeth.dat");
    const method = "!interesting-Method0123456789_*+`.%indeed'~";
    t.equal(m.method, method, "% is not an escape in a method");
    t.equal(m.cseq.method, method);
    const uri = sipUri(m.uri);
    t.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    t.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    t.equal(uri.host, "example.com");
    t.equal(m.to.displayName, "BEL:\x07 NUL:\x00 DEL:\x7f", "quoted-pair NUL, BEL and DEL");
    t.equal(m.from.displayName, "token1~` token2'+_ token3*%!.-", "unquoted token display name");
    t.equal(m.from.tag, "_token~1'+`*%!-.");
    t.equal(m.from.params.get("fromParam''~+*_!.-%"), '"работающий"', "UTF-8 in a quoted parameter");
    t.equal(m.callId, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{", "Call-ID with unbalanced punctuation");
    t.equal(m.topVia.branch, "z9hG4bK-.!%66*_+`'~");
    t.equal(m.getHeader("extensionHeader-!.%*+_`'~"), "\uFEFF大停電", "UTF-8 extension header value");
    t.equal(m.maxForwards, 255);
  });

  t.test("3.1.1.3 esc01: %HH in SIP URIs is the character it encodes, unescaped once", async (t) => {
    const m = req("esc01.dat");
    const ruri = sipUri(m.uri);
    t.equal(ruri.user, "sips:user@example.com");
    t.equal(ruri.host, "example.net");
    t.equal(sipUri(m.to.uri).user, "user");
    t.equal(sipUri(m.from.uri).user, "I have spaces");
    const contact = sipUri(m.contacts[0]?.uri);
    t.equal(contact.user, "caller");
    t.equal(contact.params.get("lr"), null, "%6C%72 is lr");
    t.equal(contact.params.get("name"), "value%41", "not valueA");
  });

  t.test("3.1.1.4 escnull: %00 must not cut the user name short", async (t) => {
    const m = req("escnull.dat");
    t.equal(sipUri(m.to.uri).user, "null-\x00-null");
    t.same(
      m.contacts.map((c) => sipUri(c.uri).user),
      ["\x00", "\x00\x00"],
      "two distinct contacts",
    );
  });

  t.test("3.1.1.5 esc02: % that is not an escape", async (t) => {
    const m = req("esc02.dat");
    t.equal(m.method, "RE%47IST%45R", "unknown method, not REGISTER");
    t.equal(m.to.displayName, "%Z%45");
    t.equal(m.from.displayName, "%Z%45");
    t.equal(m.contacts.length, 2, "two Contact values, not three");
    t.equal(m.getHeader("C%6Fntact"), "<sip:alias2@host2.example.com>", "C%6Fntact is another header");
  });

  t.test("3.1.1.6 lwsdisp: no LWS between display name and <", async (t) => {
    t.equal(req("lwsdisp.dat").from.displayName, "caller");
  });

  t.test("3.1.1.7 longreq: long values in header fields", async (t) => {
    const m = req("longreq.dat");
    t.equal(m.via.length, 34, "34 Via values under every spelling");
    t.ok(m.via.every((v) => v.transport === "TCP"));
    t.match(m.to.displayName, /^I have a user name of (extreme){10} proportion$/);
    t.equal(sipUri(m.to.uri).port, 6000);
    t.equal(m.from.tag?.length, 155);
    t.match(m.callId, /^longreq\.one(really){20}longcallid$/);
    t.equal(m.body.length, 150);
    t.equal(m.via.at(-1)?.received, "192.0.2.5");
  });

  t.test("3.1.1.8 dblreq: extra trailing octets in a UDP datagram are ignored", async (t) => {
    const m = req("dblreq.dat");
    t.equal(m.method, "REGISTER");
    t.equal(m.body.length, 0);
    t.equal(m.callId, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
    t.notOk(m.toString().includes("INVITE"), "the INVITE-shaped noise is never forwarded");
  });

  t.test("3.1.1.9 semiuri: semicolon-separated parameters in the user part", async (t) => {
    const uri = sipUri(req("semiuri.dat").uri);
    t.equal(uri.user, "user;par=u@example.net");
    t.equal(uri.host, "example.com");
    t.equal(uri.params.size, 0, "no URI parameters");
  });

  t.test("3.1.1.10 transports: varied and unknown transport types", async (t) => {
    t.same(
      req("transports.dat").via.map((v) => v.transport),
      ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"],
    );
  });

  t.test("3.1.1.11 mpart01: multipart MIME with a binary part, framed by Content-Length 553", async (t) => {
    const m = req("mpart01.dat");
    t.equal(m.method, "MESSAGE");
    t.equal(m.body.length, 553);
    t.equal(m.contentType?.essence, "multipart/mixed");
    const parts = parseMultipart(m.body, m.contentType?.param("boundary") ?? "");
    t.same(
      parts.map((p) => p.contentType?.essence),
      ["text/plain", "application/octet-stream"],
    );
    t.equal(Buffer.from(parts[0]?.body ?? []).toString(), "Hello");
    t.equal(parts[1]?.body.length, 342);
    t.ok(parts[1]?.body.includes(0), "binary part keeps its NUL octets");
  });

  t.test("3.1.1.12 unreason: unusual reason phrase with UTF-8", async (t) => {
    const m = res("unreason.dat");
    t.equal(m.status, 200);
    t.equal(m.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
  });

  t.test("3.1.1.13 noreason: empty reason phrase", async (t) => {
    const m = res("noreason.dat");
    t.equal(m.status, 100);
    t.equal(m.reason, "");
  });

  t.test("3.4.1 inv2543: an RFC 2543 INVITE is accepted", async (t) => {
    const m = req("inv2543.dat");
    t.equal(m.topVia.branch, undefined, "no branch");
    t.equal(m.from.tag, undefined, "no From tag");
    t.equal(m.maxForwards, undefined, "no Max-Forwards");
    t.match(m.bodyText, /^v=0\r\n[\s\S]*m=audio 49217 RTP\/AVP 0\r\n$/, "no Content-Length: body is the datagram rest");
    t.equal(m.to.params.get("user"), "phone", "bare addr-spec: ;user=phone is a header parameter");
    t.equal(sipUri(m.from.uri).params.get("user"), "phone", "bracketed: ;user=phone is a URI parameter");
  });
});

/** Invalid messages (§3.1.2): each is rejected with the reason and status the RFC expects. */
const INVALID: readonly (readonly [file: string, reason: RegExp, status: number | undefined])[] = [
  ["badinv01.dat", /^Empty parameter in Via$/, 400],
  ["clerr.dat", /^Content-Length larger than message$/, 400],
  ["ncl.dat", /^Invalid Content-Length$/, 400],
  ["scalar02.dat", /^Invalid CSeq/, 400],
  ["scalarlg.dat", /^Invalid CSeq/, undefined],
  ["quotbal.dat", /^Unterminated quoted string in To$/, 400],
  ["ltgtruri.dat", /^Invalid Request-URI/, 400],
  ["lwsruri.dat", /^Malformed Request-Line$/, 400],
  ["lwsstart.dat", /^Malformed Request-Line$/, 400],
  ["trws.dat", /^Malformed Request-Line$/, 400],
  ["escruri.dat", /^Headers in Request-URI$/, 400],
  ["regbadct.dat", /^Invalid Contact: URI with headers must be enclosed in <>$/, 400],
  ["badaspec.dat", /^Invalid To: whitespace inside <>$/, 400],
  ["baddn.dat", /^Invalid display name in From$/, 400],
  ["badvers.dat", /^Version Not Supported$/, 505],
  ["mismatch01.dat", /^CSeq method does not match Request-Line$/, 400],
  ["mismatch02.dat", /^CSeq method does not match Request-Line$/, 501],
  ["bigcode.dat", /^Invalid Status-Code$/, undefined],
];

t.test("§3.1.2 invalid messages are rejected as the RFC expects", async (t) => {
  for (const [file, reason, status] of INVALID) {
    t.test(file, async (t) => {
      const data = torture(file);
      t.throws(() => parseMessage(data), SipParseError, "parsing throws SipParseError");
      const error = parseFailure(() => parseMessage(data));
      t.match(error.reason, reason);
      t.equal(error.status, status, status === undefined ? "a response is dropped" : `answered with ${status}`);
    });
  }

  t.test("requests get a stateless answer whose reason phrase names the fault", async (t) => {
    const answer = createStatelessErrorResponse(parseFailure(() => parseMessage(torture("badinv01.dat"))));
    t.equal(answer?.status, 400);
    t.equal(answer?.reason, "Bad Request (Empty parameter in Via)");
    t.equal(answer?.getHeader("Call-ID"), "badinv01.0ha0isndaksdjasdf3234nas", "Call-ID echoed");
    t.equal(answer?.getHeader("Via"), "SIP/2.0/UDP 192.0.2.15;;,;,,", "Via echoed as received");
    const version = createStatelessErrorResponse(parseFailure(() => parseMessage(torture("badvers.dat"))));
    t.equal(version?.startLine, "SIP/2.0 505 Version Not Supported");
  });

  t.test("responses are dropped: no stateless answer", async (t) => {
    t.equal(createStatelessErrorResponse(parseFailure(() => parseMessage(torture("bigcode.dat")))), undefined);
    t.equal(createStatelessErrorResponse(parseFailure(() => parseMessage(torture("scalarlg.dat")))), undefined);
  });

  t.test("3.1.2.12 baddate: the liberal choice, Date is ignored unless it matters", async (t) => {
    const m = req("baddate.dat");
    t.throws(() => m.date, SipParseError, "reading Date rejects the EST zone");
    t.equal(m.callId, "baddate.239423mnsadf3j23lj42--sedfnm234");
  });
});

t.test("§3.2.1 badbranch: the parser does not break on a bare magic cookie", async (t) => {
  const m = req("badbranch.dat");
  t.equal(m.topVia.branch, "z9hG4bK");
  t.equal(m.topVia.isRfc3261Branch, false, "nothing after the cookie: not an RFC 3261 branch");
  t.match(serverTransactionId(m), /^2543\|/, "falls back to RFC 2543 transaction matching");
});

t.test("§3.3 application-layer messages parse; the layer above answers", async (t) => {
  t.test("3.3.1 insuf: missing Call-ID, From and To earns 400 (Missing Call-ID)", async (t) => {
    const error = parseFailure(() => parseMessage(torture("insuf.dat")));
    t.equal(error.reason, "Missing Call-ID");
    t.equal(createStatelessErrorResponse(error)?.reason, "Bad Request (Missing Call-ID)");
  });

  t.test("3.3.2 unkscm: unknown Request-URI scheme parses (the UA answers 416)", async (t) => {
    const uri = req("unkscm.dat").uri;
    t.type(uri, GenericUri);
    t.equal(uri.scheme, "nobodyKnowsThisScheme");
  });

  t.test("3.3.3 novelsc: known but atypical scheme", async (t) => {
    t.equal(req("novelsc.dat").uri.toString(), "soap.beep://192.0.2.103:3002");
  });

  t.test("3.3.4 unksm2: unknown URI schemes in header fields", async (t) => {
    const m = req("unksm2.dat");
    t.equal(m.to.uri.scheme, "isbn");
    t.equal(m.from.uri.toString(), "http://www.example.com");
    t.equal(m.contacts[0]?.uri.toString(), "name:John_Smith");
  });

  t.test("3.3.5 bext01: Require and Proxy-Require option tags are listed", async (t) => {
    const m = req("bext01.dat");
    t.same(m.tokens("Require"), ["nothingSupportsThis", "nothingSupportsThisEither"]);
    t.same(m.tokens("Proxy-Require"), ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]);
  });

  t.test("3.3.6 invut: unknown Content-Type", async (t) => {
    t.equal(req("invut.dat").contentType?.essence, "application/unknownformat");
  });

  t.test("3.3.7 regaut01: unknown authorization scheme is kept", async (t) => {
    const auth = req("regaut01.dat").authHeaders("Authorization")[0];
    t.equal(auth?.scheme, "NoOneKnowsThisScheme");
    t.equal(auth?.get("opaque-data"), "here");
    t.equal(auth?.toString(), "NoOneKnowsThisScheme opaque-data=here", "forwarded unchanged");
  });

  t.test("3.3.8 multi01: repeated single-value headers earn 400", async (t) => {
    const error = parseFailure(() => parseMessage(torture("multi01.dat")));
    t.equal(error.reason, "Multiple Call-ID header fields");
    t.equal(error.status, 400);
  });

  t.test("3.3.9 mcl01: conflicting Content-Length values earn 400", async (t) => {
    const error = parseFailure(() => parseMessage(torture("mcl01.dat")));
    t.equal(error.reason, "Multiple Content-Length values");
    t.equal(error.status, 400);
  });

  t.test("3.3.10 bcast: 200 OK with a broadcast Via parses", async (t) => {
    t.equal(res("bcast.dat").via[1]?.host, "255.255.255.255");
  });

  t.test("3.3.11 zeromf: Max-Forwards of zero is legal", async (t) => {
    t.equal(req("zeromf.dat").maxForwards, 0);
  });

  t.test("3.3.12 cparam01: unknownparam is a Contact parameter, never a URI parameter", async (t) => {
    const contact = req("cparam01.dat").contacts[0];
    t.equal(contact?.params.get("unknownparam"), null);
    t.equal(sipUri(contact?.uri).params.has("unknownparam"), false);
    t.equal(contact?.toString(), "<sip:+19725552222@gw1.example.net>;unknownparam");
  });

  t.test("3.3.13 cparam02: unknownparam is a URI parameter of the binding", async (t) => {
    const contact = req("cparam02.dat").contacts[0];
    t.equal(sipUri(contact?.uri).params.get("unknownparam"), null);
    t.equal(contact?.params.size, 0);
  });

  t.test("3.3.14 regescrt: the escaped Route header stays in the Contact URI", async (t) => {
    const uri = sipUri(req("regescrt.dat").contacts[0]?.uri);
    t.equal(uri.headers.get("Route"), "<sip:sip.example.com>");
    t.equal(uri.toString(), "sip:user@example.com?Route=%3Csip:sip.example.com%3E");
  });

  t.test("3.3.15 sdp01: Accept without application/sdp parses", async (t) => {
    t.same(
      req("sdp01.dat").accept.map((a) => a.essence),
      ["text/nobodyknowsthis"],
    );
  });

  t.test("test.dat (no RFC section): rejected without crashing", async (t) => {
    t.throws(() => parseMessage(torture("test.dat")), SipParseError);
  });
});

t.test("stream framing rows (INDEX.md Transport / framing column)", async (t) => {
  t.test("dblreq on a stream is two messages, then the trailing noise breaks the stream", async (t) => {
    const result = new SipStreamFramer().push(torture("dblreq.dat"));
    t.same(
      result.frames.map((f) => parseMessage(f, { framing: "stream" }).startLine),
      ["REGISTER sip:example.com SIP/2.0", "INVITE sip:joe@example.com SIP/2.0"],
    );
    t.equal(result.error?.fatal, true);
  });

  t.test("clerr on a stream: the receiver can only wait for more data", async (t) => {
    const framer = new SipStreamFramer();
    t.same(framer.push(torture("clerr.dat")), { frames: [] });
    t.equal(framer.buffered, 498);
  });

  t.test("ncl on a stream cannot be recovered from: close the connection", async (t) => {
    const { frames, error } = new SipStreamFramer().push(torture("ncl.dat"));
    t.equal(frames.length, 0);
    t.equal(error?.reason, "Invalid Content-Length");
    t.equal(error?.fatal, true);
  });

  t.test("mcl01 on a stream cannot be recovered from", async (t) => {
    const { error } = new SipStreamFramer().push(torture("mcl01.dat"));
    t.equal(error?.reason, "Multiple Content-Length values");
    t.equal(error?.fatal, true);
  });

  t.test("inv2543 on a stream: Content-Length is mandatory (RFC 3261 §18.3)", async (t) => {
    const { error } = new SipStreamFramer().push(torture("inv2543.dat"));
    t.equal(error?.reason, "Missing Content-Length");
  });

  t.test("baddn on a stream: without the empty line the parser waits", async (t) => {
    t.same(new SipStreamFramer().push(torture("baddn.dat")), { frames: [] });
  });

  t.test("mpart01 and longreq on a stream, delivered one octet at a time", async (t) => {
    for (const file of ["mpart01.dat", "longreq.dat"]) {
      const data = torture(file);
      const framer = new SipStreamFramer();
      const frames: Buffer[] = [];
      for (let i = 0; i < data.length; i++) {
        frames.push(...framer.push(data.subarray(i, i + 1)).frames);
      }
      t.equal(frames.length, 1, `${file}: one frame`);
      t.same(frames[0], data, `${file}: exact bytes, binary body untouched`);
    }
  });
});

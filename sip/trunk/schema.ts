/**
 * The schema of one `sip.trunks` entry as written in the configuration (issue 10 §3): keys, defaults, checks and
 * descriptions in one declaration. {@link parseTrunkDefinition} checks a trunk against it, then derives the typed
 * {@link TrunkDefinition} (peer addresses, registrar target, rules between keys). `src/config` embeds the same
 * schema in the `sip` section, and the README's trunk table is generated from it.
 */
import { Type, type Static, type TString } from "@sinclair/typebox";
import { DIGEST_ALGORITHMS } from "../auth/digest.js";
import { anyCasePattern } from "../schema.js";

/** Codec names a trunk may allow (RFC 3551 / RFC 4867 / RFC 4733 encoding names, matched case-insensitively). */
export const TRUNK_CODECS = ["PCMU", "PCMA", "G722", "G729", "AMR", "AMR-WB", "opus", "telephone-event", "CN"] as const;
export type TrunkCodec = (typeof TRUNK_CODECS)[number];

export const TRUNK_NAME_PATTERN = "^[A-Za-z0-9_.-]{1,64}$";

/** A string that is one of `values`, in any case (the parser maps it to the spelling in `values`). */
const anyCase = (values: readonly string[], options: { default?: string; description?: string } = {}): TString =>
  Type.String({ ...options, pattern: anyCasePattern(values), expected: `one of ${values.join(", ")}` });

export const TrunkSchema = Type.Object(
  {
    name: Type.String({
      pattern: TRUNK_NAME_PATTERN,
      expected: "1-64 characters of letters, digits, '_', '.', '-'",
      description: "letters, digits, `_ . -`; unique",
    }),
    peers: Type.Array(Type.String(), {
      default: [],
      description:
        "`203.0.113.10`, `203.0.113.10:5060`, `203.0.113.0/28`, `2001:db8::1`, `[2001:db8::1]:5060`, `2001:db8::/32`, `sbc.example[:port]`; required for `auth: ip`",
    }),
    transport: anyCase(["udp", "tcp", "tls"], {
      default: "udp",
      description: "`udp`, `tcp` or `tls`; a `tls` trunk only accepts TLS",
    }),
    auth: anyCase(["ip", "digest", "register"], {
      default: "ip",
      description:
        "`ip` (source-address ACL), `digest` (Korus challenges the peer), `register` (Korus registers to the carrier)",
    }),
    username: Type.Optional(
      Type.String({ minLength: 1, description: "user name for `digest` and `register` (required there)" }),
    ),
    password: Type.Optional(
      Type.String({ minLength: 1, secret: true, description: "password for `digest` and `register` (required there)" }),
    ),
    realm: Type.Optional(
      Type.String({
        pattern: '^[^"\\\\\\r\\n]+$',
        expected: "a non-empty string without quotes or line breaks",
        description: "realm of the credentials of `digest` and `register` trunks (absent = any realm)",
      }),
    ),
    digestAlgorithms: Type.Array(
      Type.String({ pattern: anyCasePattern(DIGEST_ALGORITHMS), expected: `one of ${DIGEST_ALGORITHMS.join(", ")}` }),
      {
        minItems: 1,
        default: ["SHA-256", "MD5"],
        description: "what a `digest` trunk offers, strongest first; MD5-only peers (e.g. SIPp 3.6) need `[MD5]`",
      },
    ),
    registrar: Type.Optional(
      Type.String({
        minLength: 1,
        description: "`register`: the registrar's SIP URI (required there, refused elsewhere)",
      }),
    ),
    registerExpires: Type.Integer({
      minimum: 60,
      maximum: 86_400,
      default: 3600,
      description: "`register`: requested registration lifetime in seconds",
    }),
    aor: Type.Optional(
      Type.String({
        pattern: "^[sS][iI][pP][sS]?:",
        expected: "a sip: or sips: URI",
        defaultText: "`sip:<user>@<registrar>`",
        description: "`register`: the address-of-record to register",
      }),
    ),
    codecs: Type.Array(
      Type.String({ pattern: anyCasePattern(TRUNK_CODECS), expected: `one of ${TRUNK_CODECS.join(", ")}` }),
      {
        minItems: 1,
        default: ["PCMA", "PCMU", "telephone-event"],
        description:
          "allowed codecs in order of preference: PCMU, PCMA, G722, G729, AMR, AMR-WB, opus, telephone-event, CN",
      },
    ),
    dtmf: anyCase(["rfc4733", "inband", "info"], { default: "rfc4733", description: "`rfc4733`, `inband`, `info`" }),
    holdMethod: anyCase(["reinvite", "update"], {
      default: "reinvite",
      description: "SipEndpoint.hold()/resume() send `reinvite`, or `update` (RFC 3311) when the peer allows UPDATE",
    }),
    optionsIntervalS: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 30,
      description: "OPTIONS keepalive interval in seconds (0 = off)",
    }),
    optionsUpAfter: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 1,
      description: "answered probes in a row before a down trunk is up",
    }),
    optionsDownAfter: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 3,
      description: "failed probes in a row before an up trunk is down",
    }),
    application: Type.Optional(
      Type.String({
        pattern: TRUNK_NAME_PATTERN,
        expected: "an application name (1-64 of A-Z a-z 0-9 _ . -)",
        defaultText: "none",
        description:
          "with `kurento.auth: tokens` and isolation: the application whose sessions hear of this trunk's inbound calls (IncomingCall) and may claim them; none = every application",
      }),
    ),
  },
  { additionalProperties: false },
);

/** One trunk as written, with its defaults filled in. */
export type TrunkInput = Static<typeof TrunkSchema>;

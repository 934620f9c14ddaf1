/**
 * The `sip` configuration section beyond host/port, as TypeBox schemas (issue 10 §3): TLS, admission (rate limit,
 * digest), TCP/TLS connection limits, trunks (sip/trunk's schema) and the dial plan. Each key's type, default,
 * check and README description are declared once here; rules between keys are attached with `refine`.
 */
import { Type, type Static } from "@sinclair/typebox";
import { refine, TrunkSchema, trunkListIssue } from "../../sip/index.js";
import { DEFAULT_RECORD_PATH, RECORD_MODES, RECORD_PROFILES, recordTemplateIssue } from "./recordTemplate.js";

export const SipTlsSchema = refine(
  Type.Object(
    {
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 0, description: "SIP over TLS port (0 = off)" }),
      certFile: Type.String({ default: "", description: "PEM certificate of the TLS listener" }),
      keyFile: Type.String({ default: "", description: "PEM private key of the TLS listener" }),
      caFile: Type.String({ default: "", description: 'CA bundle to verify client certificates with ("" = none)' }),
      requestClientCert: Type.Boolean({ default: false, description: "ask clients for a certificate (mutual TLS)" }),
    },
    { additionalProperties: false, default: {} },
  ),
  (tls) =>
    tls.port !== 0 && (tls.certFile === "" || tls.keyFile === "")
      ? { at: ".certFile", reason: "TLS needs certFile and keyFile when tls.port is set" }
      : undefined,
);
export type SipTlsConfig = Static<typeof SipTlsSchema>;

export const SipRateLimitSchema = Type.Object(
  {
    ratePerSecond: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 50,
      description: "sustained messages per second per source address (503 + Retry-After beyond)",
    }),
    burst: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100,
      description: "messages a source may send in a burst",
    }),
    trunkRatePerSecond: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 5000,
      description: "the same for sources of `auth: ip` trunks (a carrier SBC sends every call from one address)",
    }),
    trunkBurst: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 10_000,
      description: "burst of sources of `auth: ip` trunks",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type SipRateLimitConfig = Static<typeof SipRateLimitSchema>;

/** Limits of the SIP TCP and TLS listeners (issue 9 §3): no source can exhaust file descriptors or memory. */
export const SipConnectionLimitsSchema = Type.Object(
  {
    maxTotal: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 4096,
      description: "SIP TCP/TLS connections at once, in total (lowered to fit the open-file limit minus `fdReserve`)",
    }),
    maxPerSource: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 64,
      description: "SIP TCP/TLS connections at once from one source address",
    }),
    idleTimeoutS: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      default: 300,
      description: "a connection with no complete message for this long is closed",
    }),
    partialMessageTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 600_000,
      default: 10_000,
      description: "a message (headers or body) must be complete within this time, or the connection is closed",
    }),
    fdReserve: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 256,
      description: "file descriptors kept free for media sockets, files and `/health`",
    }),
  },
  { additionalProperties: false, default: {} },
);
export type SipConnectionLimits = Static<typeof SipConnectionLimitsSchema>;

export const SipDigestSchema = refine(
  Type.Object(
    {
      realm: Type.String({
        pattern: '^[^"\\\\\\r\\n]+$',
        expected: "non-empty, without quotes, backslashes or line breaks",
        default: "korus",
        description: "realm of the challenges sent to `auth: digest` trunks",
      }),
      secret: Type.String({
        default: "",
        secret: true,
        description: 'signs the nonces ("" = random per start: nonces then do not survive a restart)',
      }),
      nonceTtlS: Type.Integer({ minimum: 10, maximum: 86_400, default: 300, description: "nonce lifetime in seconds" }),
    },
    { additionalProperties: false, default: {} },
  ),
  (d) =>
    d.secret !== "" && Buffer.byteLength(d.secret) < 16
      ? { at: ".secret", reason: "must be empty (random per start) or at least 16 bytes" }
      : undefined,
);
export type SipDigestConfig = Static<typeof SipDigestSchema>;

export const DIAL_PLAN_ACTIONS = ["echo", "reject", "bridge", "room", "play", "stream"] as const;
export type DialPlanAction = (typeof DIAL_PLAN_ACTIONS)[number];

/** The `stream` action (issue 14, docs/voicebots.md): the call goes straight to a voice bot (WebSocketEndpoint). */
export const DialPlanStreamSchema = Type.Object(
  {
    url: Type.String({ pattern: "^wss?://", description: "stream: the bot's ws:// or wss:// URL" }),
    protocol: Type.Optional(
      Type.Union([Type.Literal("twilio"), Type.Literal("jambonz")], { description: "stream: protocol (twilio)" }),
    ),
    sampleRate: Type.Optional(
      Type.Union([Type.Literal(8000), Type.Literal(16000), Type.Literal(24000)], {
        description: "stream: jambonz sample rate (8000)",
      }),
    ),
    channels: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { description: "stream: channels (1)" })),
    parameters: Type.Optional(
      Type.Record(Type.String(), Type.String(), { description: "stream: custom parameters for the bot" }),
    ),
    retrySeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 3600, description: "stream: reconnection window (10 s)" }),
    ),
    outageAudio: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description: "stream: file (under files.mediaRoots) the caller hears while the bot is unreachable (silence)",
      }),
    ),
  },
  { additionalProperties: false, description: "stream: the voice bot to send the call to" },
);
/** A dial-plan action's `record` option: the call is recorded without an application (docs/recording.md). */
export const DialPlanRecordSchema = refine(
  Type.Object(
    {
      mode: Type.Union(
        RECORD_MODES.map((m) => Type.Literal(m)),
        {
          default: "stereo",
          description: "stereo (caller left, the other side right), mixed (one channel) or legs (a file per leg)",
        },
      ),
      profile: Type.Union(
        Object.keys(RECORD_PROFILES).map((p) => Type.Literal(p)),
        { default: "WAV", description: "recording profile: WAV (G.711), OGG (Opus) or an _AUDIO_ONLY one" },
      ),
      path: Type.String({
        default: DEFAULT_RECORD_PATH,
        description:
          "file name template under files.recordingsRoot: {date} {time} {callId} {from} {to} {trunk} {leg} {ext} {id}",
      }),
    },
    { additionalProperties: false },
  ),
  (r) => {
    const issue = recordTemplateIssue(r.path);
    return issue === undefined ? undefined : { at: ".path", reason: issue };
  },
);
export type DialPlanRecord = Static<typeof DialPlanRecordSchema>;

/** One ordered dial-plan rule: all given regexes must match (To URI, From URI, trunk name). */
export const DialPlanRuleSchema = refine(
  Type.Object(
    {
      to: Type.Optional(Type.String({ description: "regex on the To URI" })),
      from: Type.Optional(Type.String({ description: "regex on the From URI" })),
      trunk: Type.Optional(Type.String({ description: "regex on the trunk name" })),
      action: Type.Union(
        DIAL_PLAN_ACTIONS.map((a) => Type.Literal(a)),
        { description: "what to do with the call" },
      ),
      status: Type.Optional(Type.Integer({ minimum: 300, maximum: 699, description: "reject: final status (603)" })),
      uri: Type.Optional(Type.String({ description: "bridge: the SIP URI to call (`$1`… from `to`)" })),
      viaTrunk: Type.Optional(Type.String({ description: "bridge: the trunk to place the second leg on" })),
      room: Type.Optional(Type.String({ description: "room: the room name (`$1`… substituted)" })),
      file: Type.Optional(Type.String({ description: "play: the file" })),
      stream: Type.Optional(DialPlanStreamSchema),
      record: Type.Optional(DialPlanRecordSchema),
    },
    { additionalProperties: false },
  ),
  (rule) => {
    for (const k of ["to", "from", "trunk"] as const) {
      const source = rule[k];
      if (source !== undefined) {
        try {
          new RegExp(source);
        } catch (err) {
          return { at: `.${k}`, reason: `is not a valid regular expression (${(err as Error).message})` };
        }
      }
    }
    if (rule.action === "bridge" && rule.uri === undefined && rule.viaTrunk === undefined) {
      return { at: ".uri", reason: "a bridge needs uri or viaTrunk" };
    }
    if (rule.action === "room" && rule.room === undefined) {
      return { at: ".room", reason: "a room rule needs a room name" };
    }
    if (rule.action === "play" && rule.file === undefined) {
      return { at: ".file", reason: "a play rule needs a file" };
    }
    if (rule.action === "stream" && rule.stream === undefined) {
      return { at: ".stream", reason: "a stream rule needs stream: {url, …}" };
    }
    const issue = rule.record === undefined ? undefined : recordTemplateIssue(rule.record.path);
    if (issue !== undefined) {
      return { at: ".record.path", reason: issue };
    }
    if (rule.record !== undefined && rule.action === "reject") {
      return { at: ".record", reason: "a rejected call has nothing to record" };
    }
    return undefined;
  },
);
export type DialPlanRule = Static<typeof DialPlanRuleSchema>;

/** The nested `sip` keys that are lists or mappings of their own; src/config adds host, port and the rest. */
export const SIP_SECTION_PARTS = {
  tls: SipTlsSchema,
  rateLimit: SipRateLimitSchema,
  digest: SipDigestSchema,
  trunks: refine(
    Type.Array(TrunkSchema, {
      default: [{ name: "local", peers: ["127.0.0.1"], transport: "udp", auth: "ip", optionsIntervalS: 0 }],
      defaultText: "`local` (127.0.0.1, ip)",
      description: "trunk list, see [SIP trunks](#sip-trunks-authentication-and-tls)",
    }),
    trunkListIssue,
  ),
  dialplan: Type.Array(DialPlanRuleSchema, {
    default: [
      { to: "^sips?:echo@", action: "echo" },
      { to: "^sips?:room-([A-Za-z0-9_.-]+)@", action: "room", room: "$1" },
    ],
    defaultText: "echo, room-<name>",
    description: "ordered rules for unclaimed calls, see [Dial plan](#dial-plan)",
  }),
  connections: SipConnectionLimitsSchema,
};

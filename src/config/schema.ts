/**
 * The configuration as one TypeBox schema (issue 10 §3). Every key of config/default.yaml is declared once, here or
 * in the schemas it composes (src/sip/config.ts, sip/trunk/schema.ts): its type (`KorusConfig` is derived), its
 * default (`default:`), its check (keywords, and `refine` rules between keys), its environment variable (`env:`)
 * and its README description (`description:`; the README's table is generated from it, `npm run docs:config`, and a
 * test compares them). Validation happens at start-up; an invalid file makes the process exit non-zero, and the
 * error names the key path, what was expected and what was given. docs/configuration.md explains how to add a key.
 */
import {
  Type,
  type Static,
  type TArray,
  type TBoolean,
  type TInteger,
  type TObject,
  type TProperties,
  type TString,
} from "@sinclair/typebox";
import { checkSchema, refine } from "../../sip/index.js";
import { SIP_SECTION_PARTS } from "../sip/config.js";
import { ConfigError } from "./errors.js";
import { registeredSections, reserveSectionNames, validateSection } from "./sections.js";

export { ConfigError } from "./errors.js";

type Extra = Record<string, unknown>;
const int = (minimum: number, maximum: number, def: number, description: string, extra: Extra = {}): TInteger =>
  Type.Integer({ minimum, maximum, default: def, description, ...extra });
const str = (def: string, description: string, extra: Extra = {}): TString =>
  Type.String({ default: def, description, ...extra });
const bool = (def: boolean, description: string): TBoolean => Type.Boolean({ default: def, description });
/** A list of strings that each match `pattern`; `one` and `all` name an item and the list in errors. */
const list = (pattern: string, [one, all]: readonly [string, string], description: string): TArray<TString> =>
  Type.Array(Type.String({ pattern, expected: one }), { default: [], description, expected: all });
const section = <P extends TProperties>(properties: P): TObject<P> =>
  Type.Object(properties, { additionalProperties: false, default: {} });

const IPV4 = "(25[0-5]|2[0-4]\\d|1?\\d?\\d)(\\.(25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}";
const CIDR4 = `^${IPV4}\\/(3[0-2]|[12]?\\d)$`;
const HOST_PATTERN = "^(\\*\\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*$";
const FOLDER = { pattern: "^[^\\u0000]+$", expected: "a folder path" };

export const LogLevelSchema = Type.Union(
  (["trace", "debug", "info", "warn", "error", "fatal"] as const).map((l) => Type.Literal(l)),
  {
    default: "info",
    env: "KORUS_LOG_LEVEL",
    description:
      "`trace`…`fatal`; logs are JSON lines (pino) on stdout with sessionId, pipelineId and elementId context",
  },
);
export type LogLevel = Static<typeof LogLevelSchema>;

const KurentoAuthModeSchema = Type.Union([Type.Literal("auto"), Type.Literal("none"), Type.Literal("tokens")], {
  default: "auto",
  description:
    "`none`, `tokens`, or `auto` (none on a loopback listener; else tokens when configured, else none with a warning); see [Security](#security)",
});
export type KurentoAuthMode = Static<typeof KurentoAuthModeSchema>;

/** An application's credential for the Kurento endpoint. */
const KurentoTokenSchema = Type.Object(
  {
    application: Type.String({
      pattern: "^[A-Za-z0-9_.-]{1,64}$",
      expected: "1-64 characters of A-Z a-z 0-9 _ . -",
      description: "application name; objects are isolated per application",
    }),
    token: Type.String({
      pattern: "^[\\x21-\\x7e]{16,512}$",
      expected: "16-512 printable ASCII characters without spaces",
      secret: true,
      description: "the bearer token",
    }),
  },
  { additionalProperties: false },
);
export type KurentoToken = Static<typeof KurentoTokenSchema>;

const server = refine(
  section({
    host: Type.String({ minLength: 1, default: "0.0.0.0", description: "address of the HTTP/WebSocket listener" }),
    port: int(0, 65535, 8888, "HTTP/WebSocket port (0 picks a free port)", { env: "KORUS_WS_PORT" }),
    maxFrameBytes: int(
      1024,
      64 * 1_048_576,
      1_048_576,
      "largest WebSocket frame; larger frames close the socket with 1009",
    ),
    tlsCertFile: str("", "PEM certificate; with it and `tlsKeyFile` the listener is HTTPS/WSS only"),
    tlsKeyFile: str("", "PEM private key of `tlsCertFile`"),
    maxConnections: int(1, 1_000_000, 2000, "WebSocket connections at once in total (more: HTTP 503)"),
    maxConnectionsPerAddress: int(
      1,
      1_000_000,
      200,
      "WebSocket connections at once per client address (more: HTTP 429)",
    ),
  }),
  (s) =>
    (s.tlsCertFile === "") !== (s.tlsKeyFile === "")
      ? { at: ".tlsKeyFile", reason: "WSS needs both server.tlsCertFile and server.tlsKeyFile" }
      : undefined,
);

const kurento = refine(
  section({
    path: Type.String({
      pattern: "^/[A-Za-z0-9._~\\-/]*$",
      expected: 'a URL path starting with "/"',
      default: "/kurento",
      description: "JSON-RPC WebSocket path (query strings allowed; other paths close with 1002)",
    }),
    gcPeriodMs: int(1000, 86_400_000, 240_000, "session garbage-collection period (KMS garbageCollectorPeriod)"),
    workerRequestTimeoutMs: int(100, 600_000, 15_000, "time a media worker may take to answer one request"),
    auth: KurentoAuthModeSchema,
    tokens: refine(
      Type.Array(KurentoTokenSchema, {
        default: [],
        description: "`{application, token}` list: one bearer token per application",
      }),
      (tokens) => {
        const index = tokens.findIndex((t, i) => tokens.findIndex((u) => u.token === t.token) !== i);
        return index < 0
          ? undefined
          : { at: `[${index}].token`, reason: "is used twice: each application needs its own token" };
      },
    ),
    isolation: Type.Union([Type.Literal("application"), Type.Literal("shared")], {
      default: "application",
      description: "`application`: a session sees only its application's objects and sessions; `shared`: KMS behaviour",
    }),
    maxSessionsPerConnection: int(1, 100_000, 16, "Kurento sessions one WebSocket connection may create or join"),
    maxSessionsPerAddress: int(1, 1_000_000, 1000, "Kurento sessions the connections of one client address may hold"),
  }),
  (k) =>
    k.auth === "tokens" && k.tokens.length === 0
      ? { at: ".tokens", reason: 'auth "tokens" needs at least one {application, token}' }
      : undefined,
);

const media = section({
  workers: int(0, 256, 0, "media worker threads; 0 = one per CPU core", { env: "KORUS_MEDIA_WORKERS" }),
  flowTimeoutMs: int(100, 600_000, 2000, "time without packets before a flow is reported NOT_FLOWING"),
  loadReportMs: int(100, 60_000, 1000, "interval of the workers' load reports used for pipeline placement"),
});

const rtp = refine(
  section({
    portMin: int(1024, 65534, 40_000, "first UDP port for RTP and ICE (the range is split into one slice per worker)", {
      env: "KORUS_RTP_MIN",
    }),
    portMax: int(1025, 65535, 49_999, "last UDP port for RTP and ICE", { env: "KORUS_RTP_MAX" }),
  }),
  (r) =>
    r.portMax - r.portMin < 3
      ? { at: ".portMax", reason: `must be at least rtp.portMin + 3 (got ${r.portMin}-${r.portMax})` }
      : undefined,
);

const webrtc = section({
  interfaces: list(
    `^${IPV4}$`,
    ["an IPv4 address", "a list of IPv4 addresses"],
    "IPv4 addresses for ICE host candidates; empty = all non-internal interfaces (use `[127.0.0.1]` for a single-host test)",
  ),
  externalIPv4: str("", "public address announced in candidates (1:1 NAT)", {
    pattern: `^(${IPV4})?$`,
    expected: 'an IPv4 address or ""',
  }),
  stunServer: str("", "STUN server `host:port`"),
  turnServer: str("", "TURN server URL (`turn:host:port?transport=udp`)"),
  turnUsername: str("", "TURN user name"),
  turnPassword: str("", "TURN password", { secret: true }),
});

const sip = section({
  host: Type.String({ minLength: 1, default: "0.0.0.0", description: "SIP listen address, UDP and TCP" }),
  port: int(1, 65535, 5060, "SIP port, UDP and TCP", { env: "KORUS_SIP_PORT" }),
  publicHost: str(
    "",
    'address in Via/Contact (and RTP SDP); "" = `sip.host`, or the first non-internal IPv4 when that is a wildcard',
  ),
  enabled: bool(true, "start the SIP service"),
  tls: SIP_SECTION_PARTS.tls,
  unknownSourceStatus: int(400, 699, 403, "stateless answer to sources that match no trunk"),
  rateLimit: SIP_SECTION_PARTS.rateLimit,
  digest: SIP_SECTION_PARTS.digest,
  trunks: SIP_SECTION_PARTS.trunks,
  dialplan: SIP_SECTION_PARTS.dialplan,
  claimTimeoutMs: int(0, 600_000, 3000, "time an application has to claim an announced call"),
  unmatchedStatus: int(400, 699, 404, "status when no dial-plan rule matches"),
  defaultFrom: str("", 'From of calls Korus places without `from` ("" = `sip:korus@<publicHost>`)'),
  connections: SIP_SECTION_PARTS.connections,
  overloadLagMs: int(10, 60_000, 200, "event-loop lag above which new requests get 503 + Retry-After"),
});

const cdr = refine(
  section({
    enabled: bool(true, "write CDRs"),
    synchronous: Type.Union([Type.Literal("normal"), Type.Literal("full")], {
      default: "normal",
      description: "`normal`: survives process crash/kill -9; `full`: fsync per commit, also survives OS crash",
    }),
    postgresUrl: str("", "PostgreSQL sink; empty = off", { env: "KORUS_CDR_POSTGRES_URL", secret: true }),
    postgresTable: str("korus_cdr", "table of the PostgreSQL sink", {
      pattern: "^[a-z_][a-z0-9_]{0,62}$",
      expected: "a lower-case SQL identifier ([a-z_][a-z0-9_]*)",
    }),
    webhookUrl: str("", "webhook sink; empty = off", {
      env: "KORUS_CDR_WEBHOOK_URL",
      pattern: "^(https?://[^\\s]+)?$",
      expected: 'an http:// or https:// URL or ""',
    }),
    webhookTimeoutMs: int(100, 600_000, 5000, "time one POST may take"),
    retryMinMs: int(10, 3_600_000, 1000, "first retry delay of a failed sink delivery (doubles per attempt)"),
    retryMaxMs: int(10, 86_400_000, 300_000, "longest retry delay of a failed sink delivery"),
    journalIntervalMs: int(
      100,
      60_000,
      2000,
      "period of the batched write marking open calls alive (their end time after a crash)",
    ),
  }),
  (c) =>
    c.retryMaxMs < c.retryMinMs
      ? { at: ".retryMaxMs", reason: `must be at least cdr.retryMinMs (${c.retryMinMs})` }
      : undefined,
);

const recording = refine(
  section({
    scanMs: int(50, 60_000, 1000, "period of the scan of `<recordingsRoot>/.journal` for finished recordings"),
    toolTimeoutMs: int(
      1000,
      3_600_000,
      300_000,
      "time one ffmpeg re-mux (crash recovery) or ffprobe of a recording may take before it is killed",
    ),
    upload: section({
      method: Type.Union([Type.Literal("POST"), Type.Literal("PUT")], {
        default: "POST",
        description: "HTTP method of an `http(s)://` recording's upload (chunked, as KMS: POST)",
      }),
      timeoutMs: int(1000, 3_600_000, 60_000, "time an upload may go without progress or answer"),
      retryMinMs: int(10, 3_600_000, 1000, "first retry delay of a failed upload (doubles per attempt, with jitter)"),
      retryMaxMs: int(10, 86_400_000, 300_000, "longest retry delay of a failed upload"),
      keepSpool: bool(false, "keep the local spool file after a successful upload"),
    }),
  }),
  (c) =>
    c.upload.retryMaxMs < c.upload.retryMinMs
      ? { at: ".upload.retryMaxMs", reason: `must be at least recording.upload.retryMinMs (${c.upload.retryMinMs})` }
      : undefined,
);

export const ConfigSchema = Type.Object(
  {
    server,
    kurento,
    media,
    rtp,
    webrtc,
    sip,
    data: section({
      dir: Type.String({
        minLength: 1,
        default: "./data",
        env: "KORUS_DATA_DIR",
        description: "recordings, CDR database and state",
      }),
    }),
    files: section({
      mediaRoots: Type.Array(Type.String(FOLDER), {
        default: ["media"],
        expected: "a list of folder paths",
        description:
          "folders `file://` media may be read from (relative to `data.dir`); nothing outside, no `..`, no symlink out",
      }),
      recordingsRoot: Type.String({
        ...FOLDER,
        default: "recordings",
        description: "folder recordings are written under",
      }),
    }),
    httpMedia: section({
      allowHosts: list(
        HOST_PATTERN,
        ['a host name or "*.domain"', "a list of host names"],
        "hosts http(s) media may come from (`*.example.org` allowed); empty = any",
      ),
      allowNetworks: list(
        CIDR4,
        ["an IPv4 CIDR such as 10.0.0.0/8", "a list of IPv4 CIDRs"],
        "private/loopback/link-local CIDRs fetches may reach anyway (none by default, redirects checked too)",
      ),
    }),
    log: section({ level: LogLevelSchema }),
    metrics: section({
      enabled: bool(true, "serves Prometheus metrics at `GET /metrics` (see [Metrics](#metrics))"),
      token: str("", "bearer token that `GET /metrics` and `GET /health` require; empty = none", {
        env: "KORUS_METRICS_TOKEN",
        secret: true,
        maxLength: 4096,
      }),
    }),
    demo: section({
      enabled: bool(true, "serves the gateway demo at `/demo/gateway`"),
      allowRemote: bool(false, "serves the demo to non-loopback clients too (it places calls)"),
    }),
    admin: section({
      enabled: bool(
        false,
        "exposes `GET /admin/workers` and `POST /admin/workers/<index>/kill` (a failure drill) on the HTTP port",
      ),
      token: str("", "the admin console's login token (the console at `/` is served only when this is set)", {
        maxLength: 4096,
        secret: true,
      }),
      allowNetworks: list(
        CIDR4,
        ["an IPv4 CIDR such as 10.0.0.0/8", "a list of IPv4 CIDRs"],
        "networks besides loopback that may reach the admin console (loopback only by default)",
      ),
    }),
    cdr,
    recording,
    modules: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      expected: "a list of package names or paths",
      description: "Korus modules to load: npm package names or folder paths (see docs/modules.md)",
    }),
  },
  { additionalProperties: false, keyNoun: "section" },
);
reserveSectionNames(Object.keys(ConfigSchema.properties));

export type KorusConfig = Static<typeof ConfigSchema>;

/**
 * Fills the defaults into `input` and validates every key, and the sections modules registered (sections.ts).
 * @throws ConfigError naming the first bad field (unknown keys are errors too: they are usually typos).
 */
export function validateConfig(input: unknown): KorusConfig {
  let doc = input;
  const sections = new Map<string, unknown>();
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const own: Record<string, unknown> = { ...input };
    for (const m of registeredSections()) {
      sections.set(m.name, own[m.name]);
      Reflect.deleteProperty(own, m.name);
    }
    doc = own;
  }
  const checked = checkSchema(ConfigSchema, doc, "");
  if (!checked.ok) {
    throw new ConfigError(checked.issue.path, checked.issue.reason);
  }
  for (const m of registeredSections()) {
    validateSection(m.name, m.schema, sections.get(m.name));
  }
  return checked.value;
}

/** The configuration with every default, as config/default.yaml spells it out. */
export const DEFAULT_CONFIG: KorusConfig = validateConfig({});

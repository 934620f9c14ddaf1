/**
 * The constructor parameters of {@link WebSocketEndpoint}, checked once (hostile input is the normal case): the
 * bot URL (ws/wss, a host, the http media policy's private/loopback rules), extra handshake headers (token names,
 * no CR/LF/NUL, bounded count and size, no header the handshake owns), custom parameters (bounded), and the audio
 * format the protocol allows.
 * @throws TypeError naming the parameter; the control plane answers it as a Kurento error.
 */
import type { JsonObject, JsonValue } from "../../sdk/index.js";

export type BotProtocolName = "twilio" | "jambonz";
export type StreamDirection = "both" | "listen";

export interface StreamParams {
  readonly url: URL;
  readonly protocol: BotProtocolName;
  readonly headers: Readonly<Record<string, string>>;
  readonly parameters: Readonly<Record<string, string>>;
  readonly sampleRate: 8000 | 16000 | 24000;
  readonly channels: 1 | 2;
  readonly direction: StreamDirection;
  readonly retryMs: number;
  readonly maxQueueFrames: number;
  /** A file URI or path (confined to files.mediaRoots when loaded) played, looped, while the bot is away. */
  readonly outageAudio: string | undefined;
}

const MAX_HEADERS = 32;
const MAX_MAP_BYTES = 8192;
const MAX_PARAMETERS = 64;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
/** Headers the WebSocket handshake sets itself. */
const RESERVED = new Set(["host", "upgrade", "connection", "content-length", "transfer-encoding"]);

export function streamParams(p: JsonObject): StreamParams {
  const url = botUrl(p["uri"]);
  const protocol = oneOf(p, "protocol", ["twilio", "jambonz"] as const, "twilio");
  const sampleRate = oneOf(p, "sampleRate", [8000, 16000, 24000] as const, 8000);
  const channels = oneOf(p, "channels", [1, 2] as const, 1);
  const direction = oneOf(p, "direction", ["both", "listen"] as const, "both");
  if (protocol === "twilio" && (sampleRate !== 8000 || channels !== 1)) {
    throw new TypeError("WebSocketEndpoint: protocol 'twilio' streams µ-law at 8000 Hz mono (sampleRate, channels)");
  }
  return {
    url,
    protocol,
    headers: stringMap(p["headers"], "headers", MAX_HEADERS, true),
    parameters: stringMap(p["parameters"], "parameters", MAX_PARAMETERS, false),
    sampleRate,
    channels,
    direction,
    retryMs: intIn(p, "retrySeconds", 0, 3600, 10) * 1000,
    maxQueueFrames: intIn(p, "maxQueueSeconds", 1, 600, 60) * 50,
    outageAudio: outageAudio(p["outageAudio"]),
  };
}

function outageAudio(v: JsonValue | undefined): string | undefined {
  if (v === undefined || v === null || v === "") {
    return undefined;
  }
  const scheme = typeof v === "string" ? /^([a-z][a-z0-9+.-]*):/i.exec(v)?.[1] : undefined;
  if (typeof v !== "string" || v.length > 2048 || v.includes("\0") || (scheme !== undefined && scheme !== "file")) {
    throw new TypeError("WebSocketEndpoint: outageAudio must be a file:// URI or a path of at most 2048 characters");
  }
  return v;
}

function botUrl(v: JsonValue | undefined): URL {
  if (typeof v !== "string" || v.length > 2048) {
    throw new TypeError("WebSocketEndpoint: uri must be a ws:// or wss:// URL of at most 2048 characters");
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new TypeError("WebSocketEndpoint: uri is not a URL");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new TypeError(`WebSocketEndpoint: uri scheme '${url.protocol}' is not ws: or wss:`);
  }
  if (url.hostname === "") {
    throw new TypeError("WebSocketEndpoint: uri has no host");
  }
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("WebSocketEndpoint: uri must not carry credentials (use headers)");
  }
  return url;
}

function oneOf<T extends string | number>(p: JsonObject, name: string, allowed: readonly T[], dflt: T): T {
  const v = p[name];
  if (v === undefined || v === null) {
    return dflt;
  }
  const hit = allowed.find((a) => a === v);
  if (hit === undefined) {
    throw new TypeError(`WebSocketEndpoint: ${name} must be one of ${allowed.join(", ")}`);
  }
  return hit;
}

function intIn(p: JsonObject, name: string, min: number, max: number, dflt: number): number {
  const v = p[name];
  if (v === undefined || v === null) {
    return dflt;
  }
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`WebSocketEndpoint: ${name} must be an integer from ${min} to ${max}`);
  }
  return v;
}

function stringMap(
  v: JsonValue | undefined,
  name: string,
  maxEntries: number,
  header: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined || v === null) {
    return out;
  }
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(`WebSocketEndpoint: ${name} must be a map of strings`);
  }
  const entries = Object.entries(v);
  if (entries.length > maxEntries) {
    throw new TypeError(`WebSocketEndpoint: ${name} has more than ${maxEntries} entries`);
  }
  let bytes = 0;
  for (const [k, val] of entries) {
    if (typeof val !== "string") {
      throw new TypeError(`WebSocketEndpoint: ${name}.${k} must be a string`);
    }
    bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
    if (header) {
      const lower = k.toLowerCase();
      if (!TOKEN.test(k) || RESERVED.has(lower) || lower.startsWith("sec-websocket-")) {
        throw new TypeError(`WebSocketEndpoint: headers: '${k.slice(0, 64)}' is not a header an application may set`);
      }
    }
    if (BAD_VALUE.test(val) || BAD_VALUE.test(k)) {
      throw new TypeError(`WebSocketEndpoint: ${name}.${k.slice(0, 64)} contains CR, LF or NUL`);
    }
    out[k] = val;
  }
  if (bytes > MAX_MAP_BYTES) {
    throw new TypeError(`WebSocketEndpoint: ${name} exceed ${MAX_MAP_BYTES} bytes`);
  }
  return out;
}

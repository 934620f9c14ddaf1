/**
 * What a voice-bot WebSocket protocol does for {@link WebSocketEndpoint} (docs/voicebots.md): the messages Korus
 * sends (greeting, audio, DTMF, mark acknowledgements, stop) and the parse of what the bot sends into commands.
 * One implementation per protocol: twilio.ts (Twilio Media Streams), jambonz.ts (jambonz `listen`).
 *
 * Parsers never throw: a message they cannot use becomes a `bad` command with the reason, which the element
 * counts, logs at a bounded rate and drops.
 */

/** What one message from the bot asks for. */
export type BotCommand =
  | { readonly kind: "audio"; readonly data: Uint8Array }
  | { readonly kind: "mark"; readonly name: string }
  | { readonly kind: "clear" }
  | { readonly kind: "clearMarks" }
  | { readonly kind: "disconnect" }
  | { readonly kind: "ignore" }
  | { readonly kind: "other"; readonly message: string }
  | { readonly kind: "bad"; readonly reason: string };

/** Longest mark name accepted (characters). */
export const MAX_MARK_NAME = 256;

export interface StreamInfo {
  /** The element's id (the call's identity towards the bot). */
  readonly id: string;
  readonly sampleRate: number;
  readonly channels: number;
  readonly parameters: Readonly<Record<string, string>>;
}

export interface BotProtocol {
  /** WebSocket subprotocols asked for in the handshake. */
  readonly subprotocols: readonly string[];
  /** Bytes of one 20 ms frame of the bot's audio back (mono). */
  readonly frameBytes: number;
  /** The byte that is silence in the bot's audio format (µ-law 0xff, L16 0). */
  readonly silenceByte: number;
  /** The text frames sent when the socket opens (again after a reconnection). */
  greeting(): string[];
  /** One chunk of the caller's audio, in the protocol's format (text or binary frame). */
  audio(payload: Uint8Array): string | Uint8Array;
  dtmf(digit: string, durationMs: number): string;
  /** A mark the playout reached. */
  markPlayed(name: string): string;
  /** A mark dropped by a clear (`killAudio`, `clearMarks`), or undefined when the protocol says nothing. */
  markCleared(name: string): string | undefined;
  /** The last message before Korus closes the socket, if the protocol has one. */
  stop(): string | undefined;
  parse(data: Uint8Array, isBinary: boolean): BotCommand;
}

/** JSON.parse of a text frame into an object, or undefined. */
export function parseObject(data: Uint8Array): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** A mark name that is a non-empty string of bounded length, or undefined. */
export function markName(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 && v.length <= MAX_MARK_NAME ? v : undefined;
}

/**
 * The voice-bot accounting of a CDR leg: the journaled state of its bot stream (WebSocketEndpoint
 * StreamStateChanged updates), restored from a journal entry after a crash, and turned into the record's `bot`
 * field at the leg's end.
 */
import type { BotOutcome, CdrBot } from "./CdrRecord.js";
import { isNum, round, strOrNull } from "./fields.js";

/** A state change of a leg's voice-bot stream (WebSocketEndpoint StreamStateChanged). */
export interface LegBotState {
  /** The bot URL's host (set with the first update). */
  host?: string;
  state: "CONNECTING" | "STREAMING" | "CLOSED" | "FAILED";
  reason?: string;
  at?: number | Date;
}

/** The journaled voice-bot state of an open leg. */
export interface OpenBot {
  host: string;
  /** ms streamed in earlier STREAMING periods (a reconnection starts a new one). */
  streamedMs: number;
  /** Start of the current STREAMING period, null when not streaming. */
  sinceMs: number | null;
  outcome: BotOutcome | null;
  reason: string | null;
}

/** The bot state of a leg before its first update. */
export function newBot(): OpenBot {
  return { host: "", streamedMs: 0, sinceMs: null, outcome: null, reason: null };
}

/**
 * Applies a state change at `at` (epoch ms): STREAMING periods add up; CLOSED or FAILED (with its reason) is the
 * outcome, any other state clears it.
 */
export function updateBot(bot: OpenBot, update: LegBotState, at: number): void {
  if (update.host !== undefined) {
    bot.host = update.host;
  }
  if (bot.sinceMs !== null && update.state !== "STREAMING") {
    bot.streamedMs += Math.max(0, at - bot.sinceMs);
    bot.sinceMs = null;
  } else if (bot.sinceMs === null && update.state === "STREAMING") {
    bot.sinceMs = at;
  }
  if (update.state === "CLOSED" || update.state === "FAILED") {
    bot.outcome = update.state;
    bot.reason = update.state === "FAILED" ? (update.reason ?? "") : null;
  } else {
    bot.outcome = null;
    bot.reason = null;
  }
}

/** The bot state of a journal entry's JSON (`v`), checked field by field; none when it is not an object. */
export function restoreBot(v: unknown, startMs: number): { bot?: OpenBot } {
  if (typeof v !== "object" || v === null) {
    return {};
  }
  const b = v as Record<string, unknown>;
  const outcome = b["outcome"] === "CLOSED" || b["outcome"] === "FAILED" ? b["outcome"] : null;
  return {
    bot: {
      host: strOrNull(b["host"]) ?? "",
      streamedMs: isNum(b["streamedMs"]) ? Math.max(0, b["streamedMs"]) : 0,
      sinceMs: isNum(b["sinceMs"]) ? Math.max(startMs, b["sinceMs"]) : null,
      outcome,
      reason: strOrNull(b["reason"]),
    },
  };
}

/** The CDR view of a leg's bot stream at the leg's end; a stream still open then is CLOSED. */
export function botOf(b: OpenBot, endMs: number): CdrBot {
  const ms = b.streamedMs + (b.sinceMs === null ? 0 : Math.max(0, endMs - b.sinceMs));
  return { host: b.host, seconds: round(ms / 1000, 3), outcome: b.outcome ?? "CLOSED", reason: b.reason };
}

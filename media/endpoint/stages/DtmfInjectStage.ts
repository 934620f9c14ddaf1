/**
 * Digits the peer signalled out of band (SipEndpoint: a SIP INFO), sent on into the pipeline as RFC 4733 events
 * (8 kHz clock, updates every 50 ms, the end three times), so sinks that take telephone-events (a bridged RFC 4733
 * trunk) or relay them (an INFO or inband trunk) get it. The events travel on a stream of their own (sinks see a
 * source switch, so numbering stays continuous); digits queue behind each other.
 *
 * As a stage it watches the peer's audio: it keeps the last 8 kHz timestamp (to place an event in the peer's
 * timeline, which transcoders anchor events to) and holds the peer's audio back while an event plays
 * (RFC 4733 §2.5.1.2).
 */
import { randomInt } from "node:crypto";
import type { MediaPacket } from "../../core/types.js";
import { dtmfPackets } from "../../rtp/dtmf.js";
import type { RtpStage } from "./RtpStage.js";

/** RFC 4733 §2.5.1.2: updates of a long event every 50 ms. */
export const DTMF_INTERVAL_MS = 50;

export class DtmfInjectStage implements RtpStage {
  readonly #send: (packet: MediaPacket) => void;
  readonly #ssrc = randomInt(1, 0xffff_ffff);
  readonly #queue: { digit: string; durationMs: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #seq = randomInt(0, 0xffff);
  /** The 8 kHz timestamp of the last event, and when it was taken. */
  #ts = randomInt(0, 0x7fff_ffff);
  #tsAtMs = 0;
  #active = false;
  #closed = false;
  /** The peer's last audio packet on an 8 kHz clock (timestamp, arrival). */
  #lastTs = 0;
  #lastAtMs = -Infinity;

  /** @param send hands an event packet to the sinks. */
  constructor(send: (packet: MediaPacket) => void) {
    this.#send = send;
  }

  /** An event is playing (the peer's audio is held back). */
  get active(): boolean {
    return this.#active;
  }

  onRtp(packet: MediaPacket): boolean {
    if (packet.kind !== "AUDIO" || packet.codec === "telephone-event") {
      return true;
    }
    if (packet.clockRate === 8000) {
      this.#lastTs = packet.timestamp;
      this.#lastAtMs = packet.arrivalMs;
    }
    return !this.#active;
  }

  /**
   * Queues one digit (durations clamped to 40..5000 ms, 100 ms when not positive).
   * @throws DtmfParseError for something that is not a DTMF digit.
   */
  inject(digit: string, durationMs: number): void {
    const duration = Math.min(5000, Math.max(40, durationMs > 0 ? durationMs : 100));
    dtmfPackets(digit, duration, 8000); // validates the digit before it is queued
    if (this.#closed) {
      return;
    }
    this.#queue.push({ digit, durationMs: duration });
    if (this.#timer === undefined && !this.#active) {
      this.#next();
    }
  }

  #next(): void {
    const next = this.#queue.shift();
    if (next === undefined || this.#closed) {
      this.#active = false;
      return;
    }
    const start = performance.now();
    // In the peer's timeline when its audio runs on 8 kHz (transcoders anchor events to it), else our own clock.
    const ts =
      start - this.#lastAtMs < 1000
        ? (this.#lastTs + Math.round((start - this.#lastAtMs) * 8)) >>> 0
        : (this.#ts + Math.max(1, Math.round((start - this.#tsAtMs) * 8))) >>> 0;
    this.#ts = ts;
    this.#tsAtMs = start;
    this.#active = true;
    const packets = dtmfPackets(next.digit, next.durationMs, 8000, DTMF_INTERVAL_MS);
    let i = 0;
    const tick = (): void => {
      this.#timer = undefined;
      const now = performance.now();
      while (i < packets.length && start + packets[i]!.offsetMs <= now + 1) {
        const p = packets[i++]!;
        this.#send({
          kind: "AUDIO",
          codec: "telephone-event",
          clockRate: 8000,
          payloadType: 101,
          ssrc: this.#ssrc,
          sequenceNumber: this.#seq,
          timestamp: ts,
          marker: p.marker,
          payload: p.payload,
          keyframe: false,
          arrivalMs: now,
        });
        this.#seq = (this.#seq + 1) & 0xffff;
      }
      if (i < packets.length) {
        this.#timer = setTimeout(tick, start + packets[i]!.offsetMs - now);
        this.#timer.unref();
        return;
      }
      this.#next();
    };
    tick();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

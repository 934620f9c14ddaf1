/**
 * DTMF as RFC 4733 telephone-events.
 *
 * Payload (§2.3): event (8 bits) | E (end) | R | volume (6 bits, −dBm0) | duration (16 bits, timestamp units).
 * One event is a series of packets sharing the RTP timestamp of its start: the first has the marker bit (§2.5.1.3),
 * updates carry the growing duration, and the final one has E set and is sent three times (§2.5.1.4).
 *
 * - {@link parseTelephoneEvent} / {@link writeTelephoneEvent}: the 4-byte payload;
 * - {@link dtmfPackets}: the packet series for one digit, to send;
 * - {@link DtmfDetector}: turns received packets into digits once each (retransmitted ends, lost ends and
 *   reordering handled);
 * - {@link rescaleDuration} / {@link TimestampRescaler}: between 8 kHz and 48 kHz clocks (e.g. telephone-event/8000
 *   on a SIP leg, telephone-event/48000 next to Opus);
 * - {@link remapPayloadType}: rewrites the PT of an RTP packet in place, from a mapping such as sdp's
 *   `mapPayloadTypes`.
 */

export class DtmfParseError extends Error {
  override readonly name = "DtmfParseError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Event codes 0–15 (RFC 4733 §3.2). */
export const DTMF_DIGITS = "0123456789*#ABCD";

export interface TelephoneEvent {
  readonly event: number;
  readonly end: boolean;
  /** 0–63, in −dBm0 (10 is a typical level). */
  readonly volume: number;
  /** In timestamp units of the telephone-event clock. */
  readonly duration: number;
}

/** The digit of an event code, or undefined for non-DTMF events (e.g. 32–49 fax tones). */
export function digitOf(event: number): string | undefined {
  return DTMF_DIGITS[event];
}

/** The event code of a digit (case-insensitive), or undefined. */
export function eventOf(digit: string): number | undefined {
  const i = DTMF_DIGITS.indexOf(digit.toUpperCase());
  return i < 0 || digit.length !== 1 ? undefined : i;
}

/**
 * Parses a telephone-event payload (only the first 4-byte block; RFC 4733 §2.5.1.5 redundancy via RED is not
 * used by Korus).
 * @throws DtmfParseError for a payload shorter than 4 bytes.
 */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  if (payload.length < 4) {
    throw new DtmfParseError(`telephone-event payload of ${payload.length} bytes (needs 4)`);
  }
  const b1 = payload[1] ?? 0;
  return {
    event: payload[0] ?? 0,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: ((payload[2] ?? 0) << 8) | (payload[3] ?? 0),
  };
}

/** Writes a telephone-event payload at `offset` (duration clamped to 16 bits). */
export function writeTelephoneEvent(out: Uint8Array, offset: number, ev: TelephoneEvent): void {
  const d = Math.max(0, Math.min(0xffff, Math.round(ev.duration)));
  out[offset] = ev.event & 0xff;
  out[offset + 1] = (ev.end ? 0x80 : 0) | (ev.volume & 0x3f);
  out[offset + 2] = d >>> 8;
  out[offset + 3] = d & 0xff;
}

export function buildTelephoneEvent(ev: TelephoneEvent): Buffer {
  const b = Buffer.alloc(4);
  writeTelephoneEvent(b, 0, ev);
  return b;
}

/**
 * One packet of a generated event, all with the event's start timestamp: sent `offsetMs` after the event started,
 * which is also the duration it reports (a packet reports the time elapsed so far, RFC 4733 §2.5.1.2).
 */
export interface DtmfPacket {
  readonly offsetMs: number;
  readonly marker: boolean;
  readonly payload: Buffer;
}

/**
 * The packet series of one digit (RFC 4733 §2.5.1): a first packet with the marker and the duration of one
 * interval, updates every `intervalMs` with the duration so far, then the end packet three times with the final
 * duration. Durations are in units of `clockRate`.
 * @throws DtmfParseError for something that is not a DTMF digit.
 */
export function dtmfPackets(
  digit: string,
  durationMs: number,
  clockRate: number,
  intervalMs = 50,
  volume = 10,
): DtmfPacket[] {
  const event = eventOf(digit);
  if (event === undefined) {
    throw new DtmfParseError(`'${digit}' is not a DTMF digit (0-9, *, #, A-D)`);
  }
  const total = Math.max(intervalMs, durationMs);
  const ticks = (ms: number): number => Math.min(0xffff, Math.round((ms * clockRate) / 1000));
  const out: DtmfPacket[] = [];
  for (let t = intervalMs; t < total; t += intervalMs) {
    out.push({
      offsetMs: t,
      marker: out.length === 0,
      payload: buildTelephoneEvent({ event, end: false, volume, duration: ticks(t) }),
    });
  }
  const endPayload = buildTelephoneEvent({ event, end: true, volume, duration: ticks(total) });
  for (let i = 0; i < 3; i++) {
    out.push({ offsetMs: total, marker: out.length === 0, payload: endPayload });
  }
  return out;
}

/** A digit recognised by {@link DtmfDetector}. */
export interface DetectedDigit {
  readonly digit: string;
  readonly event: number;
  readonly durationMs: number;
  /** RTP timestamp of the event's start. */
  readonly timestamp: number;
}

/**
 * Recognises digits in received telephone-event packets. Each event (identified by its RTP timestamp) yields one
 * digit: at its first end packet, or, if every end packet was lost, when a packet of a newer event arrives.
 * Retransmitted end packets and late updates of a finished event are ignored.
 */
export class DtmfDetector {
  #current: number | undefined;
  #currentEvent = 0;
  #currentDuration = 0;
  #reported = false;
  /** Timestamps of recently finished events, so their retransmissions are ignored. */
  readonly #finished: number[] = [];

  /**
   * Feeds one packet.
   * @returns the digits completed by this packet: its own event at its first end packet, and the previous event
   *   when this packet starts a newer one before the previous end arrived. Usually empty.
   * @throws DtmfParseError for a short payload.
   */
  push(timestamp: number, payload: Uint8Array, clockRate: number): DetectedDigit[] {
    const ev = parseTelephoneEvent(payload);
    const out: DetectedDigit[] = [];
    if (this.#finished.includes(timestamp)) {
      return out;
    }
    if (this.#current !== timestamp) {
      // A new event: the previous one ended without an end packet reaching us.
      if (this.#current !== undefined && !this.#reported) {
        this.#emit(out, this.#current, this.#currentEvent, this.#currentDuration, clockRate);
        this.#finish(this.#current);
      }
      this.#current = timestamp;
      this.#currentEvent = ev.event;
      this.#currentDuration = 0;
      this.#reported = false;
    }
    this.#currentDuration = Math.max(this.#currentDuration, ev.duration);
    if (ev.end && !this.#reported) {
      this.#reported = true;
      this.#finish(timestamp);
      this.#emit(out, timestamp, ev.event, this.#currentDuration, clockRate);
    }
    return out;
  }

  #finish(ts: number): void {
    this.#finished.push(ts);
    if (this.#finished.length > 8) {
      this.#finished.shift();
    }
  }

  #emit(out: DetectedDigit[], timestamp: number, event: number, duration: number, clockRate: number): void {
    const digit = digitOf(event);
    if (digit !== undefined) {
      out.push({ digit, event, durationMs: Math.round((duration * 1000) / clockRate), timestamp });
    }
  }
}

/** A duration (or any interval) from one clock rate to another. */
export function rescaleDuration(duration: number, fromRate: number, toRate: number): number {
  return Math.round((duration * toRate) / fromRate);
}

/**
 * Maps RTP timestamps of one clock onto another: the first timestamp seen maps to `outBase`, later ones keep
 * their distance from it, scaled (mod 2^32 on both sides, so wraps are handled).
 */
export class TimestampRescaler {
  readonly #from: number;
  readonly #to: number;
  readonly #outBase: number;
  #inBase: number | undefined;

  constructor(fromRate: number, toRate: number, outBase = 0) {
    this.#from = fromRate;
    this.#to = toRate;
    this.#outBase = outBase >>> 0;
  }

  map(ts: number): number {
    this.#inBase ??= ts >>> 0;
    const delta = (ts - this.#inBase) | 0; // signed 32-bit distance
    return (this.#outBase + Math.round((delta * this.#to) / this.#from)) >>> 0;
  }
}

/**
 * Rewrites the payload type of the RTP packet in `packet` in place, keeping the marker bit.
 * @returns false (packet untouched) when its PT is not in `map`: the caller drops it rather than mislabel it.
 */
export function remapPayloadType(packet: Uint8Array, map: ReadonlyMap<number, number>): boolean {
  if (packet.length < 12) {
    return false;
  }
  const b1 = packet[1] ?? 0;
  const to = map.get(b1 & 0x7f);
  if (to === undefined) {
    return false;
  }
  packet[1] = (b1 & 0x80) | (to & 0x7f);
  return true;
}

/**
 * Turns an open leg and its end facts into the final CdrRecord: times, disposition and Q.850 cause, RTP stats and
 * the E-model MOS of the worse direction, the bot stream.
 */
import { CDR_VERSION, type CdrRecord, type RtpDirectionStats } from "./CdrRecord.js";
import { deriveDisposition, q850FromReasonHeader, q850FromSipStatus } from "./disposition.js";
import { estimateMos } from "./emodel.js";
import { iso, round } from "./fields.js";
import { originalCalledNumber, partyUri } from "./headers.js";
import { botOf } from "./legBot.js";
import type { LegEnd, OpenLeg } from "./openLeg.js";

function direction(s: Partial<RtpDirectionStats> | undefined): RtpDirectionStats {
  const n = (v: number | null | undefined): number | null =>
    v === null || v === undefined || !Number.isFinite(v) ? null : Math.max(0, v);
  return {
    packets: Math.max(0, Math.trunc(s?.packets ?? 0)),
    lost: n(s?.lost) === null ? null : Math.trunc(n(s?.lost) ?? 0),
    jitterMs: n(s?.jitterMs) === null ? null : round(n(s?.jitterMs) ?? 0, 3),
    maxJitterMs: n(s?.maxJitterMs) === null ? null : round(n(s?.maxJitterMs) ?? 0, 3),
  };
}

/** Percent lost of one direction: rx counts lost of (received + lost), tx lost of sent. */
function lossPercent(d: RtpDirectionStats, received: boolean): number {
  const lost = d.lost ?? 0;
  const expected = received ? d.packets + lost : d.packets;
  return expected > 0 ? Math.min(100, (100 * lost) / expected) : 0;
}

/**
 * The record of `leg` ended with `end`; `endAtMs` is the end event's time (epoch ms), raised to the leg's latest
 * known time (answer or ringing) when earlier.
 */
export function buildRecord(leg: OpenLeg, end: LegEnd, endAtMs: number): CdrRecord {
  const s = leg.start;
  const answered = leg.answerMs !== null;
  const endMs = Math.max(leg.answerMs ?? leg.startMs, leg.ringingMs ?? leg.startMs, endAtMs);
  const sipStatus = end.sipStatus ?? (answered ? leg.answerStatus : null);
  const q850Cause =
    end.q850Cause ??
    (end.reasonHeader ? q850FromReasonHeader(end.reasonHeader) : null) ??
    (answered ? 16 : sipStatus !== null ? q850FromSipStatus(sipStatus) : null);
  const endReason = end.endReason ?? null;
  const disposition = deriveDisposition({ answered, sipStatus, q850Cause, hangupSide: end.hangupSide, endReason });
  const rx = direction(end.stats?.rx);
  const tx = direction(end.stats?.tx);
  const rttMs = end.stats?.rttMs ?? null;
  const { peerCodec, pipelineCodec, recording } = leg.media;
  const transcoded =
    leg.media.transcoded ??
    (peerCodec !== null && pipelineCodec !== null && peerCodec.toLowerCase() !== pipelineCodec.toLowerCase());
  let rFactor: number | null = null;
  let mos: number | null = null;
  if (peerCodec !== null && rx.packets + tx.packets > 0) {
    const worst = [
      rx.packets > 0
        ? estimateMos({
            codec: peerCodec,
            lossPercent: lossPercent(rx, true),
            rttMs: rttMs ?? 0,
            jitterMs: rx.jitterMs ?? 0,
          })
        : null,
      tx.packets > 0 && tx.lost !== null
        ? estimateMos({
            codec: peerCodec,
            lossPercent: lossPercent(tx, false),
            rttMs: rttMs ?? 0,
            jitterMs: tx.jitterMs ?? 0,
          })
        : null,
    ]
      .filter((e) => e !== null)
      .sort((a, b) => a.r - b.r)[0];
    if (worst !== undefined) {
      rFactor = round(worst.r, 1);
      mos = round(worst.mos, 2);
    }
  }
  return {
    version: CDR_VERSION,
    recordId: leg.recordId,
    linkedId: s.linkedId ?? s.pipelineId ?? null,
    callId: s.callId ?? null,
    pipelineId: s.pipelineId ?? null,
    elementId: s.elementId ?? null,
    icid: leg.icid,
    icidOrigin: leg.icidOrigin,
    direction: s.direction,
    trunk: s.trunk ?? null,
    from: partyUri(s.from),
    to: partyUri(s.to),
    pai: partyUri(s.pai),
    originalCalledNumber: originalCalledNumber(s.diversion ?? [], s.historyInfo ?? []),
    startTime: iso(leg.startMs),
    ringingTime: leg.ringingMs === null ? null : iso(leg.ringingMs),
    answerTime: leg.answerMs === null ? null : iso(leg.answerMs),
    endTime: iso(endMs),
    durationMs: endMs - leg.startMs,
    billsecMs: leg.answerMs === null ? 0 : endMs - leg.answerMs,
    disposition,
    sipStatus,
    q850Cause,
    hangupSide: end.hangupSide,
    endReason,
    media: { peerCodec, pipelineCodec, transcoded, rx, tx, rttMs, rFactor, mos, recording },
    bot: leg.bot === undefined ? null : botOf(leg.bot, endMs),
  };
}

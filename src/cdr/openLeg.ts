/**
 * The facts the wiring in src/ reports about a CDR leg (start, media, stats, end), and the state the recorder keeps
 * for an open leg (journaled as JSON, see legJournal.ts).
 */
import type { CdrDirection, HangupSide, IcidOrigin, RtpDirectionStats } from "./CdrRecord.js";
import type { OpenBot } from "./legBot.js";

export interface LegStart {
  direction: CdrDirection;
  callId?: string | null;
  linkedId?: string | null;
  pipelineId?: string | null;
  elementId?: string | null;
  trunk?: string | null;
  /** Raw header values; URIs are extracted (display names and tags dropped). */
  from?: string | null;
  to?: string | null;
  pai?: string | null;
  /** Raw P-Charging-Vector of the received INVITE; absent → Korus generates an icid. */
  pChargingVector?: string | null;
  /** All Diversion / History-Info header values of the INVITE, in message order. */
  diversion?: readonly string[];
  historyInfo?: readonly string[];
  /** Event time (epoch ms or Date); the recorder's clock when absent. */
  at?: number | Date;
}

export interface LegMedia {
  peerCodec?: string | null;
  pipelineCodec?: string | null;
  /** Overrides the default (peer and pipeline codec names differ). */
  transcoded?: boolean;
  recording?: string | null;
}

export interface LegStats {
  rx?: Partial<RtpDirectionStats>;
  tx?: Partial<RtpDirectionStats>;
  rttMs?: number | null;
}

export interface LegEnd {
  hangupSide: HangupSide;
  /** Final SIP status of the INVITE; for an answered call the 2xx status is kept when this is absent. */
  sipStatus?: number | null;
  q850Cause?: number | null;
  /** Raw RFC 3326 Reason header of the BYE/CANCEL/response, used when q850Cause is absent. */
  reasonHeader?: string | null;
  /** `bye`, `cancel`, `rejected`, `ring-timeout`, `worker-died`, `shutdown`, … */
  endReason?: string | null;
  stats?: LegStats;
  at?: number | Date;
}

/** The journaled state of an open leg (JSON in the journal). */
export interface OpenLeg {
  recordId: string;
  icid: string;
  icidOrigin: IcidOrigin;
  start: LegStart;
  startMs: number;
  ringingMs: number | null;
  answerMs: number | null;
  answerStatus: number | null;
  media: Required<Omit<LegMedia, "transcoded">> & { transcoded: boolean | null };
  bot?: OpenBot;
}

/**
 * Worker-wide RTP totals for the Prometheus metrics (issue 16 §1): packets received and sent per media kind, and the
 * packets the receive side found missing (sequence gaps). The statistics classes (RtpStreamStats.ts) pick their
 * counter object once at construction; per packet they increment one field of it, with no lookup or allocation.
 * The worker ships a copy of these numbers in its periodic load report (WorkerDispatcher), and the main thread sums
 * the workers' reports (src/metrics/).
 */
export interface RtpKindTotals {
  packets: number;
  /** Receive side only: packets missing from the sequence (in-order gaps; a late packet is not taken back). */
  lost: number;
}

const totals = (): RtpKindTotals => ({ packets: 0, lost: 0 });

/** This worker's totals since it started; fields only ever grow. */
export const RTP_TOTALS = {
  audioIn: totals(),
  videoIn: totals(),
  audioOut: totals(),
  videoOut: totals(),
} as const;

/** The totals as the load report carries them. */
export interface RtpTotalsReport {
  audioIn: number;
  videoIn: number;
  audioOut: number;
  videoOut: number;
  lost: number;
}

export function rtpTotalsReport(): RtpTotalsReport {
  const t = RTP_TOTALS;
  return {
    audioIn: t.audioIn.packets,
    videoIn: t.videoIn.packets,
    audioOut: t.audioOut.packets,
    videoOut: t.videoOut.packets,
    lost: t.audioIn.lost + t.videoIn.lost,
  };
}

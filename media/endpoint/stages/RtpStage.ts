/**
 * The per-packet stages of a receive stream, in pion's interceptor shape (architecture.md §5.9): each job that looks
 * at every packet from the peer (DTMF detection in two modes, AMR mode requests, keyframe requests, DTMF injection)
 * is a small object with `onRtp(packet)`. A {@link StageChain} is a fixed array of them, built once per stream and
 * run with an index loop: no closure, allocation or lookup per packet. `close()` closes every stage and gathers
 * every error, so one failing stage never hides another (pion `Chain.Close`).
 *
 * How to add a stage: write a class implementing {@link RtpStage} in this folder (one job, ~250 lines at most), with
 * a unit test under test/unit/media/endpoint/stages/ that feeds it packets from `mockPacket`; put it in the chain an
 * endpoint builds for the kind of stream it applies to (see docs/endpoint-core.md).
 */
import type { MediaPacket } from "../../core/types.js";

export interface RtpStage {
  /**
   * One packet from the peer, parsed, counted and about to go to the sinks.
   * @returns false to hold the packet back (the stages after this one and the sinks do not see it).
   */
  onRtp(packet: MediaPacket): boolean;
  /** Stops timers and frees codecs. Called once, at the release; may throw (the chain gathers the errors). */
  close(): void;
}

/** A fixed sequence of stages, built once per stream. */
export class StageChain {
  readonly #stages: readonly RtpStage[];

  constructor(stages: readonly RtpStage[]) {
    this.#stages = stages;
  }

  /** Runs the stages in order; false as soon as one holds the packet back. */
  run(packet: MediaPacket): boolean {
    const stages = this.#stages;
    for (let i = 0, n = stages.length; i < n; i++) {
      if (!stages[i]!.onRtp(packet)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Closes every stage, even after one threw.
   * @throws AggregateError with the error of every stage that failed to close.
   */
  close(): void {
    closeStages(this.#stages, "stage(s)");
  }
}

/**
 * Closes every one of `stages`, even after one threw (pion `Chain.Close`); shared by the RTP and datagram chains.
 * @throws AggregateError with the error of every stage that failed to close.
 */
export function closeStages(stages: readonly { close(): void }[], what: string): void {
  const errors: unknown[] = [];
  for (const stage of stages) {
    try {
      stage.close();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) {
    throw new AggregateError(errors, `${errors.length} ${what} failed to close`);
  }
}

/**
 * The stage chains of a plain-UDP endpoint (RtpEndpoint, SipEndpoint), in the shape of pion's interceptor
 * registry: one place that knows which stages a receive stream of each kind runs, builds a chain per m-line, and
 * closes them all at the release.
 *
 * - audio: RFC 4733 DTMF (per stream) → in-band DTMF → AMR CMR → DTMF injection (the last three shared by the
 *   endpoint: one detector, one mode request, one injector);
 * - video: keyframe requests.
 *
 * The datagram stages (SRTP, the media timeout: stages/DatagramStage.ts) are per transport and need its keys and
 * timer, so each UdpTransport builds its own DatagramChain.
 */
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import type { RateLimitedLog } from "../logger.js";
import type { InbandFormat } from "../transcode/InbandDtmfSender.js";
import { AmrCmrStage } from "./stages/AmrCmrStage.js";
import { DtmfInjectStage } from "./stages/DtmfInjectStage.js";
import { InbandDtmfStage } from "./stages/InbandDtmfStage.js";
import { KeyframeRequestStage } from "./stages/KeyframeRequestStage.js";
import { Rfc4733DtmfStage } from "./stages/Rfc4733DtmfStage.js";
import { StageChain } from "./stages/RtpStage.js";

export interface UdpStageHooks {
  readonly elementId: string;
  readonly log: RateLimitedLog;
  /** A DTMF digit from the peer (either mode). */
  digit(digit: string, durationMs: number): void;
  /** Asks the peer for a keyframe (a PLI). */
  askKeyframe(): void;
  /** An injected DTMF event packet, to the sinks. */
  toSinks(packet: MediaPacket): void;
  /** The negotiated format of an audio payload type. */
  formatOf(payloadType: number): InbandFormat | undefined;
  /** In-band detection is impossible for the peer's codec: fall back to RFC 4733. */
  inbandUnavailable(): void;
}

export class UdpStages {
  readonly keyframe: KeyframeRequestStage;
  readonly inband: InbandDtmfStage;
  readonly amr = new AmrCmrStage();
  readonly inject: DtmfInjectStage;
  readonly #hooks: UdpStageHooks;
  readonly #chains: StageChain[] = [];

  constructor(hooks: UdpStageHooks) {
    this.#hooks = hooks;
    this.keyframe = new KeyframeRequestStage(() => hooks.askKeyframe());
    this.inject = new DtmfInjectStage((p) => hooks.toSinks(p));
    this.inband = new InbandDtmfStage({
      formatOf: (pt) => hooks.formatOf(pt),
      onDigit: (digit, durationMs) => hooks.digit(digit, durationMs),
      onUnavailable: (err) => {
        hooks.log.warn("dtmf-inband-codec", "no decoder for in-band DTMF detection", {
          elementId: hooks.elementId,
          error: String(err),
        });
        hooks.inbandUnavailable();
      },
    });
  }

  /** The chain of a new m-line's receive stream (built once per stream). */
  chainFor(kind: RtpMediaKind): StageChain {
    const h = this.#hooks;
    const chain = new StageChain(
      kind === "VIDEO"
        ? [this.keyframe]
        : [
            new Rfc4733DtmfStage({
              onDigit: (digit, durationMs) => h.digit(digit, durationMs),
              onShortPayload: () =>
                h.log.warn("dtmf-short", "short telephone-event payload", { elementId: h.elementId }),
            }),
            this.inband,
            this.amr,
            this.inject,
          ],
    );
    this.#chains.push(chain);
    return chain;
  }

  /**
   * Closes every chain (and so every stage) built so far.
   * @throws AggregateError with every stage's error.
   */
  close(): void {
    const errors: unknown[] = [];
    for (const chain of this.#chains.splice(0)) {
      try {
        chain.close();
      } catch (err) {
        errors.push(...(err instanceof AggregateError ? (err.errors as unknown[]) : [err]));
      }
    }
    if (errors.length > 0) {
      throw new AggregateError(errors, `${errors.length} stage(s) failed to close`);
    }
  }
}

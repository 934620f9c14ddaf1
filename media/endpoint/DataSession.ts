/**
 * A WebRtcEndpoint's data session (KMS kmswebrtcsession's data part, `useDataChannels`): the glue between the SCTP
 * data channels of its peer connection (media/webrtc/DataChannels) and the pipeline's DATA connections.
 *
 * - a message from the peer becomes a {@link DataMessage} for the element's DATA sinks;
 * - a DataMessage from a DATA source goes to the peer's channel of the same stream id or label (bounded queue);
 * - DataChannelOpened / DataChannelClosed {channelId}; getStats' RTCDataChannelStats and RTCPeerConnectionStats;
 * - the WebRtcEndpoint methods createDataChannel and closeDataChannel (elements.kmd.json), refused with
 *   MEDIA_OBJECT_OPERATION_NOT_SUPPORTED without useDataChannels, as KMS does.
 */
import type { JsonObject } from "../channel/protocol.js";
import type { EmitElementEvent } from "../core/events.js";
import type { Operation } from "../core/MediaObject.js";
import type { DataMessage } from "../core/types.js";
import { MediaOperationError } from "../errors.js";
import type { DataChannelHandlers, DataChannels } from "../webrtc/DataChannels.js";

/** KMS clamps maxPacketLifeTime and maxRetransmits to an unsigned short. */
const MAX_USHORT = 65535;

export class DataSession {
  readonly #channels: () => DataChannels | undefined;
  /** Handlers for the peer connection (undefined without useDataChannels: m=application is rejected). */
  readonly handlers: DataChannelHandlers | undefined;

  constructor(
    enabled: boolean,
    channels: () => DataChannels | undefined,
    emit: EmitElementEvent,
    toSinks: (msg: DataMessage) => void,
  ) {
    this.#channels = channels;
    this.handlers = enabled
      ? {
          opened: (channelId) => emit("DataChannelOpened", { channelId }),
          closed: (channelId) => emit("DataChannelClosed", { channelId }),
          message: (ch, data) =>
            toSinks({ kind: "DATA", channelId: ch.id, label: ch.label, protocol: ch.protocol, data }),
        }
      : undefined;
  }

  /** A message from a DATA source → our peer. */
  send(msg: DataMessage): void {
    this.#channels()?.send(msg);
  }

  /** The data-channel records of getStats (none without a data session). */
  stats(now: number): Record<string, JsonObject> {
    return this.#channels()?.stats(now) ?? {};
  }

  operations(): Record<string, Operation> {
    return {
      createDataChannel: (a) => {
        const ch = this.#supported();
        const life = intOr(a["maxPacketLifeTime"], -1);
        const retransmits = intOr(a["maxRetransmits"], -1);
        if (life >= 0 && retransmits >= 0) {
          throw new MediaOperationError(
            "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
            "maxPacketLifeTime and maxRetransmits cannot both be set",
          );
        }
        try {
          ch.create({
            label: typeof a["label"] === "string" ? a["label"] : "",
            ordered: a["ordered"] !== false,
            maxPacketLifeTime: Math.min(life, MAX_USHORT),
            maxRetransmits: Math.min(retransmits, MAX_USHORT),
            protocol: typeof a["protocol"] === "string" ? a["protocol"] : "",
          });
        } catch (err) {
          throw new MediaOperationError("UNEXPECTED_ERROR", `Can not create data channel: ${String(err)}`);
        }
        return null;
      },
      closeDataChannel: (a) => {
        this.#supported().closeChannel(intOr(a["channelId"], -1));
        return null;
      },
    };
  }

  #supported(): DataChannels {
    const ch = this.handlers === undefined ? undefined : this.#channels();
    if (ch === undefined) {
      throw new MediaOperationError("MEDIA_OBJECT_OPERATION_NOT_SUPPORTED", "Data channels are not supported");
    }
    return ch;
  }
}

const intOr = (v: unknown, d: number): number => (typeof v === "number" && Number.isInteger(v) ? v : d);

/**
 * The events of Korus's built-in element types, typed from the kmd descriptors (architecture.md §5.3).
 *
 * {@link ELEMENT_EVENTS} lists, per Kurento event, the event's own fields with their kmd type names, exactly as
 * `core.kmd.json`, `elements.kmd.json` and Korus's descriptor declare them (`test/unit/media/core/events.test.ts`
 * compares the two, so they cannot drift); {@link KMD_ENUMS} does the same for the enum types the fields use. The
 * payload types come from these tables, and {@link ObjectContext.emit} takes only a listed event with its payload, so
 * a misspelt event or field does not compile. `source`, `tags`, `timestampMillis` and `type` (the Media base event)
 * are added by the control plane.
 *
 * media/ cannot import src/kurento/kmd.ts: this file is the worker side's copy of what it needs.
 */
import type { JsonObject } from "../channel/protocol.js";

/** Values of the kmd enum types that event fields use. */
export const KMD_ENUMS = {
  MediaType: ["AUDIO", "VIDEO", "DATA"],
  MediaFlowState: ["FLOWING", "NOT_FLOWING"],
  MediaTranscodingState: ["TRANSCODING", "NOT_TRANSCODING"],
  MediaState: ["DISCONNECTED", "CONNECTED"],
  ConnectionState: ["DISCONNECTED", "CONNECTED"],
  IceComponentState: ["DISCONNECTED", "GATHERING", "CONNECTING", "CONNECTED", "READY", "FAILED"],
  DtlsConnectionState: ["NEW", "CLOSED", "FAILED", "CONNECTING", "CONNECTED"],
  UriEndpointState: ["STOP", "START", "PAUSE"],
} as const;

type EnumOf<K extends keyof typeof KMD_ENUMS> = (typeof KMD_ENUMS)[K][number];

/** The TypeScript type of each kmd type an event field has. */
interface KmdFieldTypes {
  String: string;
  int: number;
  /** An object reference travels as its id. */
  MediaElement: string;
  MediaType: EnumOf<"MediaType">;
  MediaFlowState: EnumOf<"MediaFlowState">;
  MediaTranscodingState: EnumOf<"MediaTranscodingState">;
  MediaState: EnumOf<"MediaState">;
  ConnectionState: EnumOf<"ConnectionState">;
  IceComponentState: EnumOf<"IceComponentState">;
  /** werift's DTLS state upper-cased (its names are Kurento's); the test checks the values, not this type. */
  DtlsConnectionState: string;
  /** PlayerEndpoint's PlayerState enum carries these values. */
  UriEndpointState: string;
  /** Complex types, serialised with `__module__` and `__type__`. */
  IceCandidate: JsonObject;
  IceCandidatePair: JsonObject;
}

type Fields = Readonly<Record<string, keyof KmdFieldTypes>>;

const MEDIA_PAD = { state: "MediaFlowState", padName: "String", mediaType: "MediaType" } as const;
const CONNECTION = {
  sink: "MediaElement",
  mediaType: "MediaType",
  sourceMediaDescription: "String",
  sinkMediaDescription: "String",
} as const;

/** Kurento events the built-in elements raise, with their own fields (kmd name → kmd type). */
export const ELEMENT_EVENTS = {
  // core.kmd.json
  ElementConnected: CONNECTION,
  ElementDisconnected: CONNECTION,
  MediaFlowInStateChanged: MEDIA_PAD,
  MediaFlowOutStateChanged: MEDIA_PAD,
  MediaTranscodingStateChanged: { state: "MediaTranscodingState", binName: "String", mediaType: "MediaType" },
  MediaStateChanged: { oldState: "MediaState", newState: "MediaState" },
  ConnectionStateChanged: { oldState: "ConnectionState", newState: "ConnectionState" },
  MediaSessionStarted: {},
  MediaSessionTerminated: {},
  UriEndpointStateChanged: { state: "UriEndpointState" },
  Error: { description: "String", errorCode: "int", type: "String" },
  // elements.kmd.json
  IceCandidateFound: { candidate: "IceCandidate" },
  IceGatheringDone: {},
  IceComponentStateChanged: { streamId: "int", componentId: "int", state: "IceComponentState" },
  NewCandidatePairSelected: { candidatePair: "IceCandidatePair" },
  DtlsConnectionStateChange: {
    streamId: "String",
    componentId: "String",
    connectionId: "String",
    state: "DtlsConnectionState",
  },
  DataChannelOpened: { channelId: "int" },
  DataChannelClosed: { channelId: "int" },
  OnKeySoftLimit: { mediaType: "MediaType" },
  EndOfStream: {},
  // Korus's descriptor (src/kurento/korusKmd.ts)
  DtmfReceived: { digit: "String", durationMs: "int" },
} as const satisfies Readonly<Record<string, Fields>>;

/**
 * Internal events: never sent to clients, consumed by the control plane (a `:` in the name keeps them apart from
 * Kurento's). `korus:DtmfOut`: a digit a SipEndpoint in `info` DTMF mode sends as a SIP INFO request.
 */
export const INTERNAL_EVENTS = {
  "korus:DtmfOut": { digit: "String", durationMs: "int", gapMs: "int" },
} as const satisfies Readonly<Record<string, Fields>>;

type AllEvents = typeof ELEMENT_EVENTS & typeof INTERNAL_EVENTS;

export type ElementEventName = keyof AllEvents;

/** The payload of `E`: each field typed from its kmd type. */
export type ElementEventData<E extends ElementEventName> = {
  -readonly [F in keyof AllEvents[E]]: KmdFieldTypes[AllEvents[E][F] & keyof KmdFieldTypes];
};

/** The one typed emitter of worker objects: a listed event with its payload. */
export type EmitElementEvent = <E extends ElementEventName>(event: E, data: ElementEventData<E>) => void;

/**
 * A node of the pipeline graph with Kurento's connection semantics (kurento-protocol.md §7.1, KMS
 * `MediaElementImpl`):
 *
 * - connections are per media type (AUDIO / VIDEO / DATA) and per (source, sink) description, "default" unless
 *   given;
 * - a sink pad has at most one source: connecting a new source to the same (sink, type, sinkDescription) first
 *   disconnects the old one;
 * - a source may feed any number of sinks (fan-out), and an element may feed itself (loopback);
 * - connecting elements of different pipelines is refused by the pipeline (40004).
 *
 * Media moves as {@link MediaPacket}s: an element that produces media (e.g. a WebRtcEndpoint receiving from its
 * peer) calls {@link sendToSinks}; every connected sink gets {@link onMedia}. MediaFlowOut/In states follow real
 * packet flow: FLOWING on the first packet, NOT_FLOWING after `flowTimeoutMs` without one (checked by
 * {@link checkFlows}, driven by one timer per worker).
 *
 * Audio whose codec a sink did not negotiate is transcoded on the way (issue 4 §5): a sink declares what it can
 * send through {@link audioSinkCaps}; packets it takes as they are pass untouched, the others go through this
 * (source) element's {@link AudioTranscoder}, which decodes once and shares one encoder per target format. The
 * source then reports isMediaTranscoding(AUDIO) and MediaTranscodingStateChanged, as KMS's agnosticbin does.
 *
 * Video sinks need keyframes: when a VIDEO sink is attached, or a sink asks (PLI/FIR from its peer), the request
 * travels upstream through {@link requestKeyframeUpstream} to the element that can ask its own peer.
 */
import type { FinalMedia, JsonObject, JsonValue, MediaKind } from "../channel/protocol.js";
import { MEDIA_KINDS } from "../channel/protocol.js";
import { AudioTranscoder, type TranscoderDiagnostics } from "../transcode/AudioTranscoder.js";
import { sinkAccepts, type SinkAudioCaps } from "../transcode/format.js";
import { MediaObject, type ObjectContext, type Operation } from "./MediaObject.js";
import type { DataMessage, MediaFlowState, MediaPacket } from "./types.js";

export interface Connection {
  readonly source: MediaElement;
  readonly sink: MediaElement;
  readonly kind: MediaKind;
  readonly sourceDescription: string;
  readonly sinkDescription: string;
}

type FlowEvent = "MediaFlowInStateChanged" | "MediaFlowOutStateChanged";

interface FlowTrack {
  /** undefined until the first packet of the kind. */
  state: MediaFlowState | undefined;
  last: number;
}

/** Flow tracks per kind: a field per kind, so the per-packet update is a property read, not a Map lookup. */
type FlowTracks = Record<MediaKind, FlowTrack>;

const newFlowTracks = (): FlowTracks => ({
  AUDIO: { state: undefined, last: 0 },
  VIDEO: { state: undefined, last: 0 },
  DATA: { state: undefined, last: 0 },
});

export interface ElementContext extends ObjectContext {
  /** Kurento type string, e.g. "WebRtcEndpoint". */
  readonly type: string;
}

/** Default values of MediaElement's own Kurento properties (core.kmd.json; defaults from the KMS docs). */
const ELEMENT_PROPERTY_DEFAULTS: Record<string, JsonValue> = {
  encoderBitrate: 300000,
  minEncoderBitrate: 0,
  maxEncoderBitrate: 0,
};

export abstract class MediaElement extends MediaObject {
  readonly type: string;
  /** Incoming connections, keyed `${kind}|${sinkDescription}` (one source per sink pad). */
  readonly #sources = new Map<string, Connection>();
  /** Outgoing connections. */
  readonly #sinks = new Set<Connection>();
  readonly #flowIn = newFlowTracks();
  readonly #flowOut = newFlowTracks();
  readonly #props = new Map<string, JsonValue>();
  #forwardingKeyframeRequest = false;
  #forwarding = false;
  #forwardingData = false;
  /** Transcodes this element's audio for sinks that need another codec; created at the first such packet. */
  #transcoder: AudioTranscoder<Connection> | undefined;
  /** The codec of the last audio a source of this element sent it, before any transcoding (for CDRs). */
  #pipelineAudioCodec: string | null = null;

  constructor(ctx: ElementContext) {
    super(ctx);
    this.type = ctx.type;
  }

  /** Completes asynchronous set-up (sockets, certificates). The element is not used before it resolves. */
  init(): Promise<void> {
    return Promise.resolve();
  }

  // ---------------------------------------------------------------------------------------------- graph

  /** Connects this element (source) to `sink` for `kinds`; the pipeline checked that both share it. */
  connectTo(sink: MediaElement, kinds: readonly MediaKind[], sourceDescription: string, sinkDescription: string): void {
    this.assertAlive();
    sink.assertAlive();
    for (const kind of kinds) {
      const key = `${kind}|${sinkDescription}`;
      const existing = sink.#sources.get(key);
      if (existing !== undefined) {
        if (existing.source === this && existing.sourceDescription === sourceDescription) {
          continue;
        }
        existing.source.#removeConnection(existing);
      }
      const conn: Connection = { source: this, sink, kind, sourceDescription, sinkDescription };
      sink.#sources.set(key, conn);
      this.#sinks.add(conn);
      this.ctx.emit("ElementConnected", {
        sink: sink.id,
        mediaType: kind,
        sourceMediaDescription: sourceDescription,
        sinkMediaDescription: sinkDescription,
      });
      sink.onSourceAttached(conn);
      this.onSinkAttached(conn);
    }
  }

  /** Disconnects `sink` for `kinds` (only connections whose descriptions match). */
  disconnectFrom(
    sink: MediaElement,
    kinds: readonly MediaKind[],
    sourceDescription: string,
    sinkDescription: string,
  ): void {
    for (const conn of [...this.#sinks]) {
      if (
        conn.sink === sink &&
        kinds.includes(conn.kind) &&
        conn.sourceDescription === sourceDescription &&
        conn.sinkDescription === sinkDescription
      ) {
        this.#removeConnection(conn);
      }
    }
  }

  #removeConnection(conn: Connection): void {
    if (!this.#sinks.delete(conn)) {
      return;
    }
    conn.sink.#sources.delete(`${conn.kind}|${conn.sinkDescription}`);
    this.#transcoder?.detach(conn);
    conn.sink.onSourceDetached(conn);
    this.onSinkDetached(conn);
    // Dropped when this element is released (its ctx.emit is silent then), or its pipeline is.
    this.ctx.emit("ElementDisconnected", {
      sink: conn.sink.id,
      mediaType: conn.kind,
      sourceMediaDescription: conn.sourceDescription,
      sinkMediaDescription: conn.sinkDescription,
    });
  }

  /** Removes every connection of this element, in and out. Used on release. */
  #disconnectAll(): void {
    for (const conn of [...this.#sinks]) {
      this.#removeConnection(conn);
    }
    for (const conn of [...this.#sources.values()]) {
      conn.source.#removeConnection(conn);
    }
  }

  sourceConnections(kind?: MediaKind, description?: string): Connection[] {
    return [...this.#sources.values()].filter(
      (c) =>
        (kind === undefined || c.kind === kind) && (description === undefined || c.sinkDescription === description),
    );
  }

  sinkConnections(kind?: MediaKind, description?: string): Connection[] {
    return [...this.#sinks].filter(
      (c) =>
        (kind === undefined || c.kind === kind) && (description === undefined || c.sourceDescription === description),
    );
  }

  /** The element feeding this one with `kind` on the default pad, if any. */
  protected sourceOf(kind: MediaKind): MediaElement | undefined {
    return this.#sources.get(`${kind}|default`)?.source;
  }

  /** True when at least one sink consumes `kind` from this element. */
  protected hasSinks(kind: MediaKind): boolean {
    for (const c of this.#sinks) {
      if (c.kind === kind) {
        return true;
      }
    }
    return false;
  }

  /** A sink was attached to this element's source pad. */
  protected onSinkAttached(_conn: Connection): void {
    // Subclasses override.
  }

  /** A sink was detached from this element's source pad (HubPort follows its sink's format). */
  protected onSinkDetached(_conn: Connection): void {
    // Subclasses override.
  }

  /**
   * A source was attached to this element's sink pad. For video the new sink needs a keyframe at once, or the
   * receiver shows nothing until the next periodic one.
   */
  protected onSourceAttached(conn: Connection): void {
    if (conn.kind === "VIDEO") {
      conn.source.handleKeyframeRequest();
    }
  }

  protected onSourceDetached(_conn: Connection): void {
    // Subclasses override.
  }

  /** Tells every sink that this element's media ended (a player at the end of its file; GStreamer's EOS). */
  protected endOfStreamToSinks(): void {
    for (const conn of [...this.#sinks]) {
      conn.sink.onEndOfStream(conn);
    }
  }

  /** The source of `conn` ended its media (see {@link endOfStreamToSinks}). */
  protected onEndOfStream(_conn: Connection): void {
    // Subclasses override (RecorderEndpoint's stopOnEndOfStream).
  }

  // ---------------------------------------------------------------------------------------------- media

  /** Forwards a packet produced by this element to every sink connected for its kind. */
  protected sendToSinks(packet: MediaPacket): void {
    if (this.#forwarding) {
      return; // The packet came back round a cycle of forwarding elements (e.g. a self-looped PassThrough).
    }
    // One clock read per packet, whatever the number of sinks.
    const now = performance.now();
    this.#markFlow(this.#flowOut, packet.kind, "MediaFlowOutStateChanged", now);
    this.#forwarding = true;
    try {
      for (const conn of this.#sinks) {
        if (conn.kind !== packet.kind) {
          continue;
        }
        if (packet.kind === "AUDIO") {
          if (packet.codec !== "telephone-event") {
            conn.sink.#pipelineAudioCodec = packet.codec;
          }
          const caps = conn.sink.audioSinkCaps();
          if (caps !== undefined) {
            if (packet.codec === "telephone-event") {
              if (this.#transcoder?.has(conn) === true) {
                this.#transcoder.route(packet, conn, caps); // keeps the event in the transcoded stream's timeline
                continue;
              }
            } else if (!sinkAccepts(caps, packet.codec, packet.clockRate)) {
              this.#transcoderFor().route(packet, conn, caps);
              continue;
            } else {
              this.#transcoder?.detach(conn);
            }
          }
        }
        conn.sink.#receive(packet, conn, now);
      }
    } finally {
      this.#forwarding = false;
    }
  }

  #receive(packet: MediaPacket, conn: Connection, now: number): void {
    if (this.released) {
      return;
    }
    this.#markFlow(this.#flowIn, packet.kind, "MediaFlowInStateChanged", now);
    try {
      this.onMedia(packet, conn);
    } catch (err) {
      // A sink failing on one packet must not break the source or its other sinks.
      this.ctx.logger.warn("sink failed on a packet", { error: String(err), elementId: this.id });
    }
  }

  /**
   * Forwards a data-channel message produced by this element to every sink connected for DATA. Off the RTP path:
   * its own loop, cycle guard and flow marks.
   */
  protected sendDataToSinks(msg: DataMessage): void {
    if (this.#forwardingData) {
      return; // came back round a cycle of forwarding elements
    }
    const now = performance.now();
    this.#markFlow(this.#flowOut, "DATA", "MediaFlowOutStateChanged", now);
    this.#forwardingData = true;
    try {
      for (const conn of this.#sinks) {
        if (conn.kind === "DATA" && !conn.sink.released) {
          conn.sink.#markFlow(conn.sink.#flowIn, "DATA", "MediaFlowInStateChanged", now);
          try {
            conn.sink.onData(msg, conn);
          } catch (err) {
            this.ctx.logger.warn("sink failed on a data message", { error: String(err), elementId: conn.sink.id });
          }
        }
      }
    } finally {
      this.#forwardingData = false;
    }
  }

  /** A data-channel message arrived from a source connected for DATA. The default drops it (no DATA sink pad). */
  protected onData(_msg: DataMessage, _conn: Connection): void {
    // Elements that take DATA override (WebRtcEndpoint; SDK elements forward by default).
  }

  #transcoderFor(): AudioTranscoder<Connection> {
    this.#transcoder ??= new AudioTranscoder<Connection>({
      id: this.id,
      logger: this.ctx.logger,
      emit: (event, data) => this.ctx.emit(event, data),
      sourceParameters: (pt) => this.audioSourceParameters(pt),
      deliver: (p, conn) => conn.sink.#receive(p, conn, performance.now()),
    });
    return this.#transcoder;
  }

  /**
   * What this element, as a sink, can send on for AUDIO: the formats its peer negotiated. `undefined` (the
   * default, for forwarding elements and endpoints not negotiated yet) takes any codec untouched. Endpoints return
   * the same object until their next negotiation.
   */
  audioSinkCaps(): SinkAudioCaps | undefined {
    return undefined;
  }

  /**
   * The AMR mode this element's peer last asked for in the CMR field of its packets (RFC 4867 §4.3.1), or undefined
   * (no request, or not an AMR peer). A transcoder encoding AMR for this sink follows it within the mode-set.
   */
  amrModeRequest(): number | undefined {
    return undefined;
  }

  /** The fmtp of the audio codec this element receives with `payloadType` (the transcoder's AMR decoder needs it). */
  protected audioSourceParameters(_payloadType: number): string | undefined {
    return undefined;
  }

  /** Counters of this element's audio transcoder, if it ever transcoded (tests, diagnostics). */
  get transcoderDiagnostics(): (TranscoderDiagnostics & { encoders: number }) | undefined {
    const t = this.#transcoder;
    return t === undefined ? undefined : { ...t.diagnostics, encoders: t.encoders };
  }

  /** True while this element writes a recording (a RecorderEndpoint that is not stopped; metrics). */
  recordingActive(): boolean {
    return false;
  }

  /** Each live transcoding of this element's output, as the codec decoded and the codec encoded (metrics). */
  forEachTranscoding(fn: (from: string, to: string) => void): void {
    this.#transcoder?.forEachPair(fn);
  }

  /** A packet arrived from a connected source. */
  protected abstract onMedia(packet: MediaPacket, conn: Connection): void;

  /**
   * A downstream sink needs a keyframe. Elements that can ask a remote peer (WebRtcEndpoint) override this;
   * the default passes the request further upstream.
   */
  handleKeyframeRequest(): void {
    this.requestKeyframeUpstream();
  }

  /** Asks whatever feeds this element's video pad for a keyframe. */
  protected requestKeyframeUpstream(): void {
    if (this.#forwardingKeyframeRequest) {
      return; // A cycle of forwarding elements (A → B → A): stop instead of recursing.
    }
    this.#forwardingKeyframeRequest = true;
    try {
      const src = this.sourceOf("VIDEO");
      if (src !== undefined && src !== this) {
        src.handleKeyframeRequest();
      } else if (src === this) {
        // Self-loop: ask our own peer.
        this.onKeyframeNeededFromPeer();
      }
    } finally {
      this.#forwardingKeyframeRequest = false;
    }
  }

  /** Hook for loopback elements to request a keyframe from their own peer. */
  protected onKeyframeNeededFromPeer(): void {
    // Subclasses override.
  }

  // ---------------------------------------------------------------------------------------------- flow states

  #markFlow(tracks: FlowTracks, kind: MediaKind, event: FlowEvent, now: number): void {
    const t = tracks[kind];
    t.last = now;
    if (t.state !== "FLOWING") {
      t.state = "FLOWING";
      this.#emitFlow(event, kind, "FLOWING");
    }
  }

  #emitFlow(event: FlowEvent, kind: MediaKind, state: MediaFlowState): void {
    this.ctx.emit(event, { state, padName: "default", mediaType: kind });
  }

  /** Marks flows idle for longer than the timeout as NOT_FLOWING. Called periodically by the worker. */
  checkFlows(now: number): void {
    const timeout = this.ctx.settings.flowTimeoutMs;
    for (const [tracks, event] of [
      [this.#flowIn, "MediaFlowInStateChanged"],
      [this.#flowOut, "MediaFlowOutStateChanged"],
    ] as const) {
      for (const kind of MEDIA_KINDS) {
        const t = tracks[kind];
        if (t.state === "FLOWING" && now - t.last > timeout) {
          t.state = "NOT_FLOWING";
          this.#emitFlow(event, kind, "NOT_FLOWING");
        }
      }
    }
  }

  isFlowingIn(kind: MediaKind): boolean {
    return this.#flowIn[kind].state === "FLOWING";
  }

  isFlowingOut(kind: MediaKind): boolean {
    return this.#flowOut[kind].state === "FLOWING";
  }

  /** Whether this element transcodes `kind` for any of its sinks now (audio only: video is never transcoded). */
  protected isTranscoding(kind: MediaKind): boolean {
    return kind === "AUDIO" && this.#transcoder?.transcoding === true;
  }

  /** Kurento stats records of this element (kurento-protocol.md §8). Endpoints add RTP records. */
  protected stats(_kind: MediaKind | undefined): Record<string, JsonObject> {
    return {
      [this.id]: {
        __module__: "kurento",
        __type__: "ElementStats",
        id: this.id,
        type: "element",
        timestampMillis: Date.now(),
        inputLatency: [],
      },
    };
  }

  // ---------------------------------------------------------------------------------------------- operations

  protected override operations(): Record<string, Operation> {
    const connData = (c: Connection): JsonObject => ({
      __module__: "kurento",
      __type__: "ElementConnectionData",
      source: c.source.id,
      sink: c.sink.id,
      type: c.kind,
      sourceDescription: c.sourceDescription,
      sinkDescription: c.sinkDescription,
    });
    const kindArg = (args: JsonObject): MediaKind | undefined => {
      const k = args["mediaType"];
      return typeof k === "string" && (MEDIA_KINDS as readonly string[]).includes(k) ? (k as MediaKind) : undefined;
    };
    const descArg = (args: JsonObject, name: string): string | undefined => {
      const d = args[name];
      return typeof d === "string" ? d : undefined;
    };
    const ops: Record<string, Operation> = {
      getSourceConnections: (a) => this.sourceConnections(kindArg(a), descArg(a, "description")).map(connData),
      getSinkConnections: (a) => this.sinkConnections(kindArg(a), descArg(a, "description")).map(connData),
      isMediaFlowingIn: (a) => this.isFlowingIn(kindArg(a) ?? "AUDIO"),
      isMediaFlowingOut: (a) => this.isFlowingOut(kindArg(a) ?? "AUDIO"),
      isMediaTranscoding: (a) => this.isTranscoding(kindArg(a) ?? "AUDIO"),
      // Internal (not in any kmd): the codec the pipeline last fed this element's audio in, for CDRs.
      getPipelineAudioCodec: () => this.#pipelineAudioCodec,
      // Internal: the same facts a release returns (docs/closures.md), for a leg that ends while its element lives.
      getFinalMedia: () => this.finalMedia(),
      getStats: (a) => this.stats(kindArg(a)),
      setAudioFormat: (a) => this.#setProp("audioFormat", a["caps"] ?? null),
      setVideoFormat: (a) => this.#setProp("videoFormat", a["caps"] ?? null),
      getGstreamerDot: () => this.dot(),
      dumpGstreamerDot: () => null,
    };
    for (const [name, def] of Object.entries(ELEMENT_PROPERTY_DEFAULTS)) {
      const cap = name.charAt(0).toUpperCase() + name.slice(1);
      ops[`get${cap}`] = () => this.#props.get(name) ?? def;
      ops[`set${cap}`] = (a) => this.#setProp(name, a[name] ?? def);
    }
    return ops;
  }

  #setProp(name: string, value: JsonValue): null {
    this.#props.set(name, value);
    return null;
  }

  /** A DOT graph of this element and its connections (Korus's answer to getGstreamerDot). */
  dot(): string {
    const lines = [`digraph "${this.id}" {`];
    for (const c of this.#sinks) {
      lines.push(`  "${c.source.id}" -> "${c.sink.id}" [label="${c.kind}"];`);
    }
    lines.push("}");
    return lines.join("\n");
  }

  /**
   * What this element's audio looked like, for the CDR of its leg: its getStats(AUDIO) records, whether it
   * transcoded and the codec the pipeline fed it. The worker takes it just before a release and returns it with the
   * release's response (docs/closures.md), so no request races the release for it.
   */
  finalMedia(): FinalMedia {
    return {
      stats: this.stats("AUDIO"),
      transcoding: this.isTranscoding("AUDIO"),
      pipelineAudioCodec: this.#pipelineAudioCodec,
    };
  }

  /**
   * Its pipeline was released (mediasoup's `routerClosed()`): the element closes like {@link release} does, with no
   * request of its own and no event, since the pipeline drops every event of its elements from the moment it is
   * released. Internal: called by MediaPipeline only.
   */
  pipelineClosed(): void {
    this.release();
  }

  /** Disconnects every source and sink (peers still alive raise ElementDisconnected) and stops the transcoder. */
  protected override unlink(): void {
    try {
      this.#disconnectAll();
    } finally {
      this.#transcoder?.close();
    }
  }
}

/**
 * MediaPipeline: owns its elements, all in this worker. Connecting elements of different pipelines is refused
 * with CONNECT_ERROR (Kurento 40004).
 *
 * Releasing the pipeline is one request that closes every element through `pipelineClosed()` (architecture.md §6,
 * step 2; mediasoup's `Router.close()` → `routerClosed()`): sockets, ports, peers and codec states are freed, and no
 * element raises an event from then on (every element's `ctx.emit` goes through the pipeline, which drops events once
 * it is released), because the control plane forgot the whole tree when it sent the request.
 */
import type { FinalMedia, JsonObject, MediaKind } from "../channel/protocol.js";
import { MEDIA_KINDS } from "../channel/protocol.js";
import { InvalidStateError, MediaOperationError } from "../errors.js";
import type { ElementContext, MediaElement } from "./MediaElement.js";
import { MediaObject, type Operation } from "./MediaObject.js";

export type ElementClass = new (ctx: ElementContext, ctor: JsonObject) => MediaElement;

export class MediaPipeline extends MediaObject {
  readonly #elements = new Map<string, MediaElement>();

  get elements(): ReadonlyMap<string, MediaElement> {
    return this.#elements;
  }

  /**
   * Builds and initialises an element of this pipeline.
   * @throws InvalidStateError when the pipeline is released; whatever the element's init throws.
   */
  async createElement(cls: ElementClass, ctx: ElementContext, ctor: JsonObject): Promise<MediaElement> {
    this.assertAlive();
    const element = new cls(this.#silencedOnRelease(ctx), ctor);
    this.#elements.set(element.id, element);
    element.whenReleased(() => this.#elements.delete(element.id));
    try {
      await element.init();
    } catch (err) {
      element.release();
      throw err;
    }
    if (this.released) {
      element.release();
      throw new InvalidStateError(`MediaPipeline '${this.id}' was released during creation`);
    }
    return element;
  }

  /** `ctx` whose events are dropped once this pipeline is released (silent teardown). */
  #silencedOnRelease(ctx: ElementContext): ElementContext {
    return {
      ...ctx,
      emit: (event, data) => {
        if (!this.released) {
          ctx.emit(event, data);
        }
      },
    };
  }

  /** The final media facts of every element, taken just before the pipeline is released (docs/closures.md). */
  finalMedia(): Record<string, FinalMedia> {
    const out: Record<string, FinalMedia> = {};
    for (const e of this.#elements.values()) {
      out[e.id] = e.finalMedia();
    }
    return out;
  }

  connect(
    source: MediaElement,
    sink: MediaElement,
    kind: MediaKind | undefined,
    srcDesc: string,
    sinkDesc: string,
  ): void {
    this.#assertOwn(source, sink);
    source.connectTo(sink, kind === undefined ? MEDIA_KINDS : [kind], srcDesc, sinkDesc);
  }

  disconnect(
    source: MediaElement,
    sink: MediaElement,
    kind: MediaKind | undefined,
    srcDesc: string,
    sinkDesc: string,
  ): void {
    this.#assertOwn(source, sink);
    source.disconnectFrom(sink, kind === undefined ? MEDIA_KINDS : [kind], srcDesc, sinkDesc);
  }

  #assertOwn(source: MediaElement, sink: MediaElement): void {
    if (this.#elements.get(source.id) !== source || this.#elements.get(sink.id) !== sink) {
      throw new MediaOperationError("CONNECT_ERROR", "Media elements do not share pipeline");
    }
  }

  checkFlows(now: number): void {
    for (const e of this.#elements.values()) {
      e.checkFlows(now);
    }
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      getGstreamerDot: () => this.dot(),
      dumpGstreamerDot: () => null,
      getLatencyStats: () => this.#latencyStats,
      setLatencyStats: (a) => {
        this.#latencyStats = a["latencyStats"] === true;
        return null;
      },
    };
  }

  #latencyStats = false;

  /** A DOT graph of the whole pipeline. */
  dot(): string {
    const lines = [`digraph "${this.id}" {`];
    for (const e of this.#elements.values()) {
      lines.push(`  "${e.id}" [label="${e.type}"];`);
      for (const c of e.sinkConnections()) {
        lines.push(`  "${c.source.id}" -> "${c.sink.id}" [label="${c.kind}"];`);
      }
    }
    lines.push("}");
    return lines.join("\n");
  }

  /** Closes every element silently (they raise nothing: this pipeline is released already). */
  protected override dispose(): void {
    for (const e of [...this.#elements.values()]) {
      e.pipelineClosed();
    }
    this.#elements.clear();
  }
}

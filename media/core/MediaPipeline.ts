/**
 * MediaPipeline: owns its elements, all in this worker. Connecting elements of different pipelines is refused
 * with CONNECT_ERROR (Kurento 40004). Releasing the pipeline releases every element (architecture.md §6, step 2).
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";
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
    const element = new cls(ctx, ctor);
    this.#elements.set(element.id, element);
    element.onReleased(() => this.#elements.delete(element.id));
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

  protected override onRelease(): void {
    for (const e of [...this.#elements.values()]) {
      e.release();
    }
    this.#elements.clear();
  }
}

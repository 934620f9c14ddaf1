import t from "tap";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import type { ElementContext } from "../../../../media/core/MediaElement.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import { NegotiationState, SdpEndpoint, sdpOperationError } from "../../../../media/endpoint/SdpEndpoint.js";
import { InvalidStateError, MediaOperationError, UnsupportedError } from "../../../../media/errors.js";
import { PortAllocator } from "../../../../media/net/PortAllocator.js";
import { SdpNegotiationError, SdpParseError } from "../../../../sdp/index.js";
import { settingsFor } from "../rtp/fixtures/rtpHarness.js";

/** A minimal SDP endpoint: the remote SDP is any string, the local one a counter; `fail` makes the next step throw. */
class TestEndpoint extends SdpEndpoint<string> {
  local: string | undefined;
  remote: string | undefined;
  fail: Error | undefined;
  reoffer = false;
  readonly negotiated: NegotiationState[] = [];
  #n = 0;
  protected override acceptsReoffer(): boolean {
    return this.reoffer;
  }
  protected override readRemote(sdp: unknown): string {
    if (typeof sdp !== "string") {
      throw new MediaOperationError("SDP_PARSE_ERROR", "not a string");
    }
    return sdp;
  }
  #work(): void {
    if (this.fail !== undefined) {
      const f = this.fail;
      this.fail = undefined;
      throw f;
    }
    this.local = `local${++this.#n}`;
  }
  protected override async applyOffer(offer: string): Promise<void> {
    await Promise.resolve();
    this.#work();
    this.remote = offer;
  }
  protected override async makeOffer(): Promise<void> {
    await Promise.resolve();
    this.#work();
  }
  protected override applyAnswer(answer: string): void {
    this.#work();
    this.remote = answer;
  }
  protected override localDescriptor(): string | undefined {
    return this.local;
  }
  protected override remoteDescriptor(): string | undefined {
    return this.remote;
  }
  protected override onNegotiated(from: NegotiationState): void {
    this.negotiated.push(from);
  }
  protected override onMedia(_p: MediaPacket): void {
    // No media in this test.
  }
  protected override dispose(): void {
    // Nothing to free.
  }
}

const RANGE = { min: 40000, max: 40010, release: (): void => undefined };

function endpoint(): TestEndpoint {
  const noop = (): void => undefined;
  const logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const ctx: ElementContext = {
    id: "ep",
    pipelineId: "p",
    type: "TestEndpoint",
    settings: settingsFor(RANGE),
    ports: new PortAllocator(RANGE.min, RANGE.max),
    logger,
    emit: () => undefined,
    emitDescribed: (_e: string, _d: JsonObject) => undefined,
  };
  return new TestEndpoint(ctx);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "ok";
  } catch (err) {
    return err instanceof MediaOperationError ? err.kurentoType : err instanceof Error ? err.name : String(err);
  }
}

t.test("offerer: NEW → OFFERED → NEGOTIATED; the operations refused in each state", async (t) => {
  const ep = endpoint();
  t.equal(ep.negotiationState, NegotiationState.New);
  t.equal(await code(ep.processAnswer("a")), "SDP_END_POINT_NOT_OFFER_GENERATED");
  t.equal(await code(Promise.resolve().then(() => ep.localSessionDescriptor())), "SDP_END_POINT_NO_LOCAL_SDP_ERROR");
  t.equal(await code(Promise.resolve().then(() => ep.remoteSessionDescriptor())), "SDP_END_POINT_NO_REMOTE_SDP_ERROR");
  t.equal(await ep.generateOffer({}), "local1");
  t.equal(ep.negotiationState, NegotiationState.Offered);
  t.equal(await code(ep.generateOffer({})), "SDP_END_POINT_ALREADY_NEGOTIATED");
  t.equal(await code(ep.processOffer("o")), "SDP_END_POINT_ALREADY_NEGOTIATED", "no offer while OFFERED");
  t.equal(await code(ep.processAnswer(42)), "SDP_PARSE_ERROR", "the SDP is read after the state check");
  t.equal(ep.negotiationState, NegotiationState.Offered, "a parse error changes nothing");
  t.equal(await ep.processAnswer("answer"), "local2");
  t.equal(ep.negotiationState, NegotiationState.Negotiated);
  t.same(ep.negotiated, [NegotiationState.Offered]);
  t.equal(await code(ep.processAnswer("again")), "SDP_END_POINT_ANSWER_ALREADY_PROCCESED");
  t.equal(await code(ep.processOffer("o")), "SDP_END_POINT_ALREADY_NEGOTIATED", "no re-offer unless accepted");
  t.equal(ep.remoteSessionDescriptor(), "answer");
});

t.test("answerer with re-offers; one step at a time; a failed step keeps the state", async (t) => {
  const ep = endpoint();
  ep.reoffer = true;
  ep.fail = new SdpNegotiationError("no-common-codec", "no codec in common");
  t.equal(await code(ep.processOffer("o1")), "SDP_END_POINT_PROCESS_OFFER_ERROR");
  t.equal(ep.negotiationState, NegotiationState.New, "still NEW after a failed offer");
  const first = ep.processOffer("o1");
  t.equal(await code(ep.processOffer("o2")), "SDP_END_POINT_ALREADY_NEGOTIATED", "busy: one step at a time");
  t.equal(await first, "local1");
  t.equal(await ep.processOffer("o3"), "local2", "a re-offer");
  t.same(ep.negotiated, [NegotiationState.New, NegotiationState.Negotiated]);
  t.equal(await code(ep.generateOffer({})), "SDP_END_POINT_ALREADY_NEGOTIATED");
});

t.test("release is lifecycle: operations refused, a step finishing after it fails", async (t) => {
  const ep = endpoint();
  const pending = ep.generateOffer({});
  ep.release();
  t.equal(await code(pending), "InvalidStateError", "the offer made during the release does not land");
  t.equal(ep.negotiationState, NegotiationState.New);
  t.equal(await code(ep.processOffer("o")), "InvalidStateError");
});

t.test("sdpOperationError: the one mapping of negotiation failures", (t) => {
  const type = "SDP_END_POINT_PROCESS_ANSWER_ERROR";
  const named = new MediaOperationError("SDP_END_POINT_NOT_OFFER_GENERATED", "x");
  t.equal(sdpOperationError(named, type), named, "our named errors pass");
  const invalid = new InvalidStateError("released");
  t.equal(sdpOperationError(invalid, type), invalid);
  const kt = (e: unknown): string => {
    const r = sdpOperationError(e, type);
    return r instanceof MediaOperationError ? r.kurentoType : r.name;
  };
  t.equal(kt(new SdpParseError("bad line", 3, "x=")), "SDP_PARSE_ERROR");
  t.equal(kt(new SdpNegotiationError("no-common-codec", "none")), type);
  t.equal(kt(new UnsupportedError("no free port")), "NOT_ENOUGH_RESOURCES");
  t.equal(kt(new RangeError("werift")), type, "a foreign error is the operation's by default");
  const foreign = sdpOperationError(new TypeError("x"), type, () => new MediaOperationError("SDP_PARSE_ERROR", "y"));
  t.equal(foreign instanceof MediaOperationError ? foreign.kurentoType : "", "SDP_PARSE_ERROR", "or the hook's");
  t.end();
});

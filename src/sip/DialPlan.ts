/**
 * The dial plan (issue 5 §3): inbound calls no application claimed follow the first rule whose regexes match the
 * To URI, the From URI and the trunk name. Actions build pipelines through the public Kurento API (an
 * {@link InternalClient}), exactly as an application would:
 *
 * - `reject {status}` (default 603 Decline);
 * - `echo`: a pipeline with the call's SipEndpoint connected to itself, so the caller hears themself;
 * - `bridge {uri | viaTrunk}`: a B2BUA, two SipEndpoints connected both ways in one pipeline; the caller is
 *   answered when the callee answers, and a failed callee status is passed back;
 * - `room {room}`: an audio conference, one Composite per room name (its pipeline lives while the room has
 *   participants), one HubPort per participant, who hears everyone but themself; WebRTC participants join the same
 *   Composite through SipGateway.getRoom(name);
 * - `play {file}`: answers and plays the file (PlayerEndpoint), then hangs up at its end. The file is confined to
 *   `files.mediaRoots` like any player's (a relative `file` resolves against the first root); when the player
 *   raises Error (file outside the roots, missing, undecodable) the failure is logged and the call is hung up.
 *
 * - `stream {url, protocol, sampleRate, channels, parameters, retrySeconds}`: answers and connects the call both
 *   ways to a WebSocketEndpoint that streams it to a voice bot (docs/voicebots.md); the bot gets the From and To
 *   URIs as parameters `from` and `to` (unless its own parameters set them). The call is hung up when the bot ends
 *   the stream (CLOSED) or cannot be reached within its retry window (FAILED). The call's CDR gets the bot's URL
 *   host, the seconds it streamed and its outcome (CLOSED, or FAILED with the reason).
 *
 * No matching rule: `unmatchedStatus` (default 404). Each pipeline is released when its calls end.
 *
 * Every action but `reject` takes a `record` option (dialPlanRecord.ts): the call is recorded in stereo (caller
 * left, the other side right), mixed, or one file per leg; its recorders stop (files complete) before the
 * pipeline is released.
 */
import type { JsonObject } from "../../media/index.js";
import type { CdrRecorder } from "../cdr/index.js";
import type { Logger } from "../logging/logger.js";
import { CallState } from "./CallState.js";
import type { DialPlanRule } from "./config.js";
import { startCallRecording, type CallRecording } from "./dialPlanRecord.js";
import { InternalRpcError, type InternalClient } from "./InternalClient.js";
import type { PendingCall } from "./PendingCall.js";

export interface DialPlanOptions {
  readonly rules: readonly DialPlanRule[];
  readonly unmatchedStatus: number;
  readonly client: InternalClient;
  readonly logger: Logger;
  readonly trunkNames: ReadonlySet<string>;
  /** CDR recorder (config `cdr.enabled`): `stream` calls write their bot fields to the call's leg. */
  readonly cdr?: CdrRecorder | undefined;
}

export interface CompiledRule {
  readonly rule: DialPlanRule;
  readonly to: RegExp | undefined;
  readonly from: RegExp | undefined;
  readonly trunk: RegExp | undefined;
}

/** The outcome of matching, for logs and tests. */
export type DialPlanMatch = { readonly rule: DialPlanRule; readonly groups: readonly string[] } | undefined;

export class DialPlan {
  readonly #rules: readonly CompiledRule[];
  readonly #unmatched: number;
  readonly #client: InternalClient;
  readonly #log: Logger;
  readonly #cdr: CdrRecorder | undefined;
  /** Calls being routed: their SipEndpoint claims them through the same path as an application's. */
  readonly #routing = new Map<string, PendingCall>();
  /** Rooms by name: the pipeline and Composite (created once; concurrent joins share the promise). */
  readonly #rooms = new Map<string, Promise<{ pipeline: string; composite: string }>>();

  constructor(options: DialPlanOptions) {
    this.#rules = compileRules(options.rules);
    this.#unmatched = options.unmatchedStatus;
    this.#client = options.client;
    this.#log = options.logger;
    this.#cdr = options.cdr;
  }

  /** The first rule matching a call, with the capture groups of its `to` regex (`$1`…). */
  match(to: string, from: string, trunk: string): DialPlanMatch {
    return matchRules(this.#rules, to, from, trunk);
  }

  /** A call this dial plan is routing, for the SipEndpoint that claims it. */
  adoptable(callId: string): PendingCall | undefined {
    return this.#routing.get(callId);
  }

  adopted(callId: string): void {
    this.#routing.delete(callId);
  }

  /** Routes an unclaimed call. Never throws: failures reject the call with 500. */
  async route(pending: PendingCall): Promise<void> {
    const id = pending.call.identity;
    const to = id.to.uri.toString();
    const from = id.from.uri.toString();
    const m = this.match(to, from, pending.trunk?.name ?? "");
    this.#log.info({ callId: pending.callId, to, from, action: m?.rule.action ?? "unmatched" }, "sip: dial plan");
    try {
      if (m === undefined) {
        this.#reject(pending, this.#unmatched, "No route");
        return;
      }
      switch (m.rule.action) {
        case "reject":
          this.#reject(pending, m.rule.status ?? 603, "Dial plan");
          return;
        case "echo":
          await this.#echo(pending, m.rule);
          return;
        case "bridge":
          await this.#bridge(pending, m.rule, m.groups, id.to.uri.toString());
          return;
        case "room":
          await this.#room(pending, m.rule, substitute(m.rule.room ?? "", m.groups));
          return;
        case "play":
          await this.#play(pending, m.rule, m.rule.file ?? "");
          return;
        case "stream":
          await this.#stream(pending, m.rule, from, to);
          return;
      }
    } catch (err) {
      if (pending.session.termination !== undefined) {
        // CANCEL raced the action, or the caller is gone: nothing failed on our side.
        this.#routing.delete(pending.callId);
        this.#log.debug(
          { callId: pending.callId, err: String(err) },
          "sip: dial plan: the call ended during its action",
        );
        return;
      }
      this.#log.warn({ callId: pending.callId, err: String(err) }, "sip: dial plan action failed");
      this.#routing.delete(pending.callId);
      this.#reject(pending, 500, "Dial plan failure");
    }
  }

  #reject(pending: PendingCall, status: number, text: string): void {
    if (pending.session.termination === undefined) {
      try {
        pending.session.reject(status, { text });
      } catch {
        // ended meanwhile
      }
    }
  }

  /** Creates a pipeline with a SipEndpoint that claims the call; releases the pipeline when `done` says so. */
  async #claim(pending: PendingCall): Promise<{ pipeline: string; leg: string }> {
    const pipeline = await this.#client.create("MediaPipeline", {});
    this.#routing.set(pending.callId, pending);
    try {
      const leg = await this.#client.create("SipEndpoint", { mediaPipeline: pipeline, callId: pending.callId });
      return { pipeline, leg };
    } catch (err) {
      this.#routing.delete(pending.callId);
      await this.#client.release(pipeline);
      throw err;
    }
  }

  /** The `record` option of a rule, started once the call's media is connected (undefined without one). */
  async #record(
    pending: PendingCall,
    rule: DialPlanRule,
    pipeline: string,
    caller: string,
    other: string,
  ): Promise<CallRecording | undefined> {
    if (rule.record === undefined) {
      return undefined;
    }
    const id = pending.call.identity;
    const facts = {
      callId: pending.callId,
      from: id.from.uri.toString(),
      to: id.to.uri.toString(),
      trunk: pending.trunk?.name ?? "",
    };
    return startCallRecording(this.#client, this.#log, rule.record, facts, pipeline, { caller, other });
  }

  /** Stops the call's recordings (their files complete), then releases `object`. */
  #releaseAfter(rec: CallRecording | undefined, object: string): void {
    void (rec?.stop() ?? Promise.resolve()).finally(() => void this.#client.release(object).catch(() => undefined));
  }

  async #echo(pending: PendingCall, rule: DialPlanRule): Promise<void> {
    const { pipeline, leg } = await this.#claim(pending);
    const rec: { current?: CallRecording | undefined } = {};
    await this.#client.on(leg, "CallStateChanged", (d) => {
      if (stateOf(d) === CallState.Terminated) {
        this.#releaseAfter(rec.current, pipeline);
      }
    });
    await this.#client.connect(leg, leg);
    rec.current = await this.#record(pending, rule, pipeline, leg, leg);
    await this.#client.answer(leg);
  }

  /**
   * The room `name`: its pipeline and Composite, created on first use.
   * @throws {InternalRpcError} when the name is not a valid room name (40107).
   */
  room(name: string): Promise<{ pipeline: string; composite: string }> {
    if (!ROOM_NAME.test(name)) {
      return Promise.reject(new InternalRpcError(40107, `bad room name '${name}'`));
    }
    let room = this.#rooms.get(name);
    if (room === undefined) {
      room = (async () => {
        const pipeline = await this.#client.create("MediaPipeline", {});
        const composite = await this.#client.create("Composite", { mediaPipeline: pipeline });
        return { pipeline, composite };
      })();
      this.#rooms.set(name, room);
      room.catch(() => this.#rooms.delete(name));
    }
    return room;
  }

  /** Releases a room once no HubPort is left on its Composite. */
  async #closeIfEmpty(name: string): Promise<void> {
    const room = this.#rooms.get(name);
    if (room === undefined) {
      return;
    }
    const { pipeline, composite } = await room;
    const ports = await this.#client.children(composite).catch((): string[] => []);
    if (ports?.length === 0 && this.#rooms.get(name) === room) {
      this.#rooms.delete(name);
      await this.#client.release(pipeline);
    }
  }

  async #room(pending: PendingCall, rule: DialPlanRule, name: string): Promise<void> {
    const { pipeline, composite } = await this.room(name);
    this.#routing.set(pending.callId, pending);
    let leg: string;
    try {
      leg = await this.#client.create("SipEndpoint", { mediaPipeline: pipeline, callId: pending.callId });
    } catch (err) {
      this.#routing.delete(pending.callId);
      throw err;
    }
    const port = await this.#client.create("HubPort", { hub: composite });
    const rec: { current?: CallRecording | undefined } = {};
    await this.#client.on(leg, "CallStateChanged", (d) => {
      if (stateOf(d) === CallState.Terminated) {
        void (async () => {
          await rec.current?.stop();
          await this.#client.release(leg);
          await this.#client.release(port);
          await this.#closeIfEmpty(name);
        })();
      }
    });
    await this.#client.connect(leg, port, "AUDIO");
    await this.#client.connect(port, leg, "AUDIO");
    rec.current = await this.#record(pending, rule, pipeline, leg, port);
    await this.#client.answer(leg);
  }

  async #play(pending: PendingCall, rule: DialPlanRule, file: string): Promise<void> {
    const { pipeline, leg } = await this.#claim(pending);
    const player = await this.#client.create("PlayerEndpoint", { mediaPipeline: pipeline, uri: file });
    const rec: { current?: CallRecording | undefined } = {};
    await this.#client.on(leg, "CallStateChanged", (d) => {
      const state = stateOf(d);
      if (state === CallState.Connected) {
        void this.#client.play(player).catch(() => undefined);
      } else if (state === CallState.Terminated) {
        this.#releaseAfter(rec.current, pipeline);
      }
    });
    await this.#client.on(player, "EndOfStream", () => {
      void this.#client.hangup(leg).catch(() => undefined);
    });
    await this.#client.on(player, "Error", (d) => {
      this.#log.warn({ file, type: d["type"], description: d["description"] }, "dial plan: play failed, hanging up");
      void this.#client.hangup(leg).catch(() => undefined);
    });
    await this.#client.connect(player, leg, "AUDIO");
    rec.current = await this.#record(pending, rule, pipeline, leg, player);
    await this.#client.answer(leg);
  }

  async #stream(pending: PendingCall, rule: DialPlanRule, from: string, to: string): Promise<void> {
    const s = rule.stream;
    if (s === undefined) {
      throw new Error("a stream rule without stream");
    }
    const { pipeline, leg } = await this.#claim(pending);
    let bot: string;
    try {
      bot = await this.#client.create("WebSocketEndpoint", {
        mediaPipeline: pipeline,
        uri: s.url,
        protocol: s.protocol ?? "twilio",
        sampleRate: s.sampleRate ?? 8000,
        channels: s.channels ?? 1,
        parameters: { from, to, ...s.parameters },
        retrySeconds: s.retrySeconds ?? 10,
        ...(s.outageAudio === undefined ? {} : { outageAudio: s.outageAudio }),
      });
    } catch (err) {
      this.#routing.delete(pending.callId);
      await this.#client.release(pipeline);
      throw err;
    }
    await this.#client.on(leg, "CallStateChanged", (d) => {
      if (stateOf(d) === CallState.Terminated) {
        void this.#client.release(pipeline);
      }
    });
    const cdrId = pending.tracking.cdrId;
    const botCdr = (state: unknown, reason: unknown, host?: string): void => {
      if (
        cdrId !== undefined &&
        (state === "CONNECTING" || state === "STREAMING" || state === "CLOSED" || state === "FAILED")
      ) {
        this.#cdr?.bot(cdrId, {
          state,
          ...(typeof reason === "string" ? { reason } : {}),
          ...(host === undefined ? {} : { host }),
        });
      }
    };
    botCdr("CONNECTING", undefined, urlHost(s.url));
    await this.#client.on(bot, "StreamStateChanged", (d) => {
      botCdr(d["state"], d["reason"]);
      if (d["state"] === "FAILED" || d["state"] === "CLOSED") {
        this.#log.info(
          { callId: pending.callId, state: d["state"], reason: d["reason"] },
          "dial plan: bot stream ended",
        );
        void this.#client.hangup(leg).catch(() => undefined);
      }
    });
    await this.#client.connect(leg, bot, "AUDIO");
    await this.#client.connect(bot, leg, "AUDIO");
    await this.#client.answer(leg);
  }

  async #bridge(pending: PendingCall, rule: DialPlanRule, groups: readonly string[], to: string): Promise<void> {
    const { pipeline, leg: a } = await this.#claim(pending);
    const b = await this.#client.create("SipEndpoint", { mediaPipeline: pipeline });
    let aState = CallState.Ringing;
    let done = false;
    const rec: { current?: CallRecording | undefined } = {};
    const finish = (): void => {
      if (!done) {
        done = true;
        this.#releaseAfter(rec.current, pipeline);
      }
    };
    await this.#client.on(a, "CallStateChanged", (d) => {
      aState = stateOf(d);
      if (aState === CallState.Terminated) {
        void this.#client.hangup(b).catch(() => undefined);
        finish();
      }
    });
    await this.#client.on(b, "CallStateChanged", (d) => {
      const state = stateOf(d);
      if (state === CallState.Connected && aState !== CallState.Connected) {
        void this.#client.answer(a).catch(() => undefined);
      } else if (state === CallState.Terminated) {
        const status = typeof d["sipStatus"] === "number" ? d["sipStatus"] : 0;
        const op =
          aState === CallState.Connected || aState === CallState.Terminated
            ? this.#client.hangup(a)
            : this.#client.reject(a, status >= 300 && status <= 699 ? status : 480);
        void op.catch(() => undefined).finally(finish);
      }
    });
    await this.#client.connect(a, b);
    await this.#client.connect(b, a);
    const user = /^sips?:([^@;]+)@/.exec(to)?.[1] ?? "";
    const uri = rule.uri === undefined ? user : substitute(rule.uri, groups);
    await this.#client.call(b, uri, {
      ...(rule.viaTrunk === undefined ? {} : { trunk: rule.viaTrunk }),
      from: pending.call.identity.from.uri.toString(),
    });
    // After call(): the callee's CDR leg exists, so the recording CDR hooks can name the file in it.
    if (!done) {
      rec.current = await this.#record(pending, rule, pipeline, a, b);
    }
  }
}

/** Compiles the regexes of validated rules (config.ts checked that they compile). */
export function compileRules(rules: readonly DialPlanRule[]): CompiledRule[] {
  return rules.map((rule) => ({
    rule,
    to: rule.to === undefined ? undefined : new RegExp(rule.to),
    from: rule.from === undefined ? undefined : new RegExp(rule.from),
    trunk: rule.trunk === undefined ? undefined : new RegExp(rule.trunk),
  }));
}

/** The first rule whose regexes all match (absent ones match anything), with the `to` capture groups. */
export function matchRules(rules: readonly CompiledRule[], to: string, from: string, trunk: string): DialPlanMatch {
  for (const r of rules) {
    const m = r.to === undefined ? [to] : r.to.exec(to);
    if (m === null || (r.from !== undefined && !r.from.test(from)) || (r.trunk !== undefined && !r.trunk.test(trunk))) {
      continue;
    }
    return { rule: r.rule, groups: [...m].map((g) => g ?? "") };
  }
  return undefined;
}

/** Room names: what a SIP user part or an application may use. */
const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The state of a CallStateChanged event. */
function stateOf(d: JsonObject): CallState {
  const v = d["state"];
  return typeof v === "string" && (Object.values(CallState) as string[]).includes(v)
    ? (v as CallState)
    : CallState.Idle;
}

/** The host (and port) of a bot URL, for its CDR: never the path, query or credentials. */
function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}

/** Replaces `$1`…`$9` with the capture groups of the `to` match. */
export function substitute(template: string, groups: readonly string[]): string {
  return template.replace(/\$(\d)/g, (_, d: string) => groups[Number(d)] ?? "");
}

/**
 * The Kurento JSON-RPC methods (kurento-protocol.md §4): ping, connect, describe, create, invoke, subscribe,
 * unsubscribe, release, transaction, keepAlive, ref/unref and closeSession, with KMS's session rules (§3), error
 * codes (§5) and event delivery (§4.7).
 *
 * Objects run in media workers; this class validates every parameter against the kmd descriptors before anything
 * crosses the channel, keeps the MediaObject-level properties itself, and turns worker events into `onEvent`
 * notifications for the subscribed sessions.
 *
 * Isolation (`isolation: "application"`): every session and every pipeline belongs to the application of the
 * connection that created it; another application's objects and sessions answer exactly as missing ones do (40101,
 * 40007, or a no-op release), and `getPipelines`/`getSessions` list only the caller's own. Server-wide singletons
 * (ServerManager, SipGateway) are seen by everyone and cannot be released.
 *
 * Bounds (issue 9, defect 4): session ids are short tokens, a connection may create or join at most
 * `maxSessionsPerConnection` sessions and an address hold `maxSessionsPerAddress`; echoed text is clipped; the
 * duplicate-request cache is keyed by (request id, session) and bounded in characters (SessionManager).
 */
import { createHash, randomUUID } from "node:crypto";
import os from "node:os";
import type { FinalMedia, JsonObject, JsonValue } from "../../media/index.js";
import type { Logger } from "../logging/logger.js";
import type { MediaWorkerHandle } from "../pool/MediaWorkerHandle.js";
import type { WorkerPool } from "../pool/WorkerPool.js";
import { clip, KurentoError, toKurentoError, type JsonRpcErrorBody } from "./errors.js";
import type { ClassInfo, KmdRegistry, Operation } from "./kmd.js";
import { newObjectId, ObjectRegistry, SERVER_MANAGER_ID, type KObject } from "./ObjectRegistry.js";
import { SessionManager, type ClientConnection, type Session } from "./SessionManager.js";
import { ParamValidator } from "./validate.js";
import { HookLists } from "../modules/HookLists.js";
import type { ControlHooks } from "../modules/types.js";

export interface RpcRequest {
  jsonrpc: "2.0";
  id?: string | number | null;
  method: string;
  params?: Record<string, unknown>;
}

export type RpcResponse =
  | { jsonrpc: "2.0"; id: string | number | null; result: JsonValue }
  | { jsonrpc: "2.0"; id: string | number | null; error: JsonRpcErrorBody };

/**
 * The hooks of one module's control side (src/modules/types.ts). The name is kept for the SIP service, whose hook
 * table is Korus's own module "korus" entering through the same {@link KurentoServer.hooks} lists a third party uses.
 */
export type KurentoExtension = ControlHooks;

export interface KurentoServerOptions {
  version: string;
  gcPeriodMs: number;
  /** "application" (default): sessions see only their application's objects and sessions; "shared": KMS. */
  isolation?: "application" | "shared";
  /** Sessions one connection may create or join (default 16). */
  maxSessionsPerConnection?: number;
  /** Sessions one client address may hold (default 1000). */
  maxSessionsPerAddress?: number;
}

/** A session id a client may name: KMS's are UUIDs; anything longer or stranger is refused as unknown (40007). */
const SESSION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Subscriptions one session may hold. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 4096;
/** MediaObject name and tag bounds (a shared singleton's tags would otherwise grow without end). */
export const MAX_NAME_CHARS = 1024;
export const MAX_TAGS = 64;
export const MAX_TAG_KEY_CHARS = 256;
export const MAX_TAG_VALUE_CHARS = 4096;

/** Methods that create a session when the request has none (kurento-protocol.md §3 rule 2). */
const SESSION_METHODS = new Set(["create", "describe", "invoke", "subscribe", "release", "transaction", "connect"]);
const NEWREF = "newref:";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** `text` when it has at most `max` characters, else 40107 naming the parameter. */
function bounded(text: string, max: number, name: string): string {
  if (text.length > max) {
    throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `'${name}' is longer than ${max} characters`);
  }
  return text;
}

export class KurentoServer {
  readonly serverId = randomUUID();
  readonly kmd: KmdRegistry;
  readonly objects: ObjectRegistry;
  readonly sessions = new SessionManager();
  /** The modules' control hooks, Korus's own SIP service among them (docs/modules.md). */
  readonly hooks: HookLists;
  readonly #validator: ParamValidator;
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #opts: KurentoServerOptions;
  readonly #gcTimer: NodeJS.Timeout;
  #cpuSample = { usage: process.cpuUsage(), at: performance.now() };

  constructor(kmd: KmdRegistry, pool: WorkerPool, logger: Logger, opts: KurentoServerOptions) {
    this.kmd = kmd;
    this.objects = new ObjectRegistry(kmd);
    this.#validator = new ParamValidator(kmd);
    this.#pool = pool;
    this.#logger = logger.child({ ns: "kurento" });
    this.hooks = new HookLists(this.#logger);
    this.#opts = opts;
    this.#gcTimer = setInterval(() => this.collectGarbage(), opts.gcPeriodMs);
    this.#gcTimer.unref();
  }

  /** Raises `event` on `objectId` for its subscribers, as a worker event would (used by extensions). */
  emitEvent(objectId: string, event: string, data: JsonObject, audience?: string): void {
    this.#raise(objectId, event, data, audience);
  }

  /**
   * True when an object of `application` may act on something meant for `audience` (a trunk's application): always
   * without an audience, with isolation off, or for the server's own objects (application null).
   */
  reaches(application: string | null, audience?: string): boolean {
    return audience === undefined || !this.#isolated || application === null || application === audience;
  }

  /**
   * The sessions subscribed to `event` on `objectId` that an event for `audience` reaches (all of them without an
   * audience, or when isolation is off).
   */
  audienceOf(objectId: string, event: string, audience?: string): number {
    const subs = this.sessions.subscribersOf(objectId, event);
    if (audience === undefined || !this.#isolated) {
      return subs.length;
    }
    return subs.filter((s) => this.sessions.get(s.sessionId)?.application === audience).length;
  }

  // ================================================================================================ entry point

  /**
   * Executes one request from `conn`. Returns the response, or null for a notification.
   * Never throws: every failure becomes a JSON-RPC error.
   */
  async handle(conn: ClientConnection, req: RpcRequest): Promise<RpcResponse | null> {
    const id = req.id ?? null;
    const params: Record<string, unknown> = isObj(req.params) ? { ...req.params } : {};
    // Rule 1: inject the socket's session.
    let injected = false;
    if (params["sessionId"] === undefined && conn.sessionId !== null) {
      params["sessionId"] = conn.sessionId;
      injected = true;
    }
    // Duplicate-request cache: a repeated (id, sessionId) gets the identical response. The server's own in-process
    // clients never repeat a request (no transport to lose it), so they skip it and its fingerprint.
    const dedup = req.id != null && req.method !== "ping" && !inProcess(conn);
    const sidParam = typeof params["sessionId"] === "string" ? params["sessionId"] : undefined;
    const cacheSession = sidParam !== undefined && dedup ? this.sessions.get(sidParam) : undefined;
    // KMS keys the cache by (request id, sessionId): the session is the map, the key the id with its JSON type
    // (1 and "1" are different requests). The method is not part of it: a repeat is the same request.
    const cacheKey = typeof req.id === "number" ? `n${req.id}` : `s${String(req.id)}`;
    const cached =
      cacheSession === undefined || !this.#mayUse(conn, cacheSession) ? undefined : cacheSession.answered.get(cacheKey);
    const fingerprint = !dedup
      ? ""
      : createHash("sha256")
          .update(`${req.method}\0${JSON.stringify(req.params ?? null)}`)
          .digest("base64");
    if (cached?.fingerprint === fingerprint) {
      return JSON.parse(cached.response) as RpcResponse;
    }
    let response: RpcResponse;
    try {
      const result = await this.#execute(conn, req.method, params, injected, new Map(), false);
      response = { jsonrpc: "2.0", id, result };
      if (isObj(result) && typeof result["sessionId"] === "string") {
        // Rule 3: the session in a successful result becomes the socket's session.
        const bound = this.sessions.get(result["sessionId"]);
        if (bound !== undefined) {
          this.sessions.bind(bound, conn);
        }
      }
    } catch (err) {
      response = { jsonrpc: "2.0", id, error: this.#errorBody(err, req.method) };
    }
    if (req.id == null) {
      return null;
    }
    const sid =
      isObj(response) && "result" in response && isObj(response.result) ? response.result["sessionId"] : sidParam;
    if (typeof sid === "string" && dedup) {
      const s = this.sessions.get(sid);
      if (s !== undefined && this.#mayUse(conn, s)) {
        this.sessions.rememberAnswer(s, cacheKey, fingerprint, JSON.stringify(response));
      }
    }
    return response;
  }

  #errorBody(err: unknown, method: string): JsonRpcErrorBody {
    const ke = toKurentoError(err);
    if (ke.kind === "UNEXPECTED_ERROR") {
      this.#logger.warn({ err, method: clip(method) }, "request failed unexpectedly");
    }
    return ke.toJson();
  }

  /** Runs one method. `refs` maps transaction indexes to new ids (newref:i); `inTx` marks transaction steps. */
  async #execute(
    conn: ClientConnection,
    method: string,
    params: Record<string, unknown>,
    injected: boolean,
    refs: Map<number, string>,
    inTx: boolean,
  ): Promise<JsonValue> {
    if (method === "ping") {
      return injected && typeof params["sessionId"] === "string"
        ? { sessionId: params["sessionId"], value: "pong" }
        : { value: "pong" };
    }
    if (!inTx && method !== "transaction") {
      this.#rejectNewref(params);
    }
    let session: Session | undefined;
    if (method === "connect") {
      return this.#connect(conn, params);
    }
    if (method === "keepAlive" || method === "closeSession" || method === "unref") {
      session = this.#existingSession(conn, params);
    } else if (SESSION_METHODS.has(method) || method === "ref") {
      // `ref` names a session the server may not have seen: KMS's MediaSet::ref creates it (keepAliveSession(id,
      // true)), so a client that resumes after a restart can take its references back.
      session = this.#sessionFor(conn, params["sessionId"]);
    }
    switch (method) {
      case "describe": {
        return this.#describe(this.#need(session), params);
      }
      case "create": {
        return this.#create(this.#need(session), params);
      }
      case "invoke": {
        return this.#invoke(this.#need(session), params);
      }
      case "subscribe": {
        return this.#subscribe(this.#need(session), params);
      }
      case "unsubscribe": {
        return this.#unsubscribe(conn, params);
      }
      case "release": {
        return this.#release(this.#need(session), params);
      }
      case "transaction": {
        return this.#transaction(conn, this.#need(session), params, refs);
      }
      case "keepAlive": {
        this.#need(session).alive = true;
        return { sessionId: this.#need(session).id };
      }
      case "ref":
      case "unref": {
        const s = this.#need(session);
        const obj = this.#object(params, s);
        if (method === "ref") {
          // As KMS's MediaSet::ref, the object's ancestors are referenced too (a HubPort keeps its hub and pipeline).
          for (
            let o: KObject | undefined = obj;
            o !== undefined;
            o = o.parentId === null ? undefined : this.objects.get(o.parentId)
          ) {
            s.refs.add(o.id);
          }
        } else {
          s.refs.delete(obj.id);
        }
        return { sessionId: s.id };
      }
      case "closeSession": {
        return this.#closeSession(this.#need(session), params);
      }
      default: {
        throw new KurentoError("METHOD_NOT_FOUND", `Method not found: '${clip(method)}'`);
      }
    }
  }

  #need(session: Session | undefined): Session {
    if (session === undefined) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    return session;
  }

  #existingSession(conn: ClientConnection, params: Record<string, unknown>): Session {
    const sid = params["sessionId"];
    const s = typeof sid === "string" ? this.sessions.get(sid) : undefined;
    if (s === undefined || !this.#mayUse(conn, s)) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    this.#admit(conn, s);
    return s;
  }

  get #isolated(): boolean {
    return this.#opts.isolation !== "shared";
  }

  /** With isolation, only connections of the session's application may use it (others see it as unknown). */
  #mayUse(conn: ClientConnection, session: Session): boolean {
    return !this.#isolated || session.application === (conn.application ?? "");
  }

  /** With isolation, a session sees singletons and its own application's objects only. */
  #sees(session: Session, obj: KObject): boolean {
    return !this.#isolated || session.internal || obj.application === null || obj.application === session.application;
  }

  /**
   * The session a request names, or a new one (`sid` absent or not a string; or a well-formed unknown id, which
   * KMS creates too, so a client resumes after a restart). Another application's session is unknown (40007).
   */
  #sessionFor(conn: ClientConnection, sid: unknown): Session {
    if (typeof sid !== "string") {
      return this.#newSession(conn);
    }
    if (!SESSION_ID.test(sid)) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    const known = this.sessions.get(sid);
    if (known === undefined) {
      return this.#newSession(conn, sid);
    }
    if (!this.#mayUse(conn, known)) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    this.#admit(conn, known);
    return known;
  }

  /** A connection joins an existing session: counted against maxSessionsPerConnection. */
  #admit(conn: ClientConnection, session: Session): void {
    if (this.sessions.hasJoined(conn, session)) {
      return;
    }
    this.#checkConnectionLimit(conn);
    this.sessions.join(session, conn);
  }

  #checkConnectionLimit(conn: ClientConnection): void {
    if (inProcess(conn)) {
      // The server's own in-process clients (the dial plan: one session per call; the gateway demo relay) are no
      // stranger: their sessions are bounded by the calls and pages they serve, not by a per-connection cap.
      return;
    }
    const max = this.#opts.maxSessionsPerConnection ?? 16;
    if (this.sessions.joinedBy(conn) >= max) {
      this.#logger.warn({ conn: conn.id, address: conn.address, max }, "session refused: connection limit");
      throw new KurentoError("NOT_ENOUGH_RESOURCES", `Too many sessions on this connection (at most ${max})`);
    }
  }

  #newSession(conn: ClientConnection, sid?: string): Session {
    this.#checkConnectionLimit(conn);
    const address = conn.address ?? "";
    const max = this.#opts.maxSessionsPerAddress ?? 1000;
    if (address !== "" && this.sessions.heldBy(address) >= max) {
      this.#logger.warn({ conn: conn.id, address, max }, "session refused: address limit");
      throw new KurentoError("NOT_ENOUGH_RESOURCES", `Too many sessions from this address (at most ${max})`);
    }
    return this.sessions.obtain(sid, conn);
  }

  /** A `newref:` id outside its transaction → 40109. */
  #rejectNewref(v: unknown): void {
    if (typeof v === "string") {
      if (v.startsWith(NEWREF)) {
        throw new KurentoError(
          "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT",
          `Object '${clip(v)}' not found: newref ids are only valid inside their transaction`,
        );
      }
    } else if (Array.isArray(v)) {
      v.forEach((x) => this.#rejectNewref(x));
    } else if (isObj(v)) {
      Object.values(v).forEach((x) => this.#rejectNewref(x));
    }
  }

  // ================================================================================================ methods

  #connect(conn: ClientConnection, params: Record<string, unknown>): JsonObject {
    const sid = params["sessionId"];
    let session: Session;
    if (typeof sid === "string") {
      const known = this.sessions.get(sid);
      if (known === undefined || !this.#mayUse(conn, known)) {
        throw new KurentoError("INVALID_SESSION", "Invalid session");
      }
      this.#admit(conn, known);
      session = known;
    } else {
      session = this.#newSession(conn);
    }
    this.sessions.bind(session, conn);
    return { sessionId: session.id, serverId: this.serverId };
  }

  /** The object `params[key]` names, as `session` may see it: another application's is "not found" (40101). */
  #object(params: Record<string, unknown>, session: Session, key = "object"): KObject {
    const id = params[key];
    if (typeof id !== "string") {
      throw new KurentoError("SERVER_ERROR", `'${key}' parameter is required`);
    }
    const obj = this.objects.get(id);
    if (obj === undefined || !this.#sees(session, obj)) {
      throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${clip(id)}' not found`);
    }
    return obj;
  }

  #describe(session: Session, params: Record<string, unknown>): JsonObject {
    const obj = this.#object(params, session);
    session.refs.add(obj.id);
    return {
      sessionId: session.id,
      type: obj.cls.name,
      qualifiedType: obj.cls.qualifiedName,
      hierarchy: obj.cls.hierarchy,
    };
  }

  /** Resolves object ids in parameters as `session` may see them. */
  #resolver(session: Session): (id: string) => string | undefined {
    return (id) => {
      const o = this.objects.get(id);
      return o !== undefined && this.#sees(session, o) ? o.cls.name : undefined;
    };
  }

  async #create(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const type = params["type"];
    if (typeof type !== "string") {
      throw new KurentoError("SERVER_ERROR", "'type' parameter should be a string");
    }
    const cls = this.kmd.classByType(type);
    if (cls === undefined || cls.abstract || cls.name === "ServerManager") {
      throw new KurentoError("MEDIA_OBJECT_NOT_AVAILABLE", `Factory '${clip(type)}' not found`);
    }
    // Properties are ignored, as KMS does.
    const ctor = this.#validator.params(
      cls.constructorParams,
      params["constructorParams"],
      this.#resolver(session),
      "constructorParams",
    );
    let id: string;
    const singleton = this.hooks.createSingleton(cls);
    if (singleton !== undefined) {
      session.refs.add(singleton);
      return { sessionId: session.id, value: singleton };
    }
    if (cls.name === "MediaPipeline") {
      // The server's own clients (a dial-plan room) create pipelines every application may join.
      id = await this.#createPipeline(cls, session.internal ? null : session.application);
    } else {
      id = await this.#createElement(cls, ctor);
    }
    session.refs.add(id);
    this.#raise(SERVER_MANAGER_ID, "ObjectCreated", { object: id }, this.objects.get(id)?.application);
    return { sessionId: session.id, value: id };
  }

  async #createPipeline(cls: ClassInfo, application: string | null): Promise<string> {
    let worker: MediaWorkerHandle;
    try {
      worker = this.#pool.pick();
    } catch (err) {
      throw new KurentoError("NOT_ENOUGH_RESOURCES", (err as Error).message);
    }
    const id = newObjectId(cls, null);
    worker.pipelines.add(id);
    try {
      await worker.request("pipeline.create", { pipelineId: id });
    } catch (err) {
      worker.pipelines.delete(id);
      throw err;
    }
    this.objects.add({ id, cls, pipelineId: id, parentId: null, worker, application });
    this.#logger.debug({ pipelineId: id, worker: worker.index }, "pipeline created");
    return id;
  }

  async #createElement(cls: ClassInfo, ctor: JsonObject): Promise<string> {
    // The parent: `mediaPipeline` for elements and hubs, `hub` for HubPorts.
    const parentParam = cls.constructorParams.find((p) => p.name === "mediaPipeline" || p.name === "hub");
    const parentId = parentParam !== undefined ? ctor[parentParam.name] : undefined;
    const parent = typeof parentId === "string" ? this.objects.get(parentId) : undefined;
    if (parent?.pipelineId == null || parent.worker === null) {
      throw new KurentoError("MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND", `'${cls.name}' needs a MediaPipeline parent`);
    }
    const id = newObjectId(cls, parent.id);
    try {
      await parent.worker.request("element.create", {
        pipelineId: parent.pipelineId,
        elementId: id,
        type: cls.name,
        ctor,
      });
    } catch (err) {
      const e = err as { name?: string; message?: string };
      if (e.name === "UnsupportedError") {
        throw new KurentoError("MEDIA_OBJECT_NOT_AVAILABLE", `Factory '${cls.name}' not found: ${e.message ?? ""}`);
      }
      throw err;
    }
    if (!this.objects.has(parent.id)) {
      // The pipeline was released while the element was being built.
      throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${parent.id}' not found`);
    }
    const obj = this.objects.add({
      id,
      cls,
      pipelineId: parent.pipelineId,
      parentId: parent.id,
      worker: parent.worker,
      application: parent.application,
    });
    if (this.hooks.has("elementCreated")) {
      try {
        await this.hooks.elementCreated(obj, ctor);
      } catch (err) {
        await this.releaseObject(id);
        throw err;
      }
    }
    return id;
  }

  async #invoke(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const obj = this.#object(params, session);
    session.refs.add(obj.id);
    const opName = params["operation"];
    if (typeof opName !== "string") {
      throw new KurentoError("SERVER_ERROR", "'operation' parameter should be a string");
    }
    const given = params["operationParams"];
    const op = obj.cls.operations.get(opName);
    if (op === undefined) {
      const n = isObj(given) ? Object.keys(given).length : 0;
      throw new KurentoError("MALFORMED_TRANSACTION", `Method '${clip(opName)}' with ${n} parameters not found`);
    }
    const value = await this.#operate(session, obj, opName, op, given);
    return { sessionId: session.id, value };
  }

  #args(session: Session, op: Operation, given: unknown): JsonObject {
    if (op.kind === "method") {
      return this.#validator.params(op.method.params, given, this.#resolver(session), "operationParams");
    }
    if (op.kind === "set") {
      return this.#validator.params(
        [{ name: op.property.name, type: op.property.type }],
        given,
        this.#resolver(session),
        "operationParams",
      );
    }
    return {};
  }

  async #operate(session: Session, obj: KObject, opName: string, op: Operation, given: unknown): Promise<JsonValue> {
    const args = this.#args(session, op, given);
    const local = this.#localOperation(session, obj, opName, op, args);
    if (local !== undefined) {
      return local();
    }
    if (obj.worker === null) {
      throw new KurentoError("NOT_IMPLEMENTED", `Operation '${opName}' is not implemented on ${obj.cls.name}`);
    }
    return obj.worker.request("object.invoke", { objectId: obj.id, operation: opName, args });
  }

  /** Operations answered on the main thread: MediaObject basics, connect/disconnect, ServerManager. */
  #localOperation(
    session: Session,
    obj: KObject,
    opName: string,
    op: Operation,
    args: JsonObject,
  ): (() => JsonValue | Promise<JsonValue>) | undefined {
    const taken = this.hooks.operation(obj, opName, args);
    if (taken !== undefined) {
      return taken;
    }
    if (op.owner === "MediaObject") {
      return () => this.#mediaObjectOperation(obj, opName, args);
    }
    if (op.owner === "ServerManager") {
      return () => this.#serverManagerOperation(session, opName, args);
    }
    if (op.owner === "MediaElement" && (opName === "connect" || opName === "disconnect")) {
      return () => this.#connectElements(obj, opName, args);
    }
    return undefined;
  }

  #mediaObjectOperation(obj: KObject, opName: string, args: JsonObject): JsonValue {
    const str = (k: string): string => {
      const v = args[k];
      return typeof v === "string" ? v : "";
    };
    switch (opName) {
      case "getMediaPipeline": {
        return obj.pipelineId;
      }
      case "getParent": {
        return obj.parentId;
      }
      case "getId": {
        return obj.id;
      }
      case "getChildren": {
        return [...obj.children];
      }
      case "getName": {
        return obj.name;
      }
      case "setName": {
        obj.name = bounded(str("name"), MAX_NAME_CHARS, "name");
        return null;
      }
      case "getSendTagsInEvents": {
        return obj.sendTagsInEvents;
      }
      case "setSendTagsInEvents": {
        obj.sendTagsInEvents = args["sendTagsInEvents"] === true;
        return null;
      }
      case "getCreationTime": {
        return obj.creationTime;
      }
      case "addTag": {
        const key = bounded(str("key"), MAX_TAG_KEY_CHARS, "key");
        const value = bounded(str("value"), MAX_TAG_VALUE_CHARS, "value");
        if (!obj.tags.has(key) && obj.tags.size >= MAX_TAGS) {
          throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `An object holds at most ${MAX_TAGS} tags`);
        }
        obj.tags.set(key, value);
        return null;
      }
      case "removeTag": {
        obj.tags.delete(str("key"));
        return null;
      }
      case "getTag": {
        const v = obj.tags.get(str("key"));
        if (v === undefined) {
          throw new KurentoError("MEDIA_OBJECT_TAG_KEY_NOT_FOUND", "Tag key not found");
        }
        return v;
      }
      case "getTags": {
        return this.#tags(obj);
      }
      default: {
        throw new KurentoError("NOT_IMPLEMENTED", `Operation '${opName}' is not implemented`);
      }
    }
  }

  #tags(obj: KObject): JsonObject[] {
    return [...obj.tags].map(([key, value]) => ({ __module__: "kurento", __type__: "Tag", key, value }));
  }

  async #connectElements(source: KObject, opName: string, args: JsonObject): Promise<null> {
    const sinkId = typeof args["sink"] === "string" ? args["sink"] : "";
    const sink = this.objects.get(sinkId);
    if (sink === undefined) {
      throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${clip(sinkId)}' not found`);
    }
    if (sink.pipelineId !== source.pipelineId || source.worker === null) {
      throw new KurentoError("CONNECT_ERROR", "Media elements do not share pipeline");
    }
    const mt = args["mediaType"];
    await source.worker.request(opName === "connect" ? "element.connect" : "element.disconnect", {
      sourceId: source.id,
      sinkId: sink.id,
      ...(typeof mt === "string" ? { mediaType: mt as "AUDIO" | "VIDEO" | "DATA" } : {}),
      sourceDescription:
        typeof args["sourceMediaDescription"] === "string" ? args["sourceMediaDescription"] : "default",
      sinkDescription: typeof args["sinkMediaDescription"] === "string" ? args["sinkMediaDescription"] : "default",
    });
    return null;
  }

  #serverManagerOperation(session: Session, opName: string, args: JsonObject): JsonValue {
    switch (opName) {
      case "getInfo": {
        return this.info();
      }
      case "getPipelines": {
        return this.objects
          .pipelines()
          .filter((p) => this.#sees(session, p))
          .map((p) => p.id);
      }
      case "getSessions": {
        return this.sessions
          .ids()
          .filter((id) => !this.#isolated || this.sessions.get(id)?.application === session.application);
      }
      case "getMetadata": {
        return JSON.stringify({ serverId: this.serverId, workers: this.#pool.workers.length });
      }
      case "getKmd": {
        const moduleName = typeof args["moduleName"] === "string" ? args["moduleName"] : "";
        const kmd = this.kmd.kmd(moduleName);
        if (kmd === undefined) {
          throw new KurentoError("SERVER_MANAGER_ERROR_KMD_NOT_FOUND", `Module '${clip(moduleName)}' not found`);
        }
        return kmd;
      }
      case "getCpuCount": {
        return os.availableParallelism();
      }
      case "getUsedCpu": {
        // Percentage of the machine used by this process since the previous call (the interval is advisory).
        const now = performance.now();
        const usage = process.cpuUsage(this.#cpuSample.usage);
        const elapsedUs = Math.max(1, (now - this.#cpuSample.at) * 1000);
        this.#cpuSample = { usage: process.cpuUsage(), at: now };
        return Math.min(100, ((usage.user + usage.system) / elapsedUs / os.availableParallelism()) * 100);
      }
      case "getUsedMemory": {
        return Math.round(process.memoryUsage().rss / 1024);
      }
      default: {
        throw new KurentoError("NOT_IMPLEMENTED", `Operation '${opName}' is not implemented`);
      }
    }
  }

  /**
   * ServerInfo (kurento-protocol.md §7.1): modules core, elements, filters, korus and the configured ones. A module's
   * `factories` lists only what `create` accepts (issue 13): MediaPipeline, the element types the media workers
   * registered (Kurento's own and the modules', reported in each worker's `ready`), and the server-wide singletons a
   * control hook answers (SipGateway). A type the kmd describes but nobody implements is not advertised.
   */
  info(): JsonObject {
    const generationTime = new Date(0).toISOString();
    return {
      __module__: "kurento",
      __type__: "ServerInfo",
      version: this.#opts.version,
      type: "KMS",
      capabilities: ["transactions"],
      modules: this.kmd.modules.map((m) => ({
        __module__: "kurento",
        __type__: "ModuleInfo",
        name: m.name,
        version: m.version,
        generationTime,
        factories: this.kmd.factories(m.name).filter((name) => this.#creatable(name)),
      })),
    };
  }

  /** Whether `create` of concrete class `name` can succeed (see {@link info}). */
  #creatable(name: string): boolean {
    if (name === "MediaPipeline") {
      return true;
    }
    if (name === "ServerManager") {
      return false;
    }
    if (this.#pool.workers.some((w) => w.elementTypes.includes(name))) {
      return true;
    }
    const cls = this.kmd.classByType(name);
    return cls !== undefined && this.hooks.createSingleton(cls) !== undefined;
  }

  #subscribe(session: Session, params: Record<string, unknown>): JsonObject {
    const obj = this.#object(params, session);
    const type = params["type"];
    if (typeof type !== "string") {
      throw new KurentoError("SERVER_ERROR", "'type' parameter should be a string");
    }
    const event = this.kmd.canonicalEvent(obj.cls, type);
    if (event === undefined) {
      throw new KurentoError("MEDIA_OBJECT_EVENT_NOT_SUPPORTED", `Event '${clip(type)}' not supported`);
    }
    if (session.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SESSION) {
      throw new KurentoError(
        "NOT_ENOUGH_RESOURCES",
        `A session holds at most ${MAX_SUBSCRIPTIONS_PER_SESSION} subscriptions`,
      );
    }
    const sub = this.sessions.subscribe(session, obj.id, event, type);
    return { sessionId: session.id, value: sub.id };
  }

  #unsubscribe(conn: ClientConnection, params: Record<string, unknown>): JsonObject {
    const sid = params["sessionId"];
    const session = typeof sid === "string" ? this.sessions.get(sid) : undefined;
    const subId = params["subscription"];
    if (session !== undefined && this.#mayUse(conn, session) && typeof subId === "string") {
      this.sessions.unsubscribe(session, subId);
    }
    return typeof sid === "string" && session !== undefined ? { sessionId: session.id } : {};
  }

  async #release(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const id = params["object"];
    if (typeof id !== "string") {
      throw new KurentoError("SERVER_ERROR", "'object' parameter is required");
    }
    const obj = this.objects.get(id);
    if (obj?.pipelineId === null) {
      // KMS answers success and keeps the ServerManager (MediaSet only drops the sessions' references); Korus
      // says plainly that a server-wide singleton (ServerManager, SipGateway) cannot be released.
      throw new KurentoError(
        "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
        `Object '${clip(id)}' is a server singleton and cannot be released`,
      );
    }
    // Another application's object is released as an unknown id is: a no-op that reveals nothing.
    if (obj !== undefined && this.#sees(session, obj)) {
      await this.releaseObject(id);
    }
    return { sessionId: session.id };
  }

  /**
   * Releases an object and its subtree with one request to its worker, which closes the children silently and
   * answers with their final media facts (docs/closures.md). Unknown ids are not an error (KMS).
   */
  async releaseObject(id: string): Promise<void> {
    const obj = this.objects.get(id);
    // Objects outside any pipeline (ServerManager, extension singletons) live as long as the server.
    if (obj === undefined || obj.pipelineId === null) {
      return;
    }
    const worker = obj.worker !== null && !obj.worker.dead ? obj.worker : null;
    const released =
      worker === null
        ? Promise.resolve<Readonly<Record<string, FinalMedia>>>({})
        : worker.request("object.release", { objectId: obj.id }).then(
            (r) => r.final,
            (err: unknown) => {
              this.#logger.warn({ err, objectId: obj.id }, "worker release failed");
              return {};
            },
          );
    // Forgotten in the same turn, so that concurrent calls see 40101 at once.
    this.#forget(obj.id, "released", released);
    await released;
  }

  /**
   * The ids of `ids` that are not inside another of them: releasing those releases all, a pipeline with one request
   * rather than child by child (session GC, closeSession).
   */
  #topmost(ids: Iterable<string>): string[] {
    const set = new Set(ids);
    const inside = (id: string): boolean => {
      for (let p = this.objects.get(id)?.parentId ?? null; p !== null; p = this.objects.get(p)?.parentId ?? null) {
        if (set.has(p)) {
          return true;
        }
      }
      return false;
    };
    return [...set].filter((id) => !inside(id));
  }

  /** Removes an object and its subtree from the registry, with ObjectDestroyed for each. */
  #forget(
    id: string,
    reason: "released" | "worker-died",
    final: Promise<Readonly<Record<string, FinalMedia>>> = Promise.resolve({}),
  ): string[] {
    const obj = this.objects.get(id);
    const gone = this.hooks.has("objectsGone") ? [...this.#subtree(id)].map((x) => this.objects.get(x)) : [];
    const removed = this.objects.remove(id);
    if (gone.length > 0) {
      this.hooks.objectsGone(
        gone.filter((o): o is KObject => o !== undefined),
        reason,
        final,
      );
    }
    if (obj?.pipelineId === id) {
      obj.worker?.pipelines.delete(id);
    }
    for (const r of removed) {
      this.#raise(SERVER_MANAGER_ID, "ObjectDestroyed", { objectId: r }, obj?.application);
      this.sessions.objectGone(r);
    }
    return removed;
  }

  async #transaction(
    conn: ClientConnection,
    session: Session,
    params: Record<string, unknown>,
    refs: Map<number, string>,
  ): Promise<JsonObject> {
    const ops = params["operations"];
    if (!Array.isArray(ops)) {
      throw new KurentoError("MALFORMED_TRANSACTION", "'operations' should be an array");
    }
    const responses: JsonValue[] = [];
    for (let i = 0; i < ops.length; i++) {
      const op: unknown = ops[i];
      if (!isObj(op) || op["id"] !== i || typeof op["method"] !== "string") {
        throw new KurentoError("MALFORMED_TRANSACTION", `Id of request '${i}' should be '${i}'`);
      }
      try {
        const opParams = this.#substituteNewrefs(isObj(op["params"]) ? op["params"] : {}, refs) as Record<
          string,
          unknown
        >;
        opParams["sessionId"] = session.id;
        const result = await this.#execute(conn, op["method"], opParams, false, refs, true);
        if (isObj(result) && typeof result["value"] === "string") {
          refs.set(i, result["value"]);
        }
        responses.push({ id: i, jsonrpc: "2.0", result });
      } catch (err) {
        responses.push({
          id: i,
          jsonrpc: "2.0",
          error: this.#errorBody(err, String(op["method"])) as unknown as JsonObject,
        });
        break;
      }
    }
    return { sessionId: session.id, value: responses };
  }

  #substituteNewrefs(v: unknown, refs: Map<number, string>): unknown {
    if (typeof v === "string" && v.startsWith(NEWREF)) {
      const idx = Number(v.slice(NEWREF.length));
      const ref = Number.isInteger(idx) ? refs.get(idx) : undefined;
      if (ref === undefined) {
        throw new KurentoError("MALFORMED_TRANSACTION", `Reference '${clip(v)}' not found in the transaction`);
      }
      return ref;
    }
    if (Array.isArray(v)) {
      return v.map((x) => this.#substituteNewrefs(x, refs));
    }
    if (isObj(v)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.#substituteNewrefs(x, refs)]));
    }
    return v;
  }

  async #closeSession(session: Session, params: Record<string, unknown>): Promise<null> {
    const refs = this.sessions.drop(session);
    this.hooks.sessionClosed(session.id);
    if (params["release"] === true) {
      for (const id of this.#topmost(refs)) {
        await this.releaseObject(id);
      }
    }
    return null;
  }

  // ================================================================================================ events

  /** A worker raised `event` on `objectId`. */
  onWorkerEvent(objectId: string, event: string, data: JsonObject): void {
    if (this.hooks.workerEvent(objectId, event, data)) {
      return;
    }
    this.#raise(objectId, event, data);
  }

  /**
   * Sends `event` to every session subscribed to it on `objectId`. `audience`: with isolation, an event about an
   * application's object (ObjectCreated/ObjectDestroyed on the ServerManager) reaches only that application.
   */
  #raise(objectId: string, event: string, data: JsonObject, audience?: string | null): void {
    const subs = this.sessions.subscribersOf(objectId, event);
    if (subs.length === 0) {
      return;
    }
    const obj = this.objects.get(objectId);
    const base = {
      source: objectId,
      tags: obj?.sendTagsInEvents === true ? this.#tags(obj) : [],
      timestampMillis: String(Date.now()),
      type: event,
    };
    for (const sub of subs) {
      const session = this.sessions.get(sub.sessionId);
      const conn = session?.conn;
      if (conn?.open !== true) {
        continue;
      }
      if (typeof audience === "string" && this.#isolated && session?.application !== audience) {
        continue;
      }
      const payload = {
        jsonrpc: "2.0",
        method: "onEvent",
        params: {
          value: {
            object: objectId,
            type: sub.name,
            data: { ...base, ...data, ...(event === "Error" ? {} : { type: sub.name }) },
          },
        },
      };
      conn.send(JSON.stringify(payload));
    }
  }

  /** A worker released an object on its own. */
  onWorkerReleased(objectId: string): void {
    this.#forget(objectId, "released");
  }

  /** A worker died: its pipelines are gone. Subscribers get an Error event, then ObjectDestroyed. */
  onWorkerDied(index: number, pipelines: string[], reason: string): void {
    for (const pid of pipelines) {
      const pipeline = this.objects.get(pid);
      if (pipeline === undefined) {
        continue;
      }
      const ids = [...this.#subtree(pid)];
      for (const id of ids) {
        this.#raise(id, "Error", {
          description: `Media worker ${index} died (${reason}); the object was released`,
          errorCode: 40003,
          type: "MEDIA_WORKER_DIED",
        });
      }
      this.#forget(pid, "worker-died");
    }
  }

  *#subtree(id: string): Generator<string> {
    const o = this.objects.get(id);
    if (o === undefined) {
      return;
    }
    for (const c of o.children) {
      yield* this.#subtree(c);
    }
    yield id;
  }

  /** A socket closed; its session waits for a reconnection until GC. */
  onDisconnect(conn: ClientConnection): void {
    this.sessions.detach(conn);
  }

  /** One GC round (also run by the timer): a pipeline no session references goes with one request. */
  collectGarbage(): void {
    const before = this.hooks.has("sessionClosed") ? this.sessions.ids() : [];
    const orphans = this.sessions.collect((id) => this.objects.has(id) && id !== SERVER_MANAGER_ID);
    for (const sid of before) {
      if (this.sessions.get(sid) === undefined) {
        this.hooks.sessionClosed(sid);
      }
    }
    for (const id of this.#topmost(orphans)) {
      this.#logger.info({ objectId: id }, "releasing object no session references");
      void this.releaseObject(id);
    }
  }

  /** Releases every pipeline (shutdown). */
  async releaseAll(): Promise<void> {
    clearInterval(this.#gcTimer);
    await Promise.all(this.objects.pipelines().map((p) => this.releaseObject(p.id)));
  }
}

/** The server's own in-process clients (the SIP dial plan, the gateway demo relay): no application, no address. */
function inProcess(conn: ClientConnection): boolean {
  return conn.application === undefined && conn.address === undefined;
}

/**
 * The Kurento JSON-RPC methods (kurento-protocol.md §4): ping, connect, describe, create, invoke, subscribe,
 * unsubscribe, release, transaction, keepAlive, ref/unref and closeSession, with KMS's session rules (§3), error
 * codes (§5) and event delivery (§4.7).
 *
 * Objects run in media workers; this class validates every parameter against the kmd descriptors before anything
 * crosses the channel, keeps the MediaObject-level properties itself, and turns worker events into `onEvent`
 * notifications for the subscribed sessions.
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import type { JsonObject, JsonValue } from "../../media/index.js";
import type { Logger } from "../logging/logger.js";
import type { MediaWorkerHandle } from "../pool/MediaWorkerHandle.js";
import type { WorkerPool } from "../pool/WorkerPool.js";
import { KurentoError, toKurentoError, type JsonRpcErrorBody } from "./errors.js";
import type { ClassInfo, KmdRegistry, Operation } from "./kmd.js";
import { newObjectId, ObjectRegistry, SERVER_MANAGER_ID, type KObject } from "./ObjectRegistry.js";
import { SessionManager, type ClientConnection, type Session } from "./SessionManager.js";
import { ParamValidator } from "./validate.js";

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
 * Hooks by which a service of the control plane (the SIP service, src/sip) takes over Korus's own object types
 * (SipEndpoint's call control, the SipGateway singleton). Every hook is optional.
 */
export interface KurentoExtension {
  /** A `create` of `cls`: the id of an existing object to answer with (a singleton), or undefined. */
  createSingleton?(cls: ClassInfo): string | undefined;
  /** An element was created in its worker; throwing releases it and fails the `create` with that error. */
  elementCreated?(obj: KObject, ctor: JsonObject): Promise<void> | void;
  /** An operation about to run: a runner to take it over, or undefined to proceed as usual. */
  operation?(obj: KObject, opName: string, args: JsonObject): (() => JsonValue | Promise<JsonValue>) | undefined;
  /** Objects left the registry: released by a client, or gone with their media worker. */
  objectsGone?(objects: readonly KObject[], reason: "released" | "worker-died"): void;
  /** An event a worker raised on an object: true when the extension consumed it (an internal event). */
  workerEvent?(objectId: string, event: string, data: JsonObject): boolean;
}

export interface KurentoServerOptions {
  version: string;
  gcPeriodMs: number;
}

/** Methods that create a session when the request has none (kurento-protocol.md §3 rule 2). */
const SESSION_METHODS = new Set(["create", "describe", "invoke", "subscribe", "release", "transaction", "connect"]);
const NEWREF = "newref:";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class KurentoServer {
  readonly serverId = randomUUID();
  readonly kmd: KmdRegistry;
  readonly objects: ObjectRegistry;
  readonly sessions = new SessionManager();
  readonly #validator: ParamValidator;
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #opts: KurentoServerOptions;
  readonly #gcTimer: NodeJS.Timeout;
  #cpuSample = { usage: process.cpuUsage(), at: performance.now() };
  #ext: KurentoExtension | undefined;

  constructor(kmd: KmdRegistry, pool: WorkerPool, logger: Logger, opts: KurentoServerOptions) {
    this.kmd = kmd;
    this.objects = new ObjectRegistry(kmd);
    this.#validator = new ParamValidator(kmd);
    this.#pool = pool;
    this.#logger = logger.child({ ns: "kurento" });
    this.#opts = opts;
    this.#gcTimer = setInterval(() => this.collectGarbage(), opts.gcPeriodMs);
    this.#gcTimer.unref();
  }

  /** Installs the extension hooks (one extension; a later call replaces it). */
  setExtension(ext: KurentoExtension | undefined): void {
    this.#ext = ext;
  }

  /** Raises `event` on `objectId` for its subscribers, as a worker event would (used by extensions). */
  emitEvent(objectId: string, event: string, data: JsonObject): void {
    this.#raise(objectId, event, data);
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
    // Duplicate-request cache: a repeated (id, sessionId) gets the identical response.
    const sidParam = typeof params["sessionId"] === "string" ? params["sessionId"] : undefined;
    const cacheSession = sidParam !== undefined && req.id != null ? this.sessions.get(sidParam) : undefined;
    const cacheKey = `${String(req.id)}|${req.method}`;
    const cached = cacheSession?.answered.get(cacheKey);
    if (cached !== undefined) {
      return JSON.parse(cached) as RpcResponse;
    }
    let response: RpcResponse;
    try {
      const result = await this.#execute(conn, req.method, params, injected, new Map(), false);
      response = { jsonrpc: "2.0", id, result };
      if (isObj(result) && typeof result["sessionId"] === "string") {
        // Rule 3: the session in a successful result becomes the socket's session.
        this.sessions.bind(this.sessions.obtain(result["sessionId"]), conn);
      }
    } catch (err) {
      response = { jsonrpc: "2.0", id, error: this.#errorBody(err, req.method) };
    }
    if (req.id == null) {
      return null;
    }
    const sid =
      isObj(response) && "result" in response && isObj(response.result) ? response.result["sessionId"] : sidParam;
    if (typeof sid === "string" && req.method !== "ping") {
      const s = this.sessions.get(sid);
      if (s !== undefined) {
        this.sessions.rememberAnswer(s, cacheKey, JSON.stringify(response));
      }
    }
    return response;
  }

  #errorBody(err: unknown, method: string): JsonRpcErrorBody {
    const ke = toKurentoError(err);
    if (ke.kind === "UNEXPECTED_ERROR") {
      this.#logger.warn({ err, method }, "request failed unexpectedly");
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
    if (method === "keepAlive" || method === "closeSession" || method === "ref" || method === "unref") {
      session = this.#existingSession(params);
    } else if (SESSION_METHODS.has(method)) {
      session = this.sessions.obtain(typeof params["sessionId"] === "string" ? params["sessionId"] : undefined);
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
        return this.#unsubscribe(params);
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
        const obj = this.#object(params);
        if (method === "ref") {
          s.refs.add(obj.id);
        } else {
          s.refs.delete(obj.id);
        }
        return { sessionId: s.id };
      }
      case "closeSession": {
        return this.#closeSession(this.#need(session), params);
      }
      default: {
        throw new KurentoError("METHOD_NOT_FOUND", `Method not found: '${method}'`);
      }
    }
  }

  #need(session: Session | undefined): Session {
    if (session === undefined) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    return session;
  }

  #existingSession(params: Record<string, unknown>): Session {
    const sid = params["sessionId"];
    const s = typeof sid === "string" ? this.sessions.get(sid) : undefined;
    if (s === undefined) {
      throw new KurentoError("INVALID_SESSION", "Invalid session");
    }
    return s;
  }

  /** A `newref:` id outside its transaction → 40109. */
  #rejectNewref(v: unknown): void {
    if (typeof v === "string") {
      if (v.startsWith(NEWREF)) {
        throw new KurentoError(
          "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT",
          `Object '${v}' not found: newref ids are only valid inside their transaction`,
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
      if (known === undefined) {
        throw new KurentoError("INVALID_SESSION", "Invalid session");
      }
      session = known;
    } else {
      session = this.sessions.obtain();
    }
    this.sessions.bind(session, conn);
    return { sessionId: session.id, serverId: this.serverId };
  }

  #object(params: Record<string, unknown>, key = "object"): KObject {
    const id = params[key];
    if (typeof id !== "string") {
      throw new KurentoError("SERVER_ERROR", `'${key}' parameter is required`);
    }
    const obj = this.objects.get(id);
    if (obj === undefined) {
      throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${id}' not found`);
    }
    return obj;
  }

  #describe(session: Session, params: Record<string, unknown>): JsonObject {
    const obj = this.#object(params);
    session.refs.add(obj.id);
    return {
      sessionId: session.id,
      type: obj.cls.name,
      qualifiedType: obj.cls.qualifiedName,
      hierarchy: obj.cls.hierarchy,
    };
  }

  #classOf = (id: string): string | undefined => this.objects.get(id)?.cls.name;

  async #create(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const type = params["type"];
    if (typeof type !== "string") {
      throw new KurentoError("SERVER_ERROR", "'type' parameter should be a string");
    }
    const cls = this.kmd.classByType(type);
    if (cls === undefined || cls.abstract || cls.name === "ServerManager") {
      throw new KurentoError("MEDIA_OBJECT_NOT_AVAILABLE", `Factory '${type}' not found`);
    }
    // Properties are ignored, as KMS does.
    const ctor = this.#validator.params(
      cls.constructorParams,
      params["constructorParams"],
      this.#classOf,
      "constructorParams",
    );
    let id: string;
    const singleton = this.#ext?.createSingleton?.(cls);
    if (singleton !== undefined) {
      session.refs.add(singleton);
      return { sessionId: session.id, value: singleton };
    }
    if (cls.name === "MediaPipeline") {
      id = await this.#createPipeline(cls);
    } else {
      id = await this.#createElement(cls, ctor);
    }
    session.refs.add(id);
    this.#raise(SERVER_MANAGER_ID, "ObjectCreated", { object: id });
    return { sessionId: session.id, value: id };
  }

  async #createPipeline(cls: ClassInfo): Promise<string> {
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
    this.objects.add({ id, cls, pipelineId: id, parentId: null, worker });
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
    });
    if (this.#ext?.elementCreated !== undefined) {
      try {
        await this.#ext.elementCreated(obj, ctor);
      } catch (err) {
        await this.releaseObject(id);
        throw err;
      }
    }
    return id;
  }

  async #invoke(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const obj = this.#object(params);
    session.refs.add(obj.id);
    const opName = params["operation"];
    if (typeof opName !== "string") {
      throw new KurentoError("SERVER_ERROR", "'operation' parameter should be a string");
    }
    const given = params["operationParams"];
    const op = obj.cls.operations.get(opName);
    if (op === undefined) {
      const n = isObj(given) ? Object.keys(given).length : 0;
      throw new KurentoError("MALFORMED_TRANSACTION", `Method '${opName}' with ${n} parameters not found`);
    }
    const value = await this.#operate(obj, opName, op, given);
    return { sessionId: session.id, value };
  }

  #args(op: Operation, given: unknown): JsonObject {
    if (op.kind === "method") {
      return this.#validator.params(op.method.params, given, this.#classOf, "operationParams");
    }
    if (op.kind === "set") {
      return this.#validator.params(
        [{ name: op.property.name, type: op.property.type }],
        given,
        this.#classOf,
        "operationParams",
      );
    }
    return {};
  }

  async #operate(obj: KObject, opName: string, op: Operation, given: unknown): Promise<JsonValue> {
    const args = this.#args(op, given);
    const local = this.#localOperation(obj, opName, op, args);
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
    obj: KObject,
    opName: string,
    op: Operation,
    args: JsonObject,
  ): (() => JsonValue | Promise<JsonValue>) | undefined {
    const taken = this.#ext?.operation?.(obj, opName, args);
    if (taken !== undefined) {
      return taken;
    }
    if (op.owner === "MediaObject") {
      return () => this.#mediaObjectOperation(obj, opName, args);
    }
    if (op.owner === "ServerManager") {
      return () => this.#serverManagerOperation(opName, args);
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
        obj.name = str("name");
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
        obj.tags.set(str("key"), str("value"));
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
      throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${sinkId}' not found`);
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

  #serverManagerOperation(opName: string, args: JsonObject): JsonValue {
    switch (opName) {
      case "getInfo": {
        return this.info();
      }
      case "getPipelines": {
        return this.objects.pipelines().map((p) => p.id);
      }
      case "getSessions": {
        return this.sessions.ids();
      }
      case "getMetadata": {
        return JSON.stringify({ serverId: this.serverId, workers: this.#pool.workers.length });
      }
      case "getKmd": {
        const moduleName = typeof args["moduleName"] === "string" ? args["moduleName"] : "";
        const kmd = this.kmd.kmd(moduleName);
        if (kmd === undefined) {
          throw new KurentoError("SERVER_MANAGER_ERROR_KMD_NOT_FOUND", `Module '${moduleName}' not found`);
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

  /** ServerInfo (kurento-protocol.md §7.1): modules core, elements, filters and korus. */
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
        factories: this.kmd.factories(m.name),
      })),
    };
  }

  #subscribe(session: Session, params: Record<string, unknown>): JsonObject {
    const obj = this.#object(params);
    const type = params["type"];
    if (typeof type !== "string") {
      throw new KurentoError("SERVER_ERROR", "'type' parameter should be a string");
    }
    const event = this.kmd.canonicalEvent(obj.cls, type);
    if (event === undefined) {
      throw new KurentoError("MEDIA_OBJECT_EVENT_NOT_SUPPORTED", `Event '${type}' not supported`);
    }
    const sub = this.sessions.subscribe(session, obj.id, event, type);
    return { sessionId: session.id, value: sub.id };
  }

  #unsubscribe(params: Record<string, unknown>): JsonObject {
    const sid = params["sessionId"];
    const session = typeof sid === "string" ? this.sessions.get(sid) : undefined;
    const subId = params["subscription"];
    if (session !== undefined && typeof subId === "string") {
      this.sessions.unsubscribe(session, subId);
    }
    return typeof sid === "string" ? { sessionId: sid } : {};
  }

  async #release(session: Session, params: Record<string, unknown>): Promise<JsonObject> {
    const id = params["object"];
    if (typeof id !== "string") {
      throw new KurentoError("SERVER_ERROR", "'object' parameter is required");
    }
    await this.releaseObject(id);
    return { sessionId: session.id };
  }

  /** Releases an object and its subtree; unknown ids are not an error (KMS). */
  async releaseObject(id: string): Promise<void> {
    const obj = this.objects.get(id);
    // Objects outside any pipeline (ServerManager, extension singletons) live as long as the server.
    if (obj === undefined || obj.pipelineId === null) {
      return;
    }
    // Forget first, so that concurrent calls see 40101 at once; then release in the worker.
    this.#forget(obj.id);
    if (obj.worker !== null && !obj.worker.dead) {
      try {
        await obj.worker.request("object.release", { objectId: obj.id });
      } catch (err) {
        this.#logger.warn({ err, objectId: obj.id }, "worker release failed");
      }
    }
  }

  /** Removes an object and its subtree from the registry, with ObjectDestroyed for each. */
  #forget(id: string, reason: "released" | "worker-died" = "released"): string[] {
    const obj = this.objects.get(id);
    const gone = this.#ext?.objectsGone === undefined ? [] : [...this.#subtree(id)].map((x) => this.objects.get(x));
    const removed = this.objects.remove(id);
    if (gone.length > 0) {
      this.#ext?.objectsGone?.(
        gone.filter((o): o is KObject => o !== undefined),
        reason,
      );
    }
    if (obj?.pipelineId === id) {
      obj.worker?.pipelines.delete(id);
    }
    for (const r of removed) {
      this.#raise(SERVER_MANAGER_ID, "ObjectDestroyed", { objectId: r });
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
        throw new KurentoError("MALFORMED_TRANSACTION", `Reference '${v}' not found in the transaction`);
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
    if (params["release"] === true) {
      for (const id of refs) {
        await this.releaseObject(id);
      }
    }
    return null;
  }

  // ================================================================================================ events

  /** A worker raised `event` on `objectId`. */
  onWorkerEvent(objectId: string, event: string, data: JsonObject): void {
    if (this.#ext?.workerEvent?.(objectId, event, data) === true) {
      return;
    }
    this.#raise(objectId, event, data);
  }

  /** Sends `event` to every session subscribed to it on `objectId`. */
  #raise(objectId: string, event: string, data: JsonObject): void {
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
      const conn = this.sessions.get(sub.sessionId)?.conn;
      if (conn?.open !== true) {
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
    this.#forget(objectId);
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

  /** One GC round (also run by the timer). */
  collectGarbage(): void {
    const orphans = this.sessions.collect((id) => this.objects.has(id) && id !== SERVER_MANAGER_ID);
    for (const id of orphans) {
      // Children go with their pipeline; skip ids already gone.
      if (this.objects.has(id)) {
        this.#logger.info({ objectId: id }, "releasing object no session references");
        void this.releaseObject(id);
      }
    }
  }

  /** Releases every pipeline (shutdown). */
  async releaseAll(): Promise<void> {
    clearInterval(this.#gcTimer);
    await Promise.all(this.objects.pipelines().map((p) => this.releaseObject(p.id)));
  }
}

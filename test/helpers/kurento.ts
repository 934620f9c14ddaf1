/**
 * kurento-client 7.3.0 (installed in test/kurento-client, see its package.json) loaded into the ESM tests, with
 * the small typed surface the interop tests use, plus helpers that follow the tutorials' flow.
 *
 * kurento-client's promise-style calls swallow server errors (kurento-protocol.md §11): every helper here uses
 * the callback style through {@link cb}, so an error reply rejects.
 */
import { createRequire } from "node:module";
import type { CandidateInit, WeriftPeer } from "./weriftPeer.js";

export interface KurentoError extends Error {
  code?: number;
  data?: { type?: string };
}

export type Callback<T> = (err: KurentoError | null | undefined, value: T) => void;

export interface KEvent {
  type: string;
  source: unknown;
  timestampMillis?: string;
  tags?: unknown[];
  [key: string]: unknown;
}

export interface MediaObject {
  readonly id: string;
  on(event: string, listener: (ev: KEvent) => void): this;
  once(event: string, listener: (ev: KEvent) => void): this;
  removeAllListeners(event?: string): this;
  release(callback: Callback<undefined>): void;
  getName(callback: Callback<string>): void;
  /** kurento-core's raw invoke (any operation name). */
  _invoke(
    transaction: undefined,
    operation: string,
    params: Record<string, unknown> | undefined,
    callback: Callback<unknown>,
  ): void;
}

export interface MediaElement extends MediaObject {
  connect(sink: MediaElement, callback: Callback<undefined>): void;
  disconnect(sink: MediaElement, callback: Callback<undefined>): void;
  isMediaFlowingOut(mediaType: string, callback: Callback<boolean>): void;
}

export interface WebRtcEndpoint extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
  gatherCandidates(callback: Callback<undefined>): void;
  addIceCandidate(candidate: unknown, callback: Callback<undefined>): void;
}

export interface MediaPipeline extends MediaObject {
  create(type: string, callback: Callback<MediaElement>): void;
  create(type: string, params: Record<string, unknown>, callback: Callback<MediaElement>): void;
}

export interface ServerManager extends MediaObject {
  getPipelines(callback: Callback<MediaPipeline[]>): void;
  getSessions(callback: Callback<string[]>): void;
}

export interface KurentoClient {
  readonly sessionId: string | undefined;
  create(type: "MediaPipeline", callback: Callback<MediaPipeline>): void;
  getMediaobjectById(id: string, callback: Callback<MediaObject>): void;
  getServerManager(callback: Callback<ServerManager>): void;
  close(): void;
  on(event: "reconnected", listener: (sameSession: boolean) => void): this;
  on(event: "disconnect" | "connected" | "disconnected", listener: () => void): this;
  once(event: "reconnected", listener: (sameSession: boolean) => void): this;
}

export interface KurentoModule {
  (uri: string, options: Record<string, unknown>, callback: Callback<KurentoClient>): KurentoClient;
  getComplexType(name: string): (value: Record<string, unknown>) => unknown;
}

const require = createRequire(new URL("../kurento-client/package.json", import.meta.url));

/** The kurento-client module, from test/kurento-client/node_modules. */
export const kurento = require("kurento-client") as KurentoModule;

/** Runs a callback-style kurento-client call as a promise that rejects on an error reply. */
export function cb<T>(call: (done: Callback<T>) => void, timeoutMs = 15_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kurento-client call timed out after ${timeoutMs} ms`)), timeoutMs);
    call((err, value) => {
      clearTimeout(timer);
      if (err !== null && err !== undefined) {
        reject(err);
      } else {
        resolve(value);
      }
    });
  });
}

/** The error of a call expected to fail (rejects if it succeeds). */
export async function cbError(call: (done: Callback<unknown>) => void, timeoutMs = 15_000): Promise<KurentoError> {
  try {
    await cb(call, timeoutMs);
  } catch (err) {
    return err as KurentoError;
  }
  throw new Error("the call succeeded, an error was expected");
}

export interface Teardownable {
  teardown(fn: () => unknown): void;
}

/** A connected client. Not the client itself: it is a thenable, which any promise would unwrap into a copy. */
export interface ClientHandle {
  client: KurentoClient;
  /** The client's current session id (live). */
  readonly sessionId: string | undefined;
}

/**
 * Connects tutorial-style (the callback fires after ping, describe and getInfo) and closes the client on teardown.
 */
export async function connectClient(
  t: Teardownable,
  url: string,
  options: Record<string, unknown> = {},
): Promise<ClientHandle> {
  // duplicates_timeout: kurento-jsonrpc keeps a 20 s timer per answered request, which would hold the test
  // process open long after the last test. The instance returned by the constructor is kept: the one handed to
  // the callback (like anything a promise resolves to, since the client is a thenable) is a "disguised" copy
  // without the live `sessionId` property.
  let client: KurentoClient | undefined;
  await cb<KurentoClient>((done) => {
    client = kurento(url, { duplicates_timeout: 500, ...options }, done);
  }, 20_000);
  if (client === undefined) {
    throw new Error("kurento-client constructor returned nothing");
  }
  const c = client;
  t.teardown(() => c.close());
  return {
    client: c,
    get sessionId() {
      return c.sessionId;
    },
  };
}

export async function createPipeline(client: KurentoClient): Promise<MediaPipeline> {
  return cb<MediaPipeline>((done) => client.create("MediaPipeline", done));
}

export async function createWebRtc(pipeline: MediaPipeline): Promise<WebRtcEndpoint> {
  return (await cb<MediaElement>((done) => pipeline.create("WebRtcEndpoint", done))) as WebRtcEndpoint;
}

export function release(obj: MediaObject): Promise<undefined> {
  return cb<undefined>((done) => obj.release(done));
}

export function connect(src: MediaElement, sink: MediaElement): Promise<undefined> {
  return cb<undefined>((done) => src.connect(sink, done));
}

/** Sends a browser-side candidate the way the tutorials do (getComplexType('IceCandidate')). */
export function addCandidate(ep: WebRtcEndpoint, c: CandidateInit): Promise<undefined> {
  const candidate = kurento.getComplexType("IceCandidate")({ ...c });
  return cb<undefined>((done) => ep.addIceCandidate(candidate, done));
}

/**
 * The tutorials' negotiation with a {@link WeriftPeer} whose `onLocalCandidate` calls {@link addCandidate} on
 * `ep` (so browser candidates reach the server before processOffer, as in hello-world): subscribe
 * IceCandidateFound → processOffer → gatherCandidates → set the answer on the peer. Resolves once the peer is
 * connected.
 */
export async function negotiate(ep: WebRtcEndpoint, peer: WeriftPeer, offer: string): Promise<string> {
  ep.on("IceCandidateFound", (ev) => {
    const c = ev["candidate"] as CandidateInit;
    void peer.addRemoteCandidate(c).catch(() => undefined);
  });
  const answer = await cb<string>((done) => ep.processOffer(offer, done));
  await cb<undefined>((done) => ep.gatherCandidates(done));
  await peer.setAnswer(answer);
  await peer.waitConnected(15_000);
  return answer;
}

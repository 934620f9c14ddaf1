// The raw JSON-RPC client lives in bench/lib so benchmarks can use it too (nothing may import test/).
import type { Test } from "tap";
import { RpcClient } from "../../bench/lib/RpcClient.js";

export { RpcClient, type RpcMessage } from "../../bench/lib/RpcClient.js";

/** An application session on a running server: its client, its first pipeline, and a call bound to its session. */
export interface AppSession {
  app: RpcClient;
  sessionId: string;
  pipeline: string;
  /** `app.value(method, params)` with this session's id. */
  readonly call: (method: string, params: Record<string, unknown>) => Promise<unknown>;
}

/** Opens a client on `url` (closed at teardown) and creates a MediaPipeline, whose reply gives the session id. */
export async function openAppSession(t: Test, url: string): Promise<AppSession> {
  const app = await RpcClient.open(url);
  t.teardown(() => app.close());
  const first = await app.call("create", { type: "MediaPipeline", constructorParams: {} });
  const sessionId = first.result?.["sessionId"] as string;
  const call = (method: string, params: Record<string, unknown>): Promise<unknown> =>
    app.value(method, { ...params, sessionId });
  return { app, sessionId, pipeline: String(first.result?.["value"]), call };
}

/**
 * What the JSON-RPC server hands each request to (the Kurento dispatcher). Its own file so that users of the type
 * (the gateway demo, the in-process client) need not import the server, which imports the demo (no import cycle).
 */
import type { RpcRequest, RpcResponse } from "../kurento/KurentoServer.js";
import type { ClientConnection } from "../kurento/SessionManager.js";

export interface RpcHandler {
  handle(conn: ClientConnection, req: RpcRequest): Promise<RpcResponse | null>;
  onDisconnect(conn: ClientConnection): void;
}

/**
 * A TCP relay on 127.0.0.1 between a client and a server, so a test can cut live connections abruptly (both
 * sockets destroyed, no WebSocket close frame) as if the network or the server had dropped them. New connections
 * keep being accepted unless {@link TcpProxy.refuse} is set.
 */
import net from "node:net";

export interface TcpProxy {
  port: number;
  /** Live client connections. */
  readonly connections: number;
  /** Total connections accepted so far. */
  readonly accepted: number;
  /** When true, new connections are destroyed at once. */
  refuse: boolean;
  /** Destroys every live connection (both sides). Returns how many were cut. */
  dropAll: () => number;
  close: () => Promise<void>;
}

export function startTcpProxy(targetPort: number, targetHost = "127.0.0.1"): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    if (proxy.refuse) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: targetHost, port: targetPort });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const proxy: TcpProxy = {
    port: 0,
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    refuse: false,
    dropAll: () => {
      const n = pairs.size;
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.refuse = true;
        proxy.dropAll();
        server.close(() => resolve());
      }),
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const addr = server.address();
      proxy.port = typeof addr === "object" && addr !== null ? addr.port : 0;
      resolve(proxy);
    });
  });
}

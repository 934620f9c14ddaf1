/**
 * The Kurento tutorials' architecture in miniature, for the headless-browser test: a Node application server that
 * serves index.html and talks to the page over a WebSocket (`/ws`), and drives Korus with kurento-client 7.3.0
 * exactly like the hello-world Node tutorial (one MediaPipeline + WebRtcEndpoint per page, loopback
 * `webRtc.connect(webRtc)`, candidates queued until the endpoint exists, processOffer, gatherCandidates).
 *
 * Page → app messages: `{id:"start", sdpOffer}`, `{id:"onIceCandidate", candidate}`, `{id:"stop"}`.
 * App → page messages: `{id:"startResponse", sdpAnswer}`, `{id:"iceCandidate", candidate}`, `{id:"error", message}`.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import {
  addCandidate,
  cb,
  connect,
  createPipeline,
  createWebRtc,
  kurento,
  release,
  type KurentoClient,
  type MediaPipeline,
  type WebRtcEndpoint,
} from "../../helpers/kurento.js";
import type { CandidateInit } from "../../helpers/weriftPeer.js";

export interface AppServer {
  url: string;
  /** Events the app saw on the endpoints, e.g. "IceComponentStateChanged:READY". */
  readonly log: string[];
  close: () => Promise<void>;
}

const INDEX = readFileSync(new URL("index.html", import.meta.url), "utf8");

interface PageSession {
  pipeline?: MediaPipeline;
  endpoint?: WebRtcEndpoint;
  queued: CandidateInit[];
}

export async function startApp(korusUrl: string): Promise<AppServer> {
  const log: string[] = [];
  let client: KurentoClient | undefined;
  await cb<KurentoClient>((done) => {
    client = kurento(korusUrl, { duplicates_timeout: 500 }, done);
  }, 20_000);
  const kc = client!;

  const http1 = http.createServer((req, res) => {
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(INDEX);
    } else {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ server: http1, path: "/ws" });
  const sessions = new Set<PageSession>();

  wss.on("connection", (ws: WebSocket) => {
    const s: PageSession = { queued: [] };
    sessions.add(s);
    const send = (m: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) {
        ws.send(JSON.stringify(m));
      }
    };
    const stop = async (): Promise<void> => {
      const p = s.pipeline;
      s.pipeline = undefined;
      s.endpoint = undefined;
      if (p !== undefined) {
        await release(p).catch(() => undefined);
      }
    };
    const start = async (sdpOffer: string): Promise<void> => {
      const pipeline = await createPipeline(kc);
      s.pipeline = pipeline;
      const ep = await createWebRtc(pipeline);
      for (const c of s.queued.splice(0)) {
        await addCandidate(ep, c);
      }
      s.endpoint = ep;
      ep.on("IceCandidateFound", (ev) => send({ id: "iceCandidate", candidate: ev["candidate"] }));
      for (const type of ["IceComponentStateChanged", "MediaFlowInStateChanged", "MediaFlowOutStateChanged"]) {
        ep.on(type, (ev) => {
          const str = (v: unknown): string => (typeof v === "string" ? v : "");
          log.push(`${type}:${str(ev["state"])}:${str(ev["mediaType"])}`);
        });
      }
      await connect(ep, ep);
      const sdpAnswer = await cb<string>((done) => ep.processOffer(sdpOffer, done));
      send({ id: "startResponse", sdpAnswer });
      await cb<undefined>((done) => ep.gatherCandidates(done));
    };
    ws.on("message", (data) => {
      let msg: { id?: string; sdpOffer?: string; candidate?: CandidateInit };
      try {
        msg = JSON.parse(
          Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8"),
        ) as typeof msg;
      } catch {
        return;
      }
      switch (msg.id) {
        case "start":
          start(msg.sdpOffer ?? "").catch((err: unknown) => {
            log.push(`start failed: ${String(err)}`);
            send({ id: "error", message: String(err) });
          });
          break;
        case "onIceCandidate":
          if (msg.candidate !== undefined) {
            if (s.endpoint === undefined) {
              s.queued.push(msg.candidate);
            } else {
              addCandidate(s.endpoint, msg.candidate).catch((err: unknown) => log.push(`candidate: ${String(err)}`));
            }
          }
          break;
        case "stop":
          void stop();
          break;
        default:
          break;
      }
    });
    ws.on("close", () => {
      sessions.delete(s);
      void stop();
    });
  });

  await new Promise<void>((resolve, reject) => {
    http1.once("error", reject);
    http1.listen({ host: "127.0.0.1", port: 0 }, resolve);
  });
  const addr = http1.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    log,
    close: async () => {
      for (const c of wss.clients) {
        c.terminate();
      }
      await Promise.all(
        [...sessions].map(async (s) =>
          s.pipeline === undefined ? undefined : release(s.pipeline).catch(() => undefined),
        ),
      );
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http1.close(() => r()));
      kc.close();
    },
  };
}

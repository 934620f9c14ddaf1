/**
 * Korus entry point: load and validate the configuration, start the media workers and the Kurento JSON-RPC
 * server, and shut down gracefully on SIGTERM/SIGINT (release every pipeline, close listeners, stop workers).
 *
 *   node dist/src/main.js [--config FILE]
 */
import { mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CompiledHttpPolicy, MEDIA_WORKER_URL } from "../media/index.js";
import { CdrService, cdrServiceConfig, HangupSide } from "./cdr/index.js";
import { recordingCdrHooks, RecordingLinks } from "./cdr/recordingCdr.js";
import { webrtcCdrHooks } from "./cdr/webrtcCdr.js";
import { configPathFromArgs, loadConfigDocument } from "./config/load.js";
import { withLoopbackFallback } from "./config/networkFallback.js";
import { ConfigError, type KorusConfig } from "./config/schema.js";
import { KurentoServer } from "./kurento/KurentoServer.js";
import {
  configureStart,
  korusModule,
  loadControlEntries,
  ModuleError,
  resolveModules,
  workerModules,
  type ModuleDefinition,
} from "./modules/index.js";
import { createRootLogger, type Logger } from "./logging/logger.js";
import { WorkerPool } from "./pool/WorkerPool.js";
import { consoleRoute } from "./admin/consoleRoute.js";
import { monitorAuth, startMetrics } from "./metrics/index.js";
import { adminRoute } from "./rpc/adminRoute.js";
import { resolveAuth, TokenAuth } from "./rpc/auth.js";
import { RecordingService } from "./recording/RecordingService.js";
import { JsonRpcServer } from "./rpc/JsonRpcServer.js";
import { SipService } from "./sip/SipService.js";

/** The name the WebRTC legs' CDR hooks carry in the hook lists (they belong to no loadable module). */
const WEBRTC_CDR_HOOKS = "korus.cdr";
/** The hooks that fill the CDR `recording` column from RecorderEndpoint connections (src/cdr/recordingCdr.ts). */
const RECORDING_CDR_HOOKS = "korus.recording-cdr";

/** The project root, whether running from src/ (tests) or dist/src/ (built). */
const ROOT = new URL("../", import.meta.url).pathname.endsWith("/dist/")
  ? new URL("../../", import.meta.url)
  : new URL("../", import.meta.url);

export interface RunningServer {
  config: KorusConfig;
  kurento: KurentoServer;
  rpc: JsonRpcServer;
  pool: WorkerPool;
  port: number;
  /** The SIP service (config `sip.enabled`), or undefined. */
  sip: SipService | undefined;
  /** The CDR service (config `cdr.enabled`), or undefined. */
  cdr: CdrService | undefined;
  /** The durable side of recording: recovery, upload, "recording ready" (src/recording). */
  recording: RecordingService;
  stop(): Promise<void>;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL("package.json", ROOT)), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/**
 * Starts a Korus server from a validated configuration. `configured`: the `modules:` entries already read with their
 * sections' values (configureStart); by default they are read from `config`, their sections taking their defaults.
 */
export async function startServer(
  config: KorusConfig,
  logger: Logger,
  workerScript: URL = MEDIA_WORKER_URL,
  configured: readonly ModuleDefinition[] = configureStart(config).modules,
): Promise<RunningServer> {
  mkdirSync(config.data.dir, { recursive: true });
  // File media and recordings are confined to these folders (media/files/confine.ts); relative to data.dir.
  const mediaRoots = config.files.mediaRoots.map((r) => path.resolve(config.data.dir, r));
  const recordingsRoot = path.resolve(config.data.dir, config.files.recordingsRoot);
  // The default roots live in data.dir: create them, so `npm start` can play a file dropped into data/media. A root
  // the operator named outside data.dir is theirs to create.
  for (const root of [...mediaRoots, recordingsRoot]) {
    if (!path.relative(path.resolve(config.data.dir), root).startsWith("..")) {
      mkdirSync(root, { recursive: true });
    }
  }
  // Read before anything starts: a missing certificate fails start-up with nothing to clean up.
  const tls =
    config.server.tlsCertFile === ""
      ? undefined
      : { cert: readFileSync(config.server.tlsCertFile), key: readFileSync(config.server.tlsKeyFile) };
  // Recordings a crash interrupted are finalised before any worker can start a new one (docs/recording.md).
  const late: { kurento?: KurentoServer; cdr?: CdrService } = {};
  const recording = new RecordingService({
    root: recordingsRoot,
    scanMs: config.recording.scanMs,
    toolTimeoutMs: config.recording.toolTimeoutMs,
    upload: config.recording.upload,
    policy: new CompiledHttpPolicy(config.httpMedia),
    ready: { recordingReady: (r) => late.cdr?.recordingReady(r) ?? false },
    log: logger.child({ ns: "recording" }),
  });
  await recording.recoverAll();
  // Korus's own module first, then the configured ones; a module that cannot load stops start-up here, naming it.
  const { modules, kmd } = resolveModules([korusModule(workerScript)], configured);
  const workers = config.media.workers === 0 ? os.availableParallelism() : config.media.workers;
  // The pool's callbacks reach the Kurento server, which needs the started pool: a late-bound reference (`late`).
  const pool = new WorkerPool(
    {
      workers,
      script: workerScript,
      base: {
        logLevel: config.log.level,
        webrtc: withLoopbackFallback(config.webrtc, logger),
        flowTimeoutMs: config.media.flowTimeoutMs,
        loadReportMs: config.media.loadReportMs,
        metrics: config.metrics.enabled,
        modules: workerModules(modules),
        mediaAccess: {
          mediaRoots,
          recordingsRoot,
          httpAllowHosts: config.httpMedia.allowHosts,
          httpAllowNetworks: config.httpMedia.allowNetworks,
        },
      },
      rtpPortMin: config.rtp.portMin,
      rtpPortMax: config.rtp.portMax,
      requestTimeoutMs: config.kurento.workerRequestTimeoutMs,
    },
    logger,
    {
      onEvent: (id, ev, data) => late.kurento?.onWorkerEvent(id, ev, data),
      onReleased: (id) => late.kurento?.onWorkerReleased(id),
      onWorkerDied: (index, pipelines, reason) => {
        // SIP legs of the dead worker end with BYE + Reason Q.850 41 (the SIP service's objectsGone hook); their
        // CDRs, and the WebRTC ones, are ended there too.
        late.kurento?.onWorkerDied(index, pipelines, reason);
        // Its recordings are finalised now (their threads are no longer among the live workers').
        void recording.workerDied(new Set(pool.workers.filter((w) => !w.dead).map((w) => w.threadId)));
      },
    },
  );
  await pool.start();
  const serverVersion = version();
  const k = new KurentoServer(kmd, pool, logger, {
    version: serverVersion,
    gcPeriodMs: config.kurento.gcPeriodMs,
    isolation: config.kurento.isolation,
    maxSessionsPerConnection: config.kurento.maxSessionsPerConnection,
    maxSessionsPerAddress: config.kurento.maxSessionsPerAddress,
  });
  late.kurento = k;
  const auth = resolveAuth(config.kurento.auth, config.server.host, config.kurento.tokens);
  if (auth.exposed) {
    logger.warn(
      { host: config.server.host, port: config.server.port, auth: config.kurento.auth },
      "SECURITY: the Kurento endpoint listens beyond loopback WITHOUT authentication: anyone who reaches this port " +
        "can create, use and release media objects. Set kurento.tokens (and kurento.auth: tokens) or bind server.host to 127.0.0.1",
    );
  }

  const rpc = new JsonRpcServer(
    {
      host: config.server.host,
      port: config.server.port,
      path: config.kurento.path,
      maxFrameBytes: config.server.maxFrameBytes,
      demo: config.demo.enabled && { allowRemote: config.demo.allowRemote },
      auth: new TokenAuth(auth.mode, config.kurento.tokens),
      monitorAuth: monitorAuth(config),
      ...(tls === undefined ? {} : { tls }),
      maxConnections: config.server.maxConnections,
      maxConnectionsPerAddress: config.server.maxConnectionsPerAddress,
    },
    k,
    logger,
  );
  if (config.admin.enabled) {
    rpc.route(adminRoute(pool));
  }
  const cdr = config.cdr.enabled ? new CdrService(cdrServiceConfig(config), logger.child({ ns: "cdr" })) : undefined;
  late.cdr = cdr;
  recording.start();
  // The control-plane hooks: WebRTC legs' CDRs (with or without SIP), then the SIP service's (module "korus"), then
  // the modules'.
  if (cdr !== undefined) {
    k.hooks.add(WEBRTC_CDR_HOOKS, webrtcCdrHooks(cdr.recorder));
    // WebRTC legs are keyed by their element id; a SipEndpoint's leg by its own id, found by the element's.
    const legOf = (id: string): string | undefined => (cdr.recorder.has(id) ? id : cdr.recorder.legOfElement(id));
    k.hooks.add(RECORDING_CDR_HOOKS, recordingCdrHooks(new RecordingLinks(cdr.recorder), legOf));
  }
  let sip: SipService | undefined;
  try {
    sip = config.sip.enabled
      ? await SipService.start({ config: config.sip, kurento: k, logger, cdr: cdr?.recorder })
      : undefined;
    // The modules' control hooks join the SIP service's (module "korus") in the same lists, in module order.
    await loadControlEntries(modules, k, logger);
    for (const route of k.hooks.routes()) {
      rpc.route(route);
    }
    await k.hooks.start();
  } catch (err) {
    await sip?.stop();
    await pool.close();
    await recording.stop();
    await cdr?.close();
    throw err;
  }
  if (config.admin.enabled && config.admin.token !== "") {
    const { token, allowNetworks } = config.admin;
    const live = { pool, kurento: k, sip, cdr, recordingsRoot, version: serverVersion, logger };
    rpc.route(consoleRoute({ ...live, token, allowNetworks }), { ownAuth: true });
  } else if (config.admin.enabled) {
    logger.warn("the admin console at / is off: set admin.token to serve it");
  }
  startMetrics({ config, rpc, kurento: k, pool, sip, cdr });
  const address = await rpc.listen();
  rpc.setReady(() => ({
    version: serverVersion,
    serverId: k.serverId,
    workers: pool.workers.filter((w) => !w.dead).length,
    pipelines: k.objects.pipelines().length,
    sessions: k.sessions.size,
    uptimeSeconds: Math.round(process.uptime()),
    ...(sip === undefined
      ? {}
      : { sip: { pendingCalls: sip.pendingCalls, trunks: sip.trunkStates(), stats: sip.stats() } }),
  }));
  logger.info(
    {
      port: address.port,
      host: config.server.host,
      path: config.kurento.path,
      workers,
      sipPort: sip?.port,
      auth: auth.mode,
      tls: tls !== undefined,
    },
    "korus ready",
  );
  let stopping: Promise<void> | undefined;
  return {
    config,
    kurento: k,
    rpc,
    pool,
    port: address.port,
    sip,
    cdr,
    recording,
    stop: () => {
      stopping ??= (async () => {
        logger.info("shutting down: ending calls, releasing pipelines");
        await k.hooks.shutdown();
        k.hooks.remove(WEBRTC_CDR_HOOKS); // open WebRTC legs end as `shutdown` below, like SIP legs
        await sip?.stop();
        await k.releaseAll();
        await rpc.close();
        await pool.close();
        await recording.stop();
        if (cdr !== undefined) {
          // Every leg that ended above has its CDR already: a released element's final stats came with the release
          // response, a hung-up call's from a request posted before the releases (docs/closures.md). Close the rest.
          cdr.recorder.endAll({ hangupSide: HangupSide.System, endReason: "shutdown" });
          await cdr.close();
        }
        logger.info("shutdown complete");
      })();
      return stopping;
    },
  };
}

/** `korus start [--config FILE]` (src/cli.ts) and `node dist/src/main.js`: runs the server until SIGTERM/SIGINT. */
export async function runServer(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  let config: KorusConfig;
  let modules: readonly ModuleDefinition[];
  try {
    const file = configPathFromArgs(argv, fileURLToPath(new URL("config/default.yaml", ROOT)));
    // The order of docs/configuration.md: the document, its modules and their sections, then every key validated.
    ({ config, modules } = configureStart(loadConfigDocument(file)));
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ModuleError) {
      process.stderr.write(`korus: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createRootLogger(config.log.level);
  process.on("uncaughtException", (err) => {
    logger.fatal({ err }, "uncaught exception");
  });
  process.on("unhandledRejection", (reason) => {
    logger.error({ reason: String(reason) }, "unhandled rejection");
  });
  let server: RunningServer;
  try {
    server = await startServer(config, logger, MEDIA_WORKER_URL, modules);
  } catch (err) {
    logger.fatal({ err }, "start-up failed");
    logger.flush();
    process.exit(1);
  }
  const onSignal = (signal: string): void => {
    logger.info({ signal }, "signal received");
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    server.stop().then(
      () => {
        logger.flush();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  void runServer();
}

/**
 * Korus's own module "korus": SipEndpoint and SipGateway. It enters through the same door as a third party's:
 * its descriptor (korusKmd.ts) goes to the KmdRegistry with the others, every media worker imports its worker entry
 * (media/elements/sipModule.ts, which registers SipEndpoint), and the SIP service adds its control hooks to the
 * hook lists under the name "korus" when SIP is enabled.
 */
import { korusModuleWorkerUrl } from "../../media/index.js";
import { KORUS_KMD } from "../kurento/korusKmd.js";
import type { ModuleDefinition } from "./manifest.js";

/** The "korus" module, its worker entry next to the media worker script `workerScript`. */
export function korusModule(workerScript: URL): ModuleDefinition {
  return {
    name: KORUS_KMD.name,
    source: "built-in",
    kmd: KORUS_KMD,
    worker: korusModuleWorkerUrl(workerScript).href,
    control: undefined,
    dependencies: ["core", "elements"],
  };
}

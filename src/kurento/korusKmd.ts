/**
 * Korus's own interface descriptor, in the kmd.json format of Kurento's modules, module name "korus".
 *
 * It is loaded by the same machinery as Kurento's descriptors (kmd.ts), so `getInfo`, `getKmd("korus")`,
 * `describe`, parameter validation and `subscribe` know its types. Types are added here as Korus grows
 * (SipEndpoint and the SIP gateway land with the SIP issues).
 */
import type { KmdModule } from "./kmd.js";

export const KORUS_KMD: KmdModule = {
  name: "korus",
  version: "0.1.0",
  kurentoVersion: "^7.3.0",
  imports: [{ name: "core", version: "^7.3.0", mavenVersion: "[7.3.0,8.0.0-SNAPSHOT)", npmVersion: ">=7.3.0 <8.0.0" }],
  code: {
    api: { js: { nodeName: "kurento-module-korus", npmDescription: "Korus extensions to the Kurento API" } },
  },
  remoteClasses: [],
  complexTypes: [],
  events: [],
};

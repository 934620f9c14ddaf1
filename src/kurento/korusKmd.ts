/**
 * Korus's own interface descriptor, in the kmd.json format of Kurento's modules, module name "korus".
 *
 * It is loaded by the same machinery as Kurento's descriptors (kmd.ts), so `getInfo`, `getKmd("korus")`,
 * `describe`, parameter validation and `subscribe` know its types. Types are added here as Korus grows
 * (SipEndpoint and the SIP gateway land with the SIP issues). `extensions` adds Korus methods, constructor
 * parameters and events to classes Kurento describes (see KmdClassExtension).
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
  events: [
    {
      name: "DtmfReceived",
      extends: "Media",
      properties: [
        { name: "digit", type: "String" },
        { name: "durationMs", type: "int" },
      ],
    },
  ],
  extensions: [
    {
      // RtpEndpoint (Kurento elements): RFC 4733 DTMF both ways, and Korus's RTP settings.
      class: "RtpEndpoint",
      constructorParams: [
        { name: "mediaTimeoutMs", type: "int", optional: true, defaultValue: 30000 },
        { name: "rtcpIntervalMs", type: "int", optional: true, defaultValue: 5000 },
        { name: "keyLifetime", type: "double", optional: true },
      ],
      methods: [
        {
          name: "sendDtmf",
          params: [
            { name: "digits", type: "String" },
            { name: "durationMs", type: "int", optional: true, defaultValue: 100 },
            { name: "gapMs", type: "int", optional: true, defaultValue: 50 },
          ],
        },
      ],
      events: ["DtmfReceived"],
    },
  ],
};

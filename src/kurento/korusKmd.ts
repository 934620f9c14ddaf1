/**
 * Korus's own interface descriptor, in the kmd.json format of Kurento's modules, module name "korus".
 *
 * It is the descriptor of Korus's built-in module "korus" (src/modules/builtin.ts), loaded through the module door
 * like a third party's (docs/modules.md), so `getInfo`, `getKmd("korus")`, `describe`, parameter validation and
 * `subscribe` know its types. Types are added here as Korus grows
 * (SipEndpoint and the SIP gateway land with the SIP issues). `extensions` adds Korus methods, constructor
 * parameters and events to classes Kurento describes (see KmdClassExtension).
 */
// No type import of kmd.ts (it imports this file): KmdRegistry.load() checks the shape where it takes it.
export const KORUS_KMD = {
  name: "korus",
  version: "0.1.0",
  kurentoVersion: "^7.3.0",
  imports: [{ name: "core", version: "^7.3.0", mavenVersion: "[7.3.0,8.0.0-SNAPSHOT)", npmVersion: ">=7.3.0 <8.0.0" }],
  code: {
    api: { js: { nodeName: "kurento-module-korus", npmDescription: "Korus extensions to the Kurento API" } },
  },
  remoteClasses: [
    {
      // A SIP call leg as a pipeline element: media like an RtpEndpoint, SDP negotiated over SIP (issue 5 §1).
      name: "SipEndpoint",
      extends: "BaseRtpEndpoint",
      constructor: {
        params: [
          { name: "mediaPipeline", type: "MediaPipeline" },
          // Claims an inbound call announced by SipGateway's IncomingCall (its callId); absent for outbound legs.
          { name: "callId", type: "String", optional: true },
        ],
      },
      properties: [
        { name: "callState", type: "CallState", readOnly: true },
        { name: "sipCallId", type: "String", readOnly: true },
        { name: "remoteIdentity", type: "String", readOnly: true },
      ],
      methods: [
        {
          name: "call",
          params: [
            { name: "uri", type: "String" },
            { name: "options", type: "CallOptions", optional: true },
          ],
        },
        { name: "answer", params: [] },
        {
          name: "reject",
          params: [
            { name: "status", type: "int", optional: true, defaultValue: 486 },
            { name: "reason", type: "String", optional: true },
          ],
        },
        { name: "hangup", params: [] },
        // Hold and resume of a connected call (issue 15 §2): re-INVITE (or UPDATE) with sendonly/inactive, then
        // sendrecv; HoldStateChanged reports both sides' hold state.
        { name: "hold", params: [] },
        { name: "resume", params: [] },
        {
          name: "sendDtmf",
          params: [
            { name: "digits", type: "String" },
            { name: "durationMs", type: "int", optional: true, defaultValue: 100 },
            { name: "gapMs", type: "int", optional: true, defaultValue: 50 },
          ],
        },
      ],
      events: ["CallStateChanged", "DtmfReceived", "HoldStateChanged"],
    },
    {
      // The singleton (object id "korus_SipGateway") on which applications learn about inbound calls (issue 5 §3).
      name: "SipGateway",
      extends: "MediaObject",
      constructor: { params: [] },
      properties: [{ name: "trunks", type: "String[]", readOnly: true }],
      methods: [
        {
          // The Composite of the dial-plan room `name` (created on first use, in a pipeline the server owns), so
          // WebRTC participants join the same audio conference as callers of sip:room-<name>@<host>: create a
          // HubPort on it and a WebRtcEndpoint in its pipeline (getMediaPipeline).
          name: "getRoom",
          params: [{ name: "name", type: "String" }],
          return: { type: "Composite" },
        },
      ],
      events: ["IncomingCall"],
    },
    {
      // A voice bot on the call over a WebSocket: Twilio Media Streams or jambonz listen (issue 14,
      // docs/voicebots.md). Media in from its sources goes to the bot; the bot's audio is its output.
      name: "WebSocketEndpoint",
      extends: "Endpoint",
      constructor: {
        params: [
          { name: "mediaPipeline", type: "MediaPipeline" },
          { name: "uri", type: "String" },
          { name: "protocol", type: "String", optional: true, defaultValue: "twilio" },
          { name: "headers", type: "String<>", optional: true },
          { name: "parameters", type: "String<>", optional: true },
          { name: "sampleRate", type: "int", optional: true, defaultValue: 8000 },
          { name: "channels", type: "int", optional: true, defaultValue: 1 },
          { name: "direction", type: "String", optional: true, defaultValue: "both" },
          { name: "retrySeconds", type: "int", optional: true, defaultValue: 10 },
          { name: "maxQueueSeconds", type: "int", optional: true, defaultValue: 60 },
          { name: "outageAudio", type: "String", optional: true },
        ],
      },
      properties: [
        { name: "streamState", type: "StreamState", readOnly: true },
        { name: "botErrors", type: "int", readOnly: true },
        { name: "droppedFrames", type: "int", readOnly: true },
        { name: "queuedMs", type: "int", readOnly: true },
        { name: "streamedMs", type: "int", readOnly: true },
      ],
      events: ["StreamStateChanged", "BotMessage", "DtmfReceived"],
    },
  ],
  complexTypes: [
    {
      name: "StreamState",
      typeFormat: "ENUM" as const,
      values: ["CONNECTING", "STREAMING", "CLOSED", "FAILED"],
    },
    {
      name: "CallState",
      typeFormat: "ENUM" as const,
      values: ["IDLE", "CALLING", "RINGING", "EARLY_MEDIA", "CONNECTED", "TERMINATED"],
    },
    {
      name: "CallOptions",
      typeFormat: "REGISTER" as const,
      properties: [
        { name: "from", type: "String", optional: true },
        { name: "displayName", type: "String", optional: true },
        { name: "trunk", type: "String", optional: true },
        { name: "headers", type: "String<>", optional: true },
        { name: "ringTimeoutMs", type: "int", optional: true, defaultValue: 60000 },
      ],
    },
  ],
  events: [
    {
      name: "StreamStateChanged",
      extends: "Media",
      properties: [
        { name: "state", type: "StreamState" },
        { name: "reason", type: "String" },
      ],
    },
    { name: "BotMessage", extends: "Media", properties: [{ name: "message", type: "String" }] },
    {
      name: "CallStateChanged",
      extends: "Media",
      properties: [
        { name: "state", type: "CallState" },
        { name: "sipStatus", type: "int" },
        { name: "q850Cause", type: "int" },
      ],
    },
    {
      name: "IncomingCall",
      extends: "Media",
      properties: [
        { name: "callId", type: "String" },
        { name: "trunk", type: "String" },
        { name: "from", type: "String" },
        { name: "to", type: "String" },
        { name: "pai", type: "String" },
        { name: "headers", type: "String<>" },
      ],
    },
    {
      // local: we hold the peer; remote: the peer holds us.
      name: "HoldStateChanged",
      extends: "Media",
      properties: [
        { name: "local", type: "boolean" },
        { name: "remote", type: "boolean" },
      ],
    },
    {
      name: "DtmfReceived",
      extends: "Media",
      properties: [
        { name: "digit", type: "String" },
        { name: "durationMs", type: "int" },
      ],
    },
  ],
  // Korus's audio-only recording profiles (media/record/profiles.ts): G.711 in WAV, Opus in Ogg.
  enumExtensions: [{ type: "MediaProfileSpecType", values: ["WAV", "OGG"] }],
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

/**
 * The gateway demo page (GET /demo/gateway). Kept as a TypeScript string so the build carries it to dist/ with the
 * server. Its script is {@link GATEWAY_JS} (GET /demo/gateway/app.js); the page holds no secrets.
 */
export const GATEWAY_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Korus — WebRTC to phone gateway</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; }
  form, .row { display: flex; gap: .5rem; align-items: center; margin: .75rem 0; flex-wrap: wrap; }
  input[type=text] { flex: 1; min-width: 14rem; padding: .4rem; font-size: 1rem; }
  button { padding: .4rem .9rem; font-size: 1rem; cursor: pointer; }
  #state { font-weight: bold; }
  #keypad { display: grid; grid-template-columns: repeat(3, 3.5rem); gap: .4rem; margin: 1rem 0; }
  #keypad button { height: 3rem; font-size: 1.2rem; }
  #meter { width: 16rem; height: 1rem; background: #eee; border: 1px solid #999; position: relative; }
  #meterBar { height: 100%; width: 0; background: #2a2; transition: width 80ms linear; }
  #log { font: .8rem monospace; white-space: pre-wrap; background: #f6f6f6; padding: .5rem; max-height: 12rem; overflow: auto; }
  .err { color: #b00; }
</style>
</head>
<body>
<h1>Korus — call a phone from the browser</h1>
<p>Dial a SIP URI (<code>sip:alice@example.com</code>), or a number on one of the server's trunks. Audio goes
through a Korus pipeline: your browser's WebRtcEndpoint is connected both ways to a SipEndpoint.</p>
<form id="dialForm">
  <input id="uri" type="text" placeholder="sip:user@host or +33123456789" autocomplete="off" required>
  <select id="trunk"><option value="">no trunk</option></select>
  <button id="dial" type="submit">Call</button>
  <button id="hangup" type="button" disabled>Hang up</button>
</form>
<div id="incoming" class="row" hidden>Incoming call: <span id="incomingFrom"></span>
  <button id="accept" type="button">Answer</button> <button id="decline" type="button">Decline</button></div>
<div class="row">Call state: <span id="state">IDLE</span> <span id="cause"></span></div>
<div class="row">Remote audio level: <div id="meter"><div id="meterBar"></div></div> <span id="levelDb">–</span></div>
<div id="keypad" aria-label="DTMF keypad"></div>
<div class="row">Digits received: <span id="dtmfIn"></span></div>
<audio id="remote" autoplay></audio>
<div id="log"></div>
<script src="/demo/gateway/app.js"></script>
</body>
</html>
`;

// The Korus admin console: login with the admin token, then polling of the read-only admin API (each view on its own
// timer, the next poll starting when the previous one ended, so a slow server is never flooded).
import { getJson, LoggedOut, postJson } from "./api.js";
import { CdrView } from "./cdrs.js";
import { PipelineGraph } from "./graph.js";
import { renderCalls, renderTrunks, renderWorkers } from "./live.js";
import { renderRecordings } from "./recordings.js";

const $ = (sel) => document.querySelector(sel);
let running = false;
let timers = [];
let graph;
let cdrs;

function status(text) {
  $("#status").textContent = text;
}

function showLogin(message) {
  running = false;
  for (const t of timers) {
    clearTimeout(t);
  }
  timers = [];
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message ?? "";
  $("#token").focus();
}

function failed(err) {
  if (err instanceof LoggedOut) {
    showLogin("Session ended: log in again.");
  } else {
    status(`update failed: ${err.message}`);
  }
}

/** Runs `fn` now and then every `ms` after it finished, while the console runs. */
function every(ms, fn) {
  const tick = async () => {
    if (!running) {
      return;
    }
    try {
      await fn();
    } catch (err) {
      failed(err);
    }
    if (running) {
      timers.push(setTimeout(tick, ms));
    }
  };
  void tick();
}

async function overview() {
  const o = await getJson("/admin/api/overview");
  $("#server").textContent = `v${o.version} · ${o.sessions} session(s) · ${o.pipelines} pipeline(s)`;
  renderWorkers(o.workers);
  renderTrunks(o.trunks, o.sip);
  renderCalls(o.calls);
  status(`updated ${new Date(o.time).toLocaleTimeString()}`);
}

function start() {
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  graph ??= new PipelineGraph($("#graph"));
  cdrs ??= new CdrView(failed);
  running = true;
  every(2000, overview);
  every(3000, async () => graph.update((await getJson("/admin/api/pipelines")).pipelines));
  every(10_000, () => cdrs.refresh());
  every(15_000, recordings);
}

async function recordings() {
  renderRecordings((await getJson("/admin/api/recordings")).recordings);
}

$("#recordings-refresh").addEventListener("click", () => recordings().catch(failed));

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const code = await postJson("/admin/api/login", { token: $("#token").value });
  $("#token").value = "";
  if (code === 204) {
    start();
  } else {
    $("#login-error").textContent = code === 401 ? "Wrong token." : `Login failed (HTTP ${code}).`;
  }
});

$("#logout").addEventListener("click", async () => {
  await postJson("/admin/api/logout");
  showLogin("Logged out.");
});

getJson("/admin/api/session").then(
  (s) => (s.authenticated ? start() : showLogin()),
  () => showLogin(),
);

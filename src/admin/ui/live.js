// Workers, trunks and live calls: tables refreshed from /admin/api/overview.
import { el, fillRows, mosClass, num } from "./api.js";

const $ = (sel) => document.querySelector(sel);

export function renderWorkers(workers) {
  fillRows(
    $("#workers tbody"),
    workers.map((w) =>
      el(
        "tr",
        {},
        el("td", {}, w.index),
        el("td", {}, w.threadId),
        el("td", { className: w.dead ? "down" : "up" }, w.dead ? "dead" : "running"),
        el("td", {}, w.pipelines),
        el("td", {}, w.elements),
        el("td", {}, el("meter", { min: 0, max: 1, value: w.elu, title: `${Math.round(w.elu * 100)} %` })),
      ),
    ),
    "no workers",
  );
}

export function renderTrunks(trunks, sipOn) {
  fillRows(
    $("#trunks tbody"),
    trunks.map((t) => {
      const o = t.lastOptions;
      const row = el(
        "tr",
        {},
        el("td", {}, t.name),
        el("td", { className: t.state === "up" ? "up" : t.state === "down" ? "down" : "" }, t.state),
        el("td", {}, o === null ? "never" : new Date(o.at).toLocaleTimeString()),
        el("td", {}, o === null ? "–" : o.status === null ? "no answer" : o.status),
        el("td", {}, o === null ? "–" : `${o.rttMs} ms`),
      );
      row.dataset.trunk = t.name;
      return row;
    }),
    sipOn ? "no trunks configured" : "SIP is off",
  );
}

/** "audio", "video", "audio, video", "no", or "–" when unknown. */
function transcoding(t) {
  if (t === null || t === undefined) {
    return "–";
  }
  const kinds = [t.audio ? "audio" : "", t.video ? "video" : ""].filter((k) => k !== "");
  return kinds.length === 0 ? "no" : kinds.join(", ");
}

export function renderCalls(calls) {
  $("#calls-count").textContent = `(${calls.length})`;
  fillRows(
    $("#calls tbody"),
    calls.map((c) => {
      const row = el(
        "tr",
        {},
        el("td", {}, c.kind),
        el("td", { className: "state" }, c.state),
        el("td", {}, c.direction ?? "–"),
        el("td", {}, c.trunk ?? "–"),
        el("td", { title: c.callId }, c.remote || "–"),
        el("td", { className: "peer-codec" }, c.audioCodec ?? "–"),
        el("td", { className: "peer-video-codec" }, c.videoCodec ?? "–"),
        el("td", { className: "pipeline-codec" }, c.pipelineCodec ?? "–"),
        el("td", { className: "transcoding" }, transcoding(c.transcoding)),
        el("td", {}, num(c.jitterMs)),
        el("td", {}, num(c.lossPercent, 2)),
        el("td", {}, num(c.rttMs)),
        el("td", { className: `mos ${mosClass(c.mos)}` }, num(c.mos, 2)),
      );
      row.dataset.elementId = c.elementId;
      row.dataset.callId = c.callId;
      row.dataset.kind = c.kind;
      return row;
    }),
    "no live calls",
  );
}

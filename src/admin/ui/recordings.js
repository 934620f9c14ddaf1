// Finished recordings, newest first; a ready one plays in the page's player (served with Range, so it seeks).
import { el, fillRows, num } from "./api.js";

const $ = (sel) => document.querySelector(sel);

function size(bytes) {
  if (bytes === null) {
    return "–";
  }
  return bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

export function renderRecordings(recordings) {
  fillRows(
    $("#recordings tbody"),
    recordings.map((r) => {
      const play = el("button", { type: "button", disabled: !r.playable }, "Play");
      play.addEventListener("click", () => {
        const player = $("#player");
        player.hidden = false;
        player.src = `/admin/api/recordings/${encodeURIComponent(r.id)}`;
        player.play().catch(() => undefined);
      });
      const row = el(
        "tr",
        {},
        el("td", { title: r.uri }, new Date(r.startedAt).toLocaleString()),
        el("td", {}, r.profile),
        el("td", {}, r.durationMs === null ? "–" : num(r.durationMs / 1000)),
        el("td", {}, size(r.bytes)),
        el("td", {}, r.state),
        el("td", {}, play),
      );
      row.dataset.recordingId = r.id;
      row.dataset.state = r.state;
      return row;
    }),
    "no recordings",
  );
}

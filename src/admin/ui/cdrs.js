// Recent CDRs: filters (time window, trunk, disposition), the table, two chart.js charts (calls per hour, MOS
// distribution) and the CSV download of the same selection.
import { el, fillRows, getJson, mosClass, num } from "./api.js";

const $ = (sel) => document.querySelector(sel);
const HOUR = 3600_000;
const MOS_BINS = ["1–2", "2–3", "3–3.5", "3.5–4", "4–4.3", "4.3–5"];
const MOS_EDGES = [2, 3, 3.5, 4, 4.3, Infinity];

/** The filter's query string (`since`/`until` as epoch ms). */
function query() {
  const q = new URLSearchParams();
  const since = $("#cdr-since").value;
  const until = $("#cdr-until").value;
  if (since !== "") {
    q.set("since", String(new Date(since).getTime()));
  }
  if (until !== "") {
    q.set("until", String(new Date(until).getTime()));
  }
  if ($("#cdr-trunk").value.trim() !== "") {
    q.set("trunk", $("#cdr-trunk").value.trim());
  }
  if ($("#cdr-disposition").value !== "") {
    q.set("disposition", $("#cdr-disposition").value);
  }
  return q.toString();
}

function chart(canvas, type, label, color) {
  return new window.Chart(canvas, {
    type,
    data: { labels: [], datasets: [{ label, data: [], backgroundColor: color }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: { legend: { display: true } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
}

export class CdrView {
  constructor(onError) {
    this.hourly = chart($("#chart-hourly"), "bar", "calls per hour", "#4a78c2");
    this.mos = chart($("#chart-mos"), "bar", "calls by MOS", "#3c9d5d");
    this.onError = onError;
    $("#cdr-filter").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.refresh().catch(onError);
    });
  }

  async refresh() {
    const q = query();
    $("#cdr-csv").href = `/admin/api/cdrs.csv${q === "" ? "" : `?${q}`}`;
    const body = await getJson(`/admin/api/cdrs${q === "" ? "" : `?${q}`}`);
    this.#table(body.records);
    this.#charts(body.records, body.since, body.until);
  }

  #table(records) {
    fillRows(
      $("#cdrs tbody"),
      records.slice(0, 200).map((r) => {
        const row = el(
          "tr",
          {},
          el("td", {}, new Date(r.startTime).toLocaleString()),
          el("td", {}, r.direction),
          el("td", {}, r.trunk ?? "–"),
          el("td", {}, r.from ?? "–"),
          el("td", {}, r.to ?? "–"),
          el("td", { className: "disposition" }, r.disposition),
          el("td", {}, num(r.durationMs / 1000)),
          el("td", { className: "codec" }, r.peerCodec ?? "–"),
          el("td", {}, num(r.jitterMs)),
          el("td", { className: mosClass(r.mos) }, num(r.mos, 2)),
        );
        row.dataset.recordId = r.recordId;
        row.dataset.callId = r.callId ?? "";
        return row;
      }),
      "no records in this window",
    );
  }

  #charts(records, since, until) {
    // Calls per hour over the window (at most its last 48 hours, so the bars stay readable).
    const end = Math.ceil(until / HOUR) * HOUR;
    const start = Math.max(Math.floor(since / HOUR) * HOUR, end - 48 * HOUR);
    const counts = new Array(Math.max(1, Math.round((end - start) / HOUR))).fill(0);
    for (const r of records) {
      const i = Math.floor((Date.parse(r.startTime) - start) / HOUR);
      if (i >= 0 && i < counts.length) {
        counts[i]++;
      }
    }
    this.hourly.data.labels = counts.map((_, i) =>
      new Date(start + i * HOUR).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
    );
    this.hourly.data.datasets[0].data = counts;
    this.hourly.update();
    const bins = MOS_BINS.map(() => 0);
    for (const r of records) {
      if (typeof r.mos === "number") {
        bins[MOS_EDGES.findIndex((e) => r.mos < e)]++;
      }
    }
    this.mos.data.labels = MOS_BINS;
    this.mos.data.datasets[0].data = bins;
    this.mos.update();
  }
}

// The console's calls to /admin/api (same origin; the session cookie goes along) and a small DOM helper.

/** Raised when the session is gone (401): the page shows the login form again. */
export class LoggedOut extends Error {}

/** GET a JSON admin route. */
export async function getJson(path) {
  const res = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
  if (res.status === 401) {
    throw new LoggedOut("logged out");
  }
  if (!res.ok) {
    throw new Error(`${path}: HTTP ${res.status}`);
  }
  return res.json();
}

/** POST JSON; resolves with the HTTP status. */
export async function postJson(path, body) {
  const res = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  return res.status;
}

/** A new element: `el("td", { className: "up" }, "text", child…)`. Text is always set as text, never as HTML. */
export function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props ?? {});
  for (const c of children) {
    node.append(c instanceof Node ? c : String(c ?? ""));
  }
  return node;
}

/** Replaces a table body's rows; `empty` is shown in one cell when there are none. */
export function fillRows(tbody, rows, empty) {
  if (rows.length === 0) {
    const cols = tbody.closest("table").querySelectorAll("thead th").length;
    tbody.replaceChildren(el("tr", {}, el("td", { className: "empty", colSpan: cols }, empty)));
    return;
  }
  tbody.replaceChildren(...rows);
}

/** `12.3` or `–` for null. */
export function num(v, digits = 1) {
  return v === null || v === undefined ? "–" : Number(v).toFixed(digits);
}

/** A MOS value's class: good ≥ 4, fair ≥ 3.6, else bad. */
export function mosClass(mos) {
  return mos === null || mos === undefined ? "" : mos >= 4 ? "good" : mos >= 3.6 ? "fair" : "bad";
}

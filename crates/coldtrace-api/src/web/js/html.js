// The one way the console writes markup: the `html` tagged template escapes every value put into it, unless the
// value was itself made by `html` (a Safe). `render` puts only Safe markup into the page, so text from the API can
// never become markup.
import { Superseded } from "./api.js";

class Safe {
  constructor(s) { this.s = s; }
  toString() { return this.s; }
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };
const escape = (s) => String(s).replace(/[&<>"'`]/g, (c) => ESC[c]);

// null, undefined and false write nothing; an array writes each of its values (each escaped in turn).
function part(v) {
  if (v === null || v === undefined || v === false) return "";
  if (v instanceof Safe) return v.s;
  if (Array.isArray(v)) return v.map(part).join("");
  return escape(v);
}

export function html(strings, ...values) {
  let out = strings[0];
  values.forEach((v, i) => { out += part(v) + strings[i + 1]; });
  return new Safe(out);
}

// Values with a separator between them, e.g. join(list, ", ") or join(list, html`<br>`).
export function join(values, sep) {
  return new Safe(values.map(part).join(part(sep)));
}

// Puts markup made by `html` into an element; anything else is refused.
export function render(el, content) {
  if (!(content instanceof Safe)) throw new TypeError("render takes markup made by html``");
  el.innerHTML = content.s;
}

// Shows an error in `el`, the way a form or a button reports a failure; an answer for a page the user has
// already left (`Superseded`) shows nothing.
export function fail(el, e) {
  if (e instanceof Superseded) return;
  render(el, errorBox(e));
}

export const view = () => document.getElementById("view");
export const show = (content) => render(view(), content);
export const byId = (id) => document.getElementById(id);

// A table: columns are {head, cell: (row) => value, num: right-aligned number}; `opts.id` names the table and
// `opts.empty` is shown instead of a table without rows.
export function table(columns, rows, opts = {}) {
  if (opts.empty !== undefined && rows.length === 0) return html`<p class="muted">${opts.empty}</p>`;
  const cls = (c) => (c.num ? html` class="num"` : "");
  return html`<table${opts.id ? html` id="${opts.id}"` : ""}><thead><tr>${columns.map((c) => html`<th${cls(c)}>${c.head}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${columns.map((c) => html`<td${cls(c)}>${c.cell(r)}</td>`)}</tr>`)}</tbody></table>`;
}

export const fmt = (n) => (n === null || n === undefined ? "" : Number(n).toLocaleString("zh-CN", { maximumFractionDigits: 3 }));
// An RFC 3339 time as written (its own offset): "2026-11-20 08:00".
export const day = (t) => (t ? String(t).slice(0, 16).replace("T", " ") : "");
// Milliseconds since the epoch, in the browser's time zone.
export function dayMs(ms) {
  if (ms === null || ms === undefined) return "";
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

// Errors that are not the API's answer (a bug in a page) are also reported to the collector `errors.js` set up.
export function report(e) {
  if (!e || e.status === undefined) (window.__ctErrors ||= []).push(String((e && e.stack) || e));
}

export function errorBox(e) {
  report(e);
  return html`<div class="error" role="alert">${e.message}${e.field ? html` <small>(${e.field})</small>` : ""}</div>`;
}

export const badge = (text, kind) => html`<span class="badge${kind ? " " + kind : ""}">${text}</span>`;

// An enterprise kind (the API's snake_case name) in Chinese, from the platform's table (names.js).
export { kindLabel as kindName } from "./names.js";

// Hands a file to the browser to save under `name`.
export function saveFile(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

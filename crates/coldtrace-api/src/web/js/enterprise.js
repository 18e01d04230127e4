// An enterprise's pages: record a movement (a scanned code fills in its batch), upload a ledger, its batches, its
// disposal tasks with their reports (POST /api/v1/incidents/{id}/tasks/{task}).
// POST /api/v1/movements takes a MovementDraft; POST /api/v1/ledger answers an ImportReport {rows, imported_rows,
// rejected_rows, errors: [RowError {row, column, reason}], ...}; GET /api/v1/batches: {items: [Stored<Batch>]};
// GET /api/v1/incidents: {items: [IncidentView]} with only the enterprise's own tasks.
import { api, get, post, enc, ApiError } from "./api.js";
import { html, show, render, byId, table, fmt, fail } from "./html.js";
import { taskBadge, reportForm } from "./incidents.js";
import { actionName } from "./names.js";

// The browser's own UTC offset at a local time, as "+08:00".
function zoneAt(local) {
  const off = -new Date(local || Date.now()).getTimezoneOffset();
  const p = (n) => String(n).padStart(2, "0");
  return (off >= 0 ? "+" : "-") + p(Math.floor(Math.abs(off) / 60)) + ":" + p(Math.abs(off) % 60);
}

export function recordPage() {
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  show(html`<h1>登记出入库 Record a movement</h1><div class="card"><form id="record" class="stack">
    <label for="code">追溯码（扫码枪扫描） Trace code (scan)</label><input id="code" autofocus autocomplete="off" placeholder="扫描或输入 scan or type, then Enter">
    <div id="code-info" class="muted"></div>
    <label for="kind">类型 Kind</label><select id="kind"><option value="receive">入库 receive</option><option value="ship">出库 ship</option><option value="sell">销售 sell</option></select>
    <label for="quantity">数量 Quantity</label><input id="quantity" inputmode="decimal">
    <label for="cp-name">对方名称 Counterparty</label><input id="cp-name">
    <label for="cp-uscc">对方统一社会信用代码 Counterparty USCC</label><input id="cp-uscc">
    <label for="at">时间 Time</label><input id="at" type="datetime-local" value="${now}">
    <p><button type="submit" id="record-btn">提交 Submit</button></p><div id="msg"></div></form></div>`);
  const code = byId("code");
  const info = byId("code-info");
  const fill = async () => {
    const v = code.value.trim();
    if (!v) return;
    try {
      // {code, says: {gtin, batch_no, serial, expiry} for a GS1 code, batch}
      const r = await get("/api/v1/codes/" + enc(v));
      render(info, html`批号 <b id="filled-batch">${r.batch.batch_no}</b> · ${fmt(r.batch.quantity)} ${r.batch.unit}${r.says.gtin ? ` · GTIN ${r.says.gtin}` : ""}`);
      byId("quantity").focus();
    } catch (e) { fail(info, e); }
  };
  // A keyboard-wedge scanner types the code and presses Enter: fill in, do not submit.
  code.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); fill(); } });
  code.addEventListener("change", fill);
  byId("record").onsubmit = async (ev) => {
    ev.preventDefault();
    const at = byId("at").value;
    // The time typed is the user's local time: send it with the browser's own offset.
    const body = {
      kind: byId("kind").value,
      trace_code: code.value.trim(),
      quantity: Number(byId("quantity").value),
      at: at ? at + ":00" + zoneAt(at) : undefined,
      counterparty_name: byId("cp-name").value || undefined,
      counterparty_uscc: byId("cp-uscc").value || undefined,
    };
    const msg = byId("msg");
    try { await post("/api/v1/movements", body); render(msg, html`<div class="notice">已登记 recorded</div>`); }
    catch (e) { fail(msg, e); }
  };
}

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export function ledgerPage() {
  show(html`<h1>上传台账 Upload a ledger</h1><div class="card"><form id="ledger" class="stack">
    <label for="file">Excel (.xlsx) 或 CSV 文件</label><input id="file" type="file" accept=".csv,.xlsx" required>
    <p><label><input type="checkbox" id="partial"> 导入无错误的行 import the rows without errors</label></p>
    <p><button type="submit" id="upload-btn">上传 Upload</button></p></form><div id="report"></div></div>`);
  byId("ledger").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = byId("file").files[0];
    const type = f.name.toLowerCase().endsWith(".xlsx") ? XLSX : "text/csv";
    const out = byId("report");
    try {
      const r = await api("POST", "/api/v1/ledger" + (byId("partial").checked ? "?partial=true" : ""), undefined, { bytes: await f.arrayBuffer(), type });
      // A 422 is the ImportReport with its row errors, unless the file itself was refused (the ErrorBody).
      if (r.code) throw new ApiError(422, r.message, r.field);
      render(out, html`<p>${r.rows} 行 rows · ${r.imported_rows} 导入 imported · <b id="error-count">${r.errors.length}</b> 错误 errors</p>
        ${r.errors.length ? table([
          { head: "行 row", num: true, cell: (e) => e.row },
          { head: "列 column", cell: (e) => e.column || "" },
          { head: "原因 reason", cell: (e) => e.reason },
        ], r.errors, { id: "row-errors" }) : ""}`);
    } catch (e) { fail(out, e); }
  };
}

export async function minePage() {
  const list = await get("/api/v1/batches?limit=200");
  show(html`<h1>我的批次 My batches</h1>${table([
    { head: "批号", cell: (b) => b.batch_no },
    { head: "数量", num: true, cell: (b) => `${fmt(b.quantity)} ${b.unit}` },
    { head: "追溯码", cell: (b) => b.trace_codes.map((c) => html`<code>${c.value}</code> `) },
  ], list.items, { id: "mine", empty: "无 none" })}`);
}

// The enterprise's disposal tasks, each with its report: what it sealed, destroyed or returned, and how much.
export async function tasksPage() {
  const list = await get("/api/v1/incidents");
  const rows = list.items.flatMap((i) => i.tasks.map((t) => ({ i, t })));
  show(html`<h1>处置任务 Disposal tasks</h1>${table([
    { head: "事件", cell: ({ i }) => i.subject },
    { head: "批次", cell: ({ t }) => `${t.product} ${t.batch_no}` },
    { head: "在库", num: true, cell: ({ t }) => `${fmt(t.on_hand)} ${t.unit}` },
    { head: "未处置", num: true, cell: ({ t }) => `${fmt(t.outstanding)} ${t.unit}` },
    { head: "措施", cell: ({ t }) => actionName(t.action) },
    { head: "状态", cell: ({ t }) => taskBadge(t.status) },
    { head: "", cell: ({ i, t }) => (i.status === "open" && t.status !== "done" ? html`<button class="secondary" data-report="${i.id}/${t.id}">报告处置 Report</button>` : "") },
  ], rows, { id: "my-tasks", empty: "无任务 none" })}<div id="report-form"></div>`);
  document.querySelectorAll("[data-report]").forEach((b) => {
    const [incident, task] = b.dataset.report.split("/");
    const { t } = rows.find((r) => r.i.id === incident && r.t.id === task);
    b.onclick = () => reportForm(byId("report-form"), incident, t, tasksPage);
  });
}

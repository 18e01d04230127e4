// Incidents for the duty shift: the list, registering a positive test (with its sample's time and kind, reviewed
// and confirmed; the same test registered twice answers the same incident), and one incident with everything done
// about it: tasks with a disposal report each, notices marked sent, notes, closing with a reason, the tasks as CSV.
// GET /api/v1/incidents: {items: [IncidentView]} (without trace and timeline); GET /api/v1/incidents/{id}: an
// IncidentView {id, province, kind, subject, status, positive_at, reported_by, opened_at_ms, accounted,
// outstanding, open_tasks, closed_reason, tasks: [TaskView {id, holder_name, province, batch_no, product, unit,
// on_hand, accounted, outstanding, action, status}], notices: [NoticeView {id, to_province, lines, sent}],
// timeline: [TimelineEntry {at_ms, by, event {type, …}}]}.
// POST /api/v1/incidents (incidents::OpenRequest), …/tasks/{task} (TaskUpdate {status, action, quantity, note}),
// …/notices/{notice}/sent, …/notes {text}, …/close {reason}: each answers the IncidentView.
import { get, post, enc, session } from "./api.js";
import { html, show, table, fmt, dayMs, day, badge, byId, render, saveFile, fail } from "./html.js";
import { provinceName, actionName, codes } from "./names.js";

export const statusBadge = (s) => badge(s === "open" ? "处置中 open" : "已结案 closed", s === "open" ? "warn" : "ok");
export const taskBadge = (s) => badge({ open: "待处置 open", in_progress: "处置中 in progress", done: "已完成 done" }[s] || s, s === "done" ? "ok" : "warn");

// Zhejiang's rule: the full trace and disposal within two hours of the positive result.
const TARGET_MS = 2 * 3600 * 1000;

function elapsed(i) {
  const start = Date.parse(i.positive_at);
  const closed = i.timeline.find((e) => e.event.type === "closed");
  const ms = Math.max(0, (closed ? closed.at_ms : Date.now()) - start);
  const h = Math.floor(ms / 3600000);
  const m = Math.floor((ms % 3600000) / 60000);
  const late = ms > TARGET_MS && i.open_tasks > 0;
  return html`<span id="elapsed" class="badge ${late ? "bad" : "ok"}">阳性后 ${h} h ${m} min${late ? " · 超过2小时 over 2 h" : ""}</span>`;
}

export async function incidents() {
  const list = await get("/api/v1/incidents");
  const authority = session.me.role === "regulator";
  show(html`<h1>事件 Incidents</h1>
    ${authority ? html`<p><a href="#/register"><button id="register-new" class="danger">登记阳性 Register a positive test</button></a></p>` : ""}
    ${table([
      { head: "登记", cell: (i) => dayMs(i.opened_at_ms) },
      { head: "对象", cell: (i) => i.subject },
      { head: "状态", cell: (i) => statusBadge(i.status) },
      { head: "未完成任务", num: true, cell: (i) => i.open_tasks },
      { head: "", cell: (i) => html`<a href="#/incident/${i.id}">打开 open</a>` },
    ], list.items, { id: "incidents", empty: "无" })}`);
}

// A datetime-local value ("2026-12-06T09:30") as RFC 3339 in the browser's own offset.
function rfc3339(local) {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${local.length === 16 ? local + ":00" : local}${off >= 0 ? "+" : "-"}${p(off / 60)}:${p(off % 60)}`;
}

function nowLocal() {
  const d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

const SAMPLES = [["outer_packaging", "外包装 outer packaging"], ["inner_packaging", "内包装 inner packaging"], ["food", "食品 the food"],
  ["surface", "环境表面 surfaces"], ["swab", "咽拭子 throat swab"]];

// Registering a positive test: what was sampled, where and when; reviewed, then confirmed once.
export function registerPage(params) {
  const batch = params.get("batch") || "";
  const label = params.get("label") || "";
  show(html`<h1>登记阳性检测 Register a positive test</h1><div class="card"><form id="register" class="stack">
    <label for="r-kind">阳性对象 What tested positive</label>
    <select id="r-kind"><option value="batch_sample">一批货物 a batch's goods or packaging</option>
      <option value="environment">场所环境 an enterprise's premises</option><option value="person">人员 a person</option></select>
    <div data-for="batch_sample" class="stack">
      ${batch ? html`<p>批次 Batch <b id="r-batch">${label || batch}</b></p>` : html`<label for="r-code">追溯码 Trace code</label><input id="r-code">`}
    </div>
    <div data-for="batch_sample environment" class="stack">
      <label for="r-enterprise">采样地点（企业ID，可选）Where sampled (enterprise id)</label><input id="r-enterprise"></div>
    <div data-for="environment" class="stack" hidden>
      <label for="r-from">自 From</label><input id="r-from" type="datetime-local">
      <label for="r-to">至 To</label><input id="r-to" type="datetime-local"></div>
    <div data-for="person" class="stack" hidden>
      <label for="r-person">身份证号或电话 ID number or phone</label><input id="r-person"></div>
    <label for="r-sample">样本 Sample</label>
    <select id="r-sample">${SAMPLES.map(([v, t]) => html`<option value="${v}">${t}</option>`)}</select>
    <label for="r-at">采样时间 Sampled at</label><input id="r-at" type="datetime-local" required value="${nowLocal()}">
    <label for="r-note">说明 Note</label><input id="r-note">
    <p><button type="submit" id="review-btn">核对 Review</button></p></form><div id="review"></div></div>`);
  const kind = byId("r-kind");
  const toggle = () => document.querySelectorAll("[data-for]").forEach((el) => { el.hidden = !el.dataset.for.split(" ").includes(kind.value); });
  kind.onchange = toggle;
  toggle();
  byId("register").onsubmit = (ev) => {
    ev.preventDefault();
    const v = (id) => (byId(id) ? byId(id).value.trim() : "");
    const sample = SAMPLES.find(([s]) => s === v("r-sample"))[1];
    const req = { kind: kind.value, positive_at: rfc3339(v("r-at")), note: `样本 ${sample}${v("r-note") ? "；" + v("r-note") : ""}` };
    if (kind.value === "batch_sample") { if (batch) req.batch_id = batch; else req.code = v("r-code"); }
    if (kind.value !== "person" && v("r-enterprise")) req.enterprise_id = v("r-enterprise");
    if (kind.value === "environment") { req.from = v("r-from") && rfc3339(v("r-from")); req.to = v("r-to") && rfc3339(v("r-to")); }
    if (kind.value === "person") req.person = v("r-person");
    const what = kind.value === "batch_sample" ? (label || req.code || batch) : kind.value === "person" ? "人员 person" : "场所 premises";
    render(byId("review"), html`<div class="notice" id="review-box"><p>确认登记：<b>${what}</b>，${sample}，采样时间 ${v("r-at").replace("T", " ")}。
      登记后立即追溯并向各持有者下达处置任务。 Registering traces at once and orders disposal at every holder.</p>
      <p><button id="confirm-btn" class="danger">确认登记 Confirm</button> <button id="back-btn" class="secondary">修改 Change</button></p><div id="msg"></div></div>`);
    byId("back-btn").onclick = () => render(byId("review"), html``);
    const confirm = byId("confirm-btn");
    confirm.onclick = async () => {
      // One registration however often it is clicked: the button waits, and the platform answers the same
      // positive test with the incident it already opened.
      confirm.disabled = true;
      confirm.textContent = "登记中… registering";
      try {
        const inc = await post("/api/v1/incidents", req);
        location.hash = "#/incident/" + inc.id;
      } catch (e) {
        confirm.disabled = false;
        confirm.textContent = "确认登记 Confirm";
        fail(byId("msg"), e);
      }
    };
  };
}

// A disposal report on one task: the measure, the quantity it accounts for, done or still in progress.
export function reportForm(el, incident, task, done) {
  // The measures from the platform's table; the one ordered at least, should the table not have loaded.
  const listed = codes("disposal_actions");
  const actions = listed.length ? listed : [task.action];
  render(el, html`<form id="report" class="card stack"><h3>处置报告 Disposal report: ${task.holder_name} · ${task.product} ${task.batch_no}</h3>
    <label for="rep-action">措施 Measure</label>
    <select id="rep-action">${actions.map((a) => html`<option value="${a}"${a === task.action ? html` selected` : ""}>${actionName(a)}</option>`)}</select>
    <label for="rep-qty">数量 Quantity (${task.unit}; 未处置 outstanding ${fmt(task.outstanding)})</label>
    <input id="rep-qty" type="number" step="any" min="0" required value="${task.outstanding}">
    <label for="rep-status">状态 Status</label>
    <select id="rep-status"><option value="done">已完成 done</option><option value="in_progress">处置中 in progress</option></select>
    <label for="rep-note">说明 Note</label><input id="rep-note">
    <p><button type="submit" id="report-btn">提交 Submit</button></p><div id="report-msg"></div></form>`);
  byId("report").onsubmit = async (ev) => {
    ev.preventDefault();
    const btn = byId("report-btn");
    btn.disabled = true;
    try {
      await post(`/api/v1/incidents/${enc(incident)}/tasks/${enc(task.id)}`, {
        status: byId("rep-status").value, action: byId("rep-action").value,
        quantity: Number(byId("rep-qty").value), note: byId("rep-note").value.trim() || null,
      });
      await done();
    } catch (e) { btn.disabled = false; fail(byId("report-msg"), e); }
  };
}

function csvCell(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// The tasks as a CSV file the browser saves (UTF-8 with a BOM, so Excel reads the Chinese).
function exportTasks(i) {
  const head = ["持有者 holder", "省 province", "产品 product", "批号 batch", "在库 on hand", "单位 unit", "已处置 accounted", "未处置 outstanding", "措施 measure", "状态 status"];
  const rows = i.tasks.map((t) => [t.holder_name, provinceName(t.province), t.product, t.batch_no, t.on_hand, t.unit, t.accounted, t.outstanding, actionName(t.action), t.status]);
  const text = "\ufeff" + [head, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
  saveFile(new Blob([text], { type: "text/csv;charset=utf-8" }), `incident-${i.id}-tasks.csv`);
}

// What an event of the timeline says.
function eventText(e) {
  switch (e.type) {
    case "task_update": return `处置报告 ${actionName(e.action)} ${fmt(e.quantity_milli / 1000)} (${e.status})${e.note ? "：" + e.note : ""}`;
    case "notice_sent": return "通报已发送 notice sent";
    case "note": return `备注 ${e.text}`;
    case "closed": return `结案 closed${e.reason ? "：" + e.reason : ""}`;
    default: return e.type;
  }
}

// Each notice as the national platform saw it: delivered to the province, acknowledged by whom, holders located.
// GET /api/v1/incidents/{id}/deliveries: [Delivery {notice, province, received_at_ms, acked_at_ms, ack {by, note,
// holders}, detail_request}].
async function showDeliveries(id) {
  const el = byId("deliveries");
  try {
    const ds = (await get(`/api/v1/incidents/${enc(id)}/deliveries`)).filter((d) => !d.detail_request);
    if (!byId("deliveries")) return;
    render(el, table([
      { head: "省份", cell: (d) => provinceName(d.province) },
      { head: "送达 delivered", cell: (d) => (d.received_at_ms ? html`✓ ${dayMs(d.received_at_ms)}` : badge("未送达 pending", "warn")) },
      { head: "确认 acknowledged", cell: (d) => (d.ack ? html`✓ ${d.ack.by} ${dayMs(d.acked_at_ms)}` : badge("未确认 not yet", "warn")) },
      { head: "说明", cell: (d) => (d.ack && d.ack.note) || "" },
      { head: "定位持有者", num: true, cell: (d) => (d.ack ? d.ack.holders.length : "") },
    ], ds, { id: "delivery-table", empty: "未对接国家平台或尚无通报 not docked, or no notice sent yet" }));
  } catch (e) { if (byId("deliveries")) fail(el, e); }
}

export async function incidentPage(id) {
  const i = await get("/api/v1/incidents/" + enc(id));
  const reload = () => incidentPage(id);
  const authority = session.me.role === "regulator" || session.me.role === "national";
  const open = i.status === "open";
  show(html`<h1>事件 Incident: <span id="incident-subject">${i.subject}</span></h1>
    <p>${statusBadge(i.status)} ${elapsed(i)} <span class="muted">目标：阳性后2小时内完成追溯与处置 target: trace and dispose within 2 h</span></p>
    <p>阳性时间 ${day(i.positive_at)} · ${provinceName(i.province)} · 登记 ${i.reported_by}${i.note ? ` · ${i.note}` : ""}
      · 已处置 ${fmt(i.accounted)} · 未处置 <b id="outstanding">${fmt(i.outstanding)}</b></p>
    <h2>处置任务 Disposal tasks (<span id="task-count">${i.tasks.length}</span>)
      <button id="export-tasks" class="secondary">导出 CSV Export</button></h2>
    ${table([
      { head: "持有者", cell: (t) => t.holder_name },
      { head: "省", cell: (t) => provinceName(t.province) },
      { head: "批次", cell: (t) => `${t.product} ${t.batch_no}` },
      { head: "在库", num: true, cell: (t) => `${fmt(t.on_hand)} ${t.unit}` },
      { head: "未处置", num: true, cell: (t) => `${fmt(t.outstanding)} ${t.unit}` },
      { head: "措施", cell: (t) => actionName(t.action) },
      { head: "状态", cell: (t) => taskBadge(t.status) },
      { head: "", cell: (t) => (open && authority && t.status !== "done" ? html`<button class="secondary" data-report="${t.id}">报告 Report</button>` : "") },
    ], i.tasks, { id: "tasks", empty: "无在库货物 nothing on hand" })}
    <div id="report-form"></div>
    <h2>通报 Notices</h2>
    ${table([
      { head: "省份", cell: (n) => provinceName(n.to_province) },
      { head: "条目", num: true, cell: (n) => n.lines.length },
      { head: "状态", cell: (n) => (n.sent ? badge("已发送 sent", "ok") : badge("草稿 draft", "warn")) },
      { head: "", cell: (n) => (!n.sent && authority && open ? html`<button class="secondary" data-sent="${n.id}">标记已发送 Mark sent</button>` : "") },
    ], i.notices, { id: "incident-notices", empty: "无跨省通报 no other province concerned" })}
    ${session.me.role === "regulator" && session.me.province === i.province
      ? html`<h2>送达与确认 Delivery and acknowledgement</h2><div id="deliveries" class="muted">…</div>` : ""}
    <h2>时间线 Timeline</h2><ul id="timeline">${i.timeline.length
      ? i.timeline.map((e) => html`<li>${dayMs(e.at_ms)} ${e.by}: ${eventText(e.event)}</li>`)
      : html`<li class="muted">—</li>`}</ul>
    ${open && authority ? html`<form id="note-form" class="row"><input id="note-text" size="48" placeholder="备注：原因、进展 a remark" required>
      <button type="submit" id="note-btn" class="secondary">添加备注 Add note</button></form>
      <form id="close-form" class="row"><input id="close-reason" size="48" placeholder="结案说明（仍有未处置数量时必填）reason">
      <button type="submit" id="close-btn" class="danger">结案 Close</button></form>` : ""}
    ${i.closed_reason ? html`<p>结案说明 ${i.closed_reason}</p>` : ""}
    <div id="msg"></div>`);
  const msg = byId("msg");
  if (byId("deliveries")) showDeliveries(i.id);
  const act = async (f) => { try { await f(); await reload(); } catch (e) { fail(msg, e); } };
  byId("export-tasks").onclick = () => exportTasks(i);
  document.querySelectorAll("[data-report]").forEach((b) => {
    b.onclick = () => reportForm(byId("report-form"), i.id, i.tasks.find((t) => t.id === b.dataset.report), reload);
  });
  document.querySelectorAll("[data-sent]").forEach((b) => {
    b.onclick = () => act(() => post(`/api/v1/incidents/${enc(i.id)}/notices/${enc(b.dataset.sent)}/sent`));
  });
  if (byId("note-form")) {
    byId("note-form").onsubmit = (ev) => { ev.preventDefault(); act(() => post(`/api/v1/incidents/${enc(i.id)}/notes`, { text: byId("note-text").value.trim() })); };
    byId("close-form").onsubmit = (ev) => {
      ev.preventDefault();
      const reason = byId("close-reason").value.trim();
      act(() => post(`/api/v1/incidents/${enc(i.id)}/close`, reason ? { reason } : {}));
    };
  }
}

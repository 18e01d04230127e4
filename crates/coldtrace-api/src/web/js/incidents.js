// A province's incidents and one incident with its disposal tasks, notices and timeline.
// GET /api/v1/incidents: {items: [IncidentView]} (without trace and timeline); GET /api/v1/incidents/{id}: an
// IncidentView {id, subject, status, positive_at, reported_by, opened_at_ms, open_tasks, tasks: [TaskView],
// notices: [NoticeView], timeline: [TimelineEntry {at_ms, by, event}]}.
import { get, enc } from "./api.js";
import { html, show, table, fmt, dayMs, badge } from "./html.js";

export const statusBadge = (s) => badge(s, s === "open" ? "warn" : "ok");
export const taskBadge = (s) => badge(s, s === "done" ? "ok" : "warn");

export async function incidents() {
  const list = await get("/api/v1/incidents");
  show(html`<h1>事件 Incidents</h1>${table([
    { head: "登记", cell: (i) => dayMs(i.opened_at_ms) },
    { head: "对象", cell: (i) => i.subject },
    { head: "状态", cell: (i) => statusBadge(i.status) },
    { head: "未完成任务", num: true, cell: (i) => i.open_tasks },
    { head: "", cell: (i) => html`<a href="#/incident/${i.id}">打开 open</a>` },
  ], list.items, { id: "incidents", empty: "无" })}`);
}

// What an event of the timeline says: a task report's note, a remark's text, a closing reason.
const eventText = (e) => e.note || e.text || e.reason || "";

export async function incidentPage(id) {
  const i = await get("/api/v1/incidents/" + enc(id));
  show(html`<h1>事件 Incident: <span id="incident-subject">${i.subject}</span></h1>
    <p>${statusBadge(i.status)} 阳性时间 ${i.positive_at} · 登记 ${i.reported_by}</p>
    <h2>处置任务 Disposal tasks (<span id="task-count">${i.tasks.length}</span>)</h2>
    ${table([
      { head: "持有者", cell: (t) => t.holder_name },
      { head: "省", cell: (t) => t.province || "" },
      { head: "批次", cell: (t) => `${t.product} ${t.batch_no}` },
      { head: "在库", num: true, cell: (t) => `${fmt(t.on_hand)} ${t.unit}` },
      { head: "未处置", num: true, cell: (t) => fmt(t.outstanding) },
      { head: "措施", cell: (t) => t.action },
      { head: "状态", cell: (t) => taskBadge(t.status) },
    ], i.tasks, { id: "tasks" })}
    <h2>通报 Notices</h2>
    ${table([
      { head: "省份", cell: (n) => n.to_province },
      { head: "条目", num: true, cell: (n) => n.lines.length },
      { head: "状态", cell: (n) => (n.sent ? badge("sent", "ok") : badge("draft", "warn")) },
    ], i.notices, { id: "incident-notices" })}
    <h2>时间线 Timeline</h2><ul>${i.timeline.length
      ? i.timeline.map((e) => html`<li>${dayMs(e.at_ms)} ${e.by}: ${e.event.type} ${eventText(e.event)}</li>`)
      : html`<li class="muted">—</li>`}</ul>`);
}

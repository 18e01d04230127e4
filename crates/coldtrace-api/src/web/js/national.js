// The national command platform: the overview, the links between provinces' records (confirm or reject), and
// the incidents reported by provinces with their cross-province trace and each notice's delivery.
// GET /api/v1/national/overview: Overview {counts, enterprises_by_kind, batches_by_province, incidents,
// unacknowledged: [Delivery]}; GET /api/v1/national/links: [Link]; GET /api/v1/national/incidents:
// [NationalIncident {incident: IncidentRec {province, report: IncidentReport}, trace: NationalTrace, deliveries,
// not_acknowledged}]; GET /api/v1/national/incidents/{id}: NationalIncident.
import { get, post, enc } from "./api.js";
import { html, show, byId, join, table, fmt, badge, kindName, dayMs, fail } from "./html.js";
import { provinceName } from "./names.js";

export async function nationalPage() {
  const o = await get("/api/v1/national/overview");
  const registry = await get("/api/v1/national/contacts");
  const contacts = new Map(registry.map((x) => [x.province, x]));
  const c = o.counts;
  const stat = (n, label) => html`<div class="stat"><b>${fmt(n)}</b><span>${label}</span></div>`;
  show(html`<h1>国家指挥 National command</h1><div class="grid">
    ${stat(c.batches, "批次 batches")}${stat(c.links, "跨省关联 links")}${stat(c.links_proposed, "待确认 awaiting decision")}
    ${stat(c.links_ambiguous, "有歧义 ambiguous")}${stat(o.incidents, "事件 incidents")}</div>
    <div class="split"><div><h2>各省批次 Batches by province</h2>${table([
      { head: "省份", cell: ([p]) => provinceName(p) },
      { head: "批次", num: true, cell: ([, n]) => fmt(n) },
    ], Object.entries(o.batches_by_province), { id: "by-province" })}</div>
    <div><h2>主体 Enterprises by type</h2>${table([
      { head: "类型", cell: ([k]) => kindName(k) },
      { head: "数量", num: true, cell: ([, n]) => fmt(n) },
    ], Object.entries(o.enterprises_by_kind), { id: "by-kind" })}</div></div>
    <h2>未确认通报 Notices not acknowledged</h2>
    ${table([
      { head: "省份", cell: (d) => provinceName(d.province) },
      { head: "事件", cell: (d) => html`<a href="#/national/incident/${d.incident}">${d.incident}</a>` },
      { head: "送达", cell: (d) => (d.received_at_ms ? badge("received", "ok") : badge("pending", "warn")) },
      { head: "联络 duty contacts", cell: (d) => duty(contacts.get(d.province)) },
    ], o.unacknowledged, { id: "unacknowledged" })}
    <h2>各省联络名录 Province contacts</h2>
    ${table([
      { head: "省份", cell: (x) => provinceName(x.province) },
      { head: "负责处室与时间 office and hours", cell: (x) => duty(x) },
      { head: "版本", num: true, cell: (x) => x.version },
      { head: "更新", cell: (x) => dayMs(x.updated_at_ms) },
    ], registry, { id: "contacts", empty: "还没有省份登记联络人 No province has sent its contacts yet" })}`);
}

const linkBadge = (s) => badge(s, s === "confirmed" ? "ok" : s === "rejected" ? "bad" : "warn");

export async function linksPage() {
  const links = await get("/api/v1/national/links");
  const end = (n) => html`${n.province} <code>${n.batch.slice(0, 13)}</code>`;
  show(html`<h1>异构识别 Links between provinces' records</h1>${table([
    { head: "上游 from", cell: (l) => end(l.from) },
    { head: "下游 to", cell: (l) => end(l.to) },
    { head: "依据 basis", cell: (l) => html`${l.basis}${l.ambiguous ? html` ${badge("ambiguous", "bad")}` : ""}` },
    { head: "证据 evidence", cell: (l) => html`<small>${join(l.evidence, html`<br>`)}</small>` },
    { head: "置信度", num: true, cell: (l) => l.confidence },
    { head: "状态", cell: (l) => linkBadge(l.status) },
    { head: "", cell: (l) => (l.status === "proposed" ? html`<button data-link="${l.id}" data-d="confirm">确认</button> <button class="danger" data-link="${l.id}" data-d="reject">否决</button>` : "") },
  ], links, { id: "links", empty: "无" })}<div id="msg"></div>`);
  document.querySelectorAll("[data-link]").forEach((b) => {
    b.onclick = async () => {
      try { await post(`/api/v1/national/links/${enc(b.dataset.link)}/decision`, { decision: b.dataset.d }); await linksPage(); }
      catch (e) { fail(byId("msg"), e); }
    };
  });
}

export async function nationalIncidents() {
  const list = await get("/api/v1/national/incidents");
  show(html`<h1>事件 Incidents</h1>${table([
    { head: "省份", cell: (i) => provinceName(i.incident.province) },
    { head: "对象", cell: (i) => i.incident.report.subject },
    { head: "涉及省份", cell: (i) => i.trace.provinces.map(provinceName).join("、") },
    { head: "未确认", cell: (i) => (i.not_acknowledged.length ? i.not_acknowledged.map(provinceName).join("、") : badge("全部确认 all", "ok")) },
    { head: "", cell: (i) => html`<a href="#/national/incident/${i.incident.report.incident}">打开 open</a>` },
  ], list, { id: "national-incidents", empty: "无" })}`);
}

// Every province the trace reaches, with its notices' deliveries; a province with none (the reporting one, whose
// own platform acts) is listed too.
function everyProvince(i) {
  const rows = i.deliveries.filter((d) => !d.detail_request);
  for (const p of i.trace.provinces) {
    if (!rows.some((d) => d.province === p)) rows.push({ province: p, none: true });
  }
  return rows.sort((a, b) => a.province.localeCompare(b.province));
}

// A province's duty contacts (GET /api/v1/national/contacts answers [ContactsVersion {province, version,
// contacts: ProvinceContacts {office, hours, contacts: [DutyContact {name, role, phone, email}]}, updated_at_ms,
// updated_by}]), as a commander reads them beside a notice.
const duty = (c) => (c
  ? html`${c.contacts.office} · ${c.contacts.hours}<br>${c.contacts.contacts.map((p) => html`${p.role} ${p.name} <a href="tel:${p.phone}">${p.phone}</a> `)}`
  : html`<span class="muted">未登记联络人 no contacts</span>`);

export async function nationalIncident(id) {
  const i = await get("/api/v1/national/incidents/" + enc(id));
  const contacts = new Map((await get("/api/v1/national/contacts")).map((c) => [c.province, c]));
  show(html`<h1>跨省事件 <span id="incident-subject">${i.incident.report.subject}</span></h1>
    <p>报告省份 ${provinceName(i.incident.province)} · 涉及 <span id="incident-provinces">${i.trace.provinces.map(provinceName).join("、")}</span></p>
    <h2>跨省追溯 Trace</h2>${table([
      { head: "省", cell: (b) => provinceName(b.province) },
      { head: "品名", cell: (b) => b.product || "" },
      { head: "批号", cell: (b) => b.batch_no || "" },
      { head: "主体", cell: (b) => b.owner_name || b.owner_uscc || "" },
      { head: "关系", cell: (b) => b.relation },
      { head: "置信度", num: true, cell: (b) => b.confidence },
    ], i.trace.batches, { id: "national-trace" })}
    <h2>通报送达与确认 Delivery</h2>${table([
      { head: "省", cell: (d) => provinceName(d.province) },
      { head: "送达", cell: (d) => (d.none ? badge("未通报 no notice", "") : d.received_at_ms ? html`✓ ${dayMs(d.received_at_ms)}` : badge("未送达 pending", "warn")) },
      { head: "确认", cell: (d) => (d.none ? "" : d.ack ? html`✓ ${d.ack.by} ${dayMs(d.acked_at_ms)}` : badge("未确认", "warn")) },
      { head: "说明", cell: (d) => (d.ack && d.ack.note) || "" },
      { head: "定位持有者", num: true, cell: (d) => (d.ack ? d.ack.holders.length : "") },
      { head: "联络 duty contacts", cell: (d) => duty(contacts.get(d.province)) },
    ], everyProvince(i), { id: "deliveries" })}`);
}

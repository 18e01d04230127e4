// A provincial regulator's dashboard: GET /api/v1/dashboard (console::Dashboard {stats, coverage, days,
// open_incidents, quality: [Quality {city, kind, lots, flagged}]}).
import { get } from "./api.js";
import { html, show, table, fmt, kindName } from "./html.js";

export async function dashboard() {
  const d = await get("/api/v1/dashboard");
  const s = d.stats;
  const stat = (id, n, label) => html`<div class="stat"><b${id ? html` id="${id}"` : ""}>${fmt(n)}</b><span>${label}</span></div>`;
  show(html`<h1>概览 Dashboard</h1>
    <div class="grid">
      ${stat("stat-enterprises", s.enterprises, "主体 enterprises")}
      ${stat("stat-batches", s.batches, "批次 batches")}
      ${stat(null, s.movements, "出入库 movements")}
      ${stat(null, s.documents, "证明 documents")}
      ${stat("stat-open", d.open_incidents, "未结事件 open incidents")}
    </div>
    <h2>主体与报送覆盖 Enterprises by type and reporting (last ${d.days} days)</h2>
    ${table([
      { head: "类型 kind", cell: (c) => kindName(c.kind) },
      { head: "登记", num: true, cell: (c) => fmt(c.enterprises) },
      { head: "报送", num: true, cell: (c) => fmt(c.reporting) },
      { head: "覆盖率", num: true, cell: (c) => `${c.enterprises ? Math.round((100 * c.reporting) / c.enterprises) : 0}%` },
    ], d.coverage, { id: "coverage" })}
    <h2>数据质量 Data quality (lots without an open finding) · <a href="#/findings">核查问题 findings</a></h2>
    ${table([
      { head: "城市 city", cell: (q) => q.city },
      { head: "类型 kind", cell: (q) => kindName(q.kind) },
      { head: "批次·持有 lots", num: true, cell: (q) => fmt(q.lots) },
      { head: "有问题 flagged", num: true, cell: (q) => fmt(q.flagged) },
      { head: "质量率 rate", num: true, cell: (q) => `${q.lots ? Math.round((1000 * (q.lots - q.flagged)) / q.lots) / 10 : 100}%` },
    ], d.quality, { id: "quality", empty: "还没有批次 No lots yet" })}`);
}

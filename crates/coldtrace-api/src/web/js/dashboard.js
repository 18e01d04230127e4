// A provincial regulator's dashboard: GET /api/v1/dashboard (console::Dashboard {stats, coverage, days,
// open_incidents, overdue_tasks, quality: [Quality {city, kind, lots, flagged}], quality_trend: [QualityDay {day, city, kind,
// lots, flagged}]}).
import { get } from "./api.js";
import { html, show, table, fmt, kindName } from "./html.js";
import { cityName } from "./names.js";

const rate = (lots, flagged) => (lots ? Math.round((1000 * (lots - flagged)) / lots) / 10 : 100);
const BARS = "▁▂▃▄▅▆▇█";
// A rate series as a line of bars, 0% to 100%.
const spark = (rates) => rates.map((r) => BARS[Math.min(7, Math.floor((r / 100) * 8))]).join("");

// The quality trend of the whole scope: one rate per day, summed over cities and kinds.
function byDay(trend) {
  const days = new Map();
  for (const q of trend) {
    const d = days.get(q.day) || { day: q.day, lots: 0, flagged: 0 };
    d.lots += q.lots;
    d.flagged += q.flagged;
    days.set(q.day, d);
  }
  return [...days.values()];
}

// Census coverage and its trend by day, from GET /api/v1/statistics (statistics::Statistics: rows [StatRow
// {census, census_registered}], coverage_trend [CoverageDay {day, census, registered}]).
function coverageOf(st) {
  const t = st.rows.reduce((a, r) => ({ c: a.c + r.census, r: a.r + r.census_registered }), { c: 0, r: 0 });
  const days = new Map();
  for (const x of st.coverage_trend) {
    const d = days.get(x.day) || { c: 0, r: 0 };
    d.c += x.census;
    d.r += x.registered;
    days.set(x.day, d);
  }
  return {
    rate: t.c ? Math.round((1000 * t.r) / t.c) / 10 : null,
    trend: [...days.values()].map((d) => (d.c ? (100 * d.r) / d.c : 0)),
  };
}

export async function dashboard() {
  const d = await get("/api/v1/dashboard");
  const cov = coverageOf(await get("/api/v1/statistics"));
  const s = d.stats;
  const trendOf = (q) => d.quality_trend.filter((t) => t.city === q.city && t.kind === q.kind);
  const stat = (id, n, label, href) => {
    const inner = html`<b${id ? html` id="${id}"` : ""}>${fmt(n)}</b><span>${label}</span>`;
    return href ? html`<a class="stat" href="${href}">${inner}</a>` : html`<div class="stat">${inner}</div>`;
  };
  const flagged = d.quality.reduce((n, q) => n + q.flagged, 0);
  show(html`<h1>概览 Dashboard</h1>
    <div class="grid">
      ${stat("stat-enterprises", s.enterprises, "主体 enterprises")}
      ${stat("stat-batches", s.batches, "批次 batches")}
      ${stat(null, s.movements, "出入库 movements")}
      ${stat(null, s.documents, "证明 documents")}
      ${stat("stat-open", d.open_incidents, "未结事件 open incidents", "#/incidents")}
      ${stat("stat-overdue", d.overdue_tasks, "超2小时未处置 tasks over 2 h", "#/incidents")}
      ${stat("stat-flagged", flagged, "有核查问题的批次 lots with findings", "#/findings")}
      <a class="stat" href="#/statistics"><b id="stat-coverage">${cov.rate === null ? "—" : `${cov.rate}%`}</b><span>底数覆盖率 census coverage ${spark(cov.trend)}</span></a>
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
      { head: "城市 city", cell: (q) => cityName(q.city) },
      { head: "类型 kind", cell: (q) => kindName(q.kind) },
      { head: "批次·持有 lots", num: true, cell: (q) => fmt(q.lots) },
      { head: "有问题 flagged", num: true, cell: (q) => (q.flagged ? html`<a href="#/findings?city=${q.city}&kind=${q.kind}">${fmt(q.flagged)}</a>` : fmt(q.flagged)) },
      { head: "质量率 rate", num: true, cell: (q) => `${rate(q.lots, q.flagged)}%` },
      { head: `近${d.days}天 trend`, cell: (q) => spark(trendOf(q).map((t) => rate(t.lots, t.flagged))) },
    ], d.quality, { id: "quality", empty: "还没有批次 No lots yet" })}
    <h3>按日 By day (recorded by the sweep every 10 minutes; the last of a day stands for it)</h3>
    ${table([
      { head: "日期 day", cell: (t) => t.day },
      { head: "批次·持有 lots", num: true, cell: (t) => fmt(t.lots) },
      { head: "有问题 flagged", num: true, cell: (t) => fmt(t.flagged) },
      { head: "质量率 rate", num: true, cell: (t) => `${rate(t.lots, t.flagged)}%` },
    ], byDay(d.quality_trend).reverse(), { id: "quality-trend", empty: "还没有记录 No sweep recorded yet" })}`);
}

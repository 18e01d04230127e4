// The bureau's statistics: GET /api/v1/statistics answers statistics::Statistics {province, census_imported_at_ms,
// census_imported_by, matched_by_uscc, matched_by_name, matched_by_similar_name, rows: [StatRow {city, city_name,
// kind, enterprises, census, census_registered, committed, reporting, stopped, lots, lots_on_hand, flagged_lots,
// findings_open}], unregistered: [Unregistered {entry: CensusEntry {uscc, name, kind, region, address,
// contact_name, contact_phone}}], unregistered_parties: [UnregisteredParty {uscc, name, movements, last_at_ms}],
// stopped: [Stopped {enterprise, name, kind, region, place, last_reported_ms}], coverage_trend: [CoverageDay {day, city,
// kind, census, registered}]}; `?format=xlsx` the same as a workbook. A regulator replaces its census with
// POST /api/v1/census/import (CSV or XLSX), answered by CensusImportReport {encoding, rows, errors, stored}.
import { api, session, ApiError } from "./api.js";
import { html, show, table, fmt, byId, render, dayMs, saveFile, kindName, fail } from "./html.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const pct = (a, b) => (b ? `${Math.round((1000 * a) / b) / 10}%` : "—");
const BARS = "▁▂▃▄▅▆▇█";
const spark = (rates) => rates.map((r) => BARS[Math.min(7, Math.floor((r / 100) * 8))]).join("");

async function download() {
  const r = await fetch("/api/v1/statistics?format=xlsx", { headers: { Authorization: "Bearer " + session.key } });
  if (!r.ok) throw new Error(`${r.status} ${r.statusText}`);
  saveFile(await r.blob(), "statistics.xlsx");
}

export async function statisticsPage() {
  const s = await api("GET", "/api/v1/statistics");
  const total = s.rows.reduce((t, r) => ({ census: t.census + r.census, reg: t.reg + r.census_registered }), { census: 0, reg: 0 });
  const trendOf = (r) => s.coverage_trend.filter((t) => t.city === r.city && t.kind === r.kind).map((t) => (t.census ? (100 * t.registered) / t.census : 0));
  show(html`<h1>统计 Statistics</h1>
    <p>${s.census_imported_at_ms
      ? html`底数 census: <b id="census-total">${fmt(total.census)}</b> 家, 已登记 registered ${fmt(total.reg)} (<b id="census-coverage">${pct(total.reg, total.census)}</b>) · 匹配 matched by USCC ${s.matched_by_uscc}, name ${s.matched_by_name}, near name ${s.matched_by_similar_name} · 导入 ${dayMs(s.census_imported_at_ms)}`
      : html`<span class="muted">还没有导入底数 No census imported yet</span>`}
      · <button class="secondary" id="stats-xlsx">导出 XLSX</button></p>
    <div class="card"><form id="census-form" class="stack"><label for="census-file">导入底数 Import the census (CSV 或 Excel: 统一社会信用代码, 名称, 类型, 行政区划, 地址, 联系人, 联系电话)</label>
      <input id="census-file" type="file" accept=".csv,.xlsx" required>
      <p><button type="submit" id="census-btn">导入 Import</button></p></form><div id="census-report"></div></div>
    ${table([
      { head: "城市 city", cell: (r) => r.city_name },
      { head: "类型 kind", cell: (r) => kindName(r.kind) },
      { head: "登记 registered", num: true, cell: (r) => fmt(r.enterprises) },
      { head: "底数 census", num: true, cell: (r) => fmt(r.census) },
      { head: "覆盖率 coverage", num: true, cell: (r) => pct(r.census_registered, r.census) },
      { head: "趋势 trend", cell: (r) => spark(trendOf(r)) },
      { head: "承诺 committed", num: true, cell: (r) => fmt(r.committed) },
      { head: "报送 reporting", num: true, cell: (r) => fmt(r.reporting) },
      { head: "停报 stopped", num: true, cell: (r) => fmt(r.stopped) },
      { head: "在库批次 lots on hand", num: true, cell: (r) => fmt(r.lots_on_hand) },
      { head: "待处理问题 findings", num: true, cell: (r) => (r.findings_open ? html`<a href="#/findings?city=${r.city}&kind=${r.kind}">${fmt(r.findings_open)}</a>` : "0") },
      { head: "质量率 quality", num: true, cell: (r) => pct(r.lots - Math.min(r.lots, r.flagged_lots), r.lots) },
    ], s.rows, { id: "stat-rows", empty: "无 none" })}
    <h2>底数中未登记 In the census, not registered (${fmt(s.unregistered.length)})</h2>
    ${table([
      { head: "名称", cell: (u) => u.entry.name },
      { head: "类型", cell: (u) => kindName(u.entry.kind) },
      { head: "地区", cell: (u) => u.place },
      { head: "统一社会信用代码", cell: (u) => u.entry.uscc || "" },
      { head: "联系人", cell: (u) => `${u.entry.contact_name || ""} ${u.entry.contact_phone || ""}` },
    ], s.unregistered, { id: "census-unregistered", empty: "无 none" })}
    <h2>台账中出现但未登记 Named in ledgers, not registered (${fmt(s.unregistered_parties.length)})</h2>
    ${table([
      { head: "名称", cell: (u) => u.name },
      { head: "统一社会信用代码", cell: (u) => u.uscc },
      { head: "出现次数", num: true, cell: (u) => fmt(u.movements) },
      { head: "最近", cell: (u) => dayMs(u.last_at_ms) },
    ], s.unregistered_parties, { id: "named-unregistered", empty: "无 none" })}
    <h2>停止报送 Stopped reporting (${fmt(s.stopped.length)})</h2>
    ${table([
      { head: "名称", cell: (x) => x.name },
      { head: "类型", cell: (x) => kindName(x.kind) },
      { head: "地区", cell: (x) => x.place },
      { head: "最后报送", cell: (x) => dayMs(x.last_reported_ms) },
    ], s.stopped, { id: "stopped", empty: "无 none" })}`);
  byId("stats-xlsx").onclick = () => download().catch((e) => fail(byId("census-report"), e));
  byId("census-form").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = byId("census-file").files[0];
    const type = f.name.toLowerCase().endsWith(".xlsx") ? XLSX : "text/csv";
    try {
      const r = await api("POST", "/api/v1/census/import", undefined, { bytes: await f.arrayBuffer(), type });
      if (r.code) throw new ApiError(422, r.message, r.field);
      const shown = html`<p>${r.rows} 行 rows · <b id="census-errors">${r.errors.length}</b> 错误 errors${r.stored !== null ? html` · <span id="census-stored">已导入 ${r.stored}</span>` : ""}</p>
        ${r.errors.length ? table([
          { head: "行 row", num: true, cell: (e) => e.row },
          { head: "列 column", cell: (e) => e.column || "" },
          { head: "原因 reason", cell: (e) => e.reason },
        ], r.errors, { id: "census-row-errors" }) : ""}`;
      if (r.stored !== null) await statisticsPage();
      render(byId("census-report"), shown);
    } catch (e) { fail(byId("census-report"), e); }
  };
}

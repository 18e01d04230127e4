// Findings of the ledger checks for the duty shift: GET /api/v1/findings?status=open answers
// findings::FindingPage {items: [Finding {id, rule, code, status, enterprise, province, declaration, batch, movement, message,
// opened_at_ms, answer: FindingAnswer {note, record, by, at_ms} | null, closed_at_ms, closed_by, reason}], next};
// a regulator resolves one (put right, usually after the enterprise's answer) with
// POST /api/v1/findings/{id}/resolve {reason}, or dismisses it with POST /api/v1/findings/{id}/dismiss {reason}.
import { get, post, enc, session } from "./api.js";
import { html, show, table, badge, byId, dayMs, fail } from "./html.js";
import { cityName, kindLabel } from "./names.js";

const RULES = [["", "全部 all"], ["stock_conservation", "库存守恒"], ["time_order", "时间顺序"], ["four_nots", "四不得"],
  ["future_time", "未来时间"], ["batch_quantity", "数量与批次不符"], ["in_transit", "在途未达"],
  ["unregistered_counterparty", "交易对象未登记"], ["stale_nucleic_acid", "核酸报告过期"], ["dormant_stock", "库存长期未动"],
  ["customs_mismatch", "与报关不符"], ["customs_unknown", "报关单不存在"], ["customs_unrecorded", "申报未入账"]];
const STATUSES = [["open", "待处理 open"], ["answered", "已答复 answered"], ["resolved", "已整改 resolved"], ["dismissed", "已排除 dismissed"]];
const pending = (f) => f.status === "open" || f.status === "answered";

export async function findingsPage(rule, status, city, kind) {
  const st = status || "open";
  const q = new URLSearchParams({ status: st, limit: "200" });
  if (rule) q.set("rule", rule);
  if (city) q.set("city", city);
  if (kind) q.set("kind", kind);
  const page = await get(`/api/v1/findings?${q}`);
  // Only a regulator resolves or dismisses; customs and the national platform read.
  const regulator = session.me && session.me.role === "regulator";
  // Links keep the other filters; the dashboard's data quality links here by city and kind.
  const link = (r, s2) => {
    const p = new URLSearchParams({ rule: r, status: s2 });
    if (city) p.set("city", city);
    if (kind) p.set("kind", kind);
    return `#/findings?${p}`;
  };
  const where = city || kind
    ? html` · <span id="findings-where">${[cityName(city), kindLabel(kind)].filter(Boolean).join(" · ")}</span> <a href="${`#/findings?rule=${enc(rule || "")}&status=${st}`}">全部地区 all</a>`
    : "";
  const filter = html`<p>${RULES.map(([r, name]) => html`<a class="${(rule || "") === r ? "active" : ""}" href="${link(r, st)}">${name}</a> `)}
    · ${STATUSES.map(([s2, name]) => html`<a class="${st === s2 ? "active" : ""}" href="${link(rule || "", s2)}">${name}</a> `)}${where}</p>`;
  show(html`<h1>台账核查问题 Ledger findings</h1>${filter}
    ${table([
      { head: "规则", cell: (f) => badge(f.code, pending(f) ? "warn" : "") },
      { head: "问题", cell: (f) => f.message },
      { head: "企业答复 answer", cell: (f) => (f.answer ? html`${f.answer.note} <span class="muted">(${dayMs(f.answer.at_ms)}, 记录 ${f.answer.record.slice(0, 8)})</span>` : "") },
      { head: "批次", cell: (f) => (f.batch ? html`<a href="#/batch/${f.batch}">${f.batch.slice(0, 8)}</a>` : "") },
      { head: "报关单", cell: (f) => (f.declaration ? html`<code>${f.declaration}</code>` : "") },
      { head: "发现", cell: (f) => dayMs(f.opened_at_ms) },
      { head: "处理", cell: (f) => (pending(f) && regulator
        ? html`<input data-reason="${f.id}" placeholder="原因 reason"> <button data-resolve="${f.id}">已整改 Resolve</button> <button data-dismiss="${f.id}">排除 Dismiss</button>`
        : `${f.status} ${f.reason || ""}`) },
    ], page.items, { id: "findings", empty: "没有问题 No findings" })}<div id="msg"></div>`);
  for (const action of ["resolve", "dismiss"]) {
    document.querySelectorAll(`[data-${action}]`).forEach((b) => {
      b.onclick = async () => {
        const id = b.dataset[action];
        const reason = document.querySelector(`[data-reason="${id}"]`).value;
        try { await post(`/api/v1/findings/${id}/${action}`, { reason }); await findingsPage(rule, status, city, kind); }
        catch (e) { fail(byId("msg"), e); }
      };
    });
  }
}

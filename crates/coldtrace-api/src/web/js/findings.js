// Findings of the ledger checks for the duty shift: GET /api/v1/findings?status=open answers
// findings::FindingPage {items: [Finding {id, rule, code, status, enterprise, province, batch, movement, message,
// opened_at_ms, closed_at_ms, closed_by, reason}], next}; a regulator dismisses one with
// POST /api/v1/findings/{id}/dismiss {reason}.
import { get, post, enc } from "./api.js";
import { html, show, table, badge, byId, render, errorBox, dayMs } from "./html.js";

const RULES = [["", "全部 all"], ["stock_conservation", "库存守恒"], ["time_order", "时间顺序"], ["four_nots", "四不得"], ["future_time", "未来时间"]];

export async function findingsPage(rule, status) {
  const st = status || "open";
  const q = new URLSearchParams({ status: st, limit: "200" });
  if (rule) q.set("rule", rule);
  const page = await get(`/api/v1/findings?${q}`);
  const filter = html`<p>${RULES.map(([r, name]) => html`<a class="${(rule || "") === r ? "active" : ""}" href="#/findings?rule=${enc(r)}&status=${enc(st)}">${name}</a> `)}
    · ${["open", "resolved", "dismissed"].map((s) => html`<a class="${st === s ? "active" : ""}" href="#/findings?rule=${enc(rule || "")}&status=${s}">${s}</a> `)}</p>`;
  show(html`<h1>台账核查问题 Ledger findings</h1>${filter}
    ${table([
      { head: "规则", cell: (f) => badge(f.code, f.status === "open" ? "warn" : "") },
      { head: "问题", cell: (f) => f.message },
      { head: "批次", cell: (f) => (f.batch ? html`<a href="#/batch/${f.batch}">${f.batch.slice(0, 8)}</a>` : "") },
      { head: "发现", cell: (f) => dayMs(f.opened_at_ms) },
      { head: "处理", cell: (f) => (f.status === "open"
        ? html`<input data-reason="${f.id}" placeholder="原因 reason"> <button data-dismiss="${f.id}">排除 Dismiss</button>`
        : `${f.status} ${f.reason || ""}`) },
    ], page.items, { id: "findings", empty: "没有问题 No findings" })}<div id="msg"></div>`);
  document.querySelectorAll("[data-dismiss]").forEach((b) => {
    b.onclick = async () => {
      const reason = document.querySelector(`[data-reason="${b.dataset.dismiss}"]`).value;
      try { await post(`/api/v1/findings/${b.dataset.dismiss}/dismiss`, { reason }); await findingsPage(rule, status); }
      catch (e) { render(byId("msg"), errorBox(e)); }
    };
  });
}

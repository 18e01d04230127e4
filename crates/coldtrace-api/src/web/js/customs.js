// Customs data: GET /api/v1/customs/declarations answers platform::customs::DeclarationPage {items:
// [StoredDeclaration {declaration_no, port, declared_on, consignee_uscc, consignee_name, certificate_nos, lines:
// [DeclarationLine {hs_code, product, origin_country, establishment_no, quantity, unit, net_weight_kg, containers,
// seals}], province, submitted_by, received_at_ms}], next}. Customs uploads a feed file with
// POST /api/v1/customs/declarations/import, answered by CustomsImportReport {encoding, rows, declarations, errors:
// [RowError {row, column, reason}], ignored_columns, receipt: CustomsReceipt {stored, unchanged, replaced, opened,
// resolved} | null}. The cross-check's findings are on the findings page (CT-CUS-…).
import { api, get, enc, session, ApiError } from "./api.js";
import { html, show, table, fmt, byId, render, dayMs, fail } from "./html.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

export async function customsPage(after) {
  const page = await get(`/api/v1/customs/declarations?limit=100${after ? `&after=${enc(after)}` : ""}`);
  const upload = session.me && session.me.role === "customs"
    ? html`<div class="card"><h2>上传报关数据 Upload a feed</h2><form id="customs-feed" class="stack">
      <label for="feed-file">CSV 或 Excel (.xlsx)：每行一个商品项 one row per goods line</label>
      <input id="feed-file" type="file" accept=".csv,.xlsx" required>
      <p><button type="submit" id="feed-btn">上传 Upload</button></p></form><div id="feed-report"></div></div>`
    : "";
  show(html`<h1>报关数据 Customs declarations</h1>
    <p class="muted">与企业批次自动比对 Each declaration is cross-checked against the importers' batches:
      <a href="#/findings?rule=customs_mismatch">不符 differences</a> ·
      <a href="#/findings?rule=customs_unknown">不存在 unknown</a> ·
      <a href="#/findings?rule=customs_unrecorded">未入账 unrecorded</a></p>
    ${upload}
    ${table([
      { head: "报关单号", cell: (d) => html`<code>${d.record.declaration_no}</code>` },
      { head: "申报日期", cell: (d) => d.record.declared_on },
      { head: "口岸", cell: (d) => d.record.port || "" },
      { head: "收货人", cell: (d) => d.record.consignee_name || d.record.consignee_uscc },
      { head: "商品 goods", cell: (d) => d.record.lines.map((l) => `${l.product} ${fmt(l.quantity)} ${l.unit} / ${fmt(l.net_weight_kg)} kg (${l.origin_country})`).join("；") },
      { head: "集装箱", cell: (d) => d.record.lines.flatMap((l) => l.containers).join(" ") },
      { head: "证明", cell: (d) => d.record.certificate_nos.join(" ") },
      { head: "接收", cell: (d) => dayMs(d.received_at_ms) },
    ], page.items, { id: "declarations", empty: "还没有报关数据 No declarations yet" })}
    ${page.next ? html`<p><a href="#/customs?after=${enc(page.next)}">下一页 next</a></p>` : ""}`);
  const form = byId("customs-feed");
  if (!form) return;
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const f = byId("feed-file").files[0];
    const type = f.name.toLowerCase().endsWith(".xlsx") ? XLSX : "text/csv";
    const out = byId("feed-report");
    try {
      const r = await api("POST", "/api/v1/customs/declarations/import", undefined, { bytes: await f.arrayBuffer(), type });
      // A 422 is the report with its row errors, unless the file itself was refused (the ErrorBody).
      if (r.code) throw new ApiError(422, r.message, r.field);
      const rc = r.receipt;
      const shown = html`<p>${r.rows} 行 rows · ${r.declarations} 报关单 declarations · <b id="feed-errors">${r.errors.length}</b> 错误 errors
        ${rc ? html` · <span id="feed-receipt">新 ${rc.stored} · 未变 ${rc.unchanged} · 更正 ${rc.replaced} · 新问题 ${rc.opened} · 已解决 ${rc.resolved}</span>` : ""}</p>
        ${r.errors.length ? table([
          { head: "行 row", num: true, cell: (e) => e.row },
          { head: "列 column", cell: (e) => e.column || "" },
          { head: "原因 reason", cell: (e) => e.reason },
        ], r.errors, { id: "feed-row-errors" }) : ""}`;
      // Stored: the list shows the new declarations, with the report above it.
      if (rc) await customsPage();
      render(byId("feed-report"), shown);
    } catch (e) { fail(out, e); }
  };
}

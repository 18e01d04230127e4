// Batch search (by any code or by batch number) and a batch's page with its codes and documents; a regulator
// publishes it or registers a positive test from there.
// GET /api/v1/codes/{code}: {code, says, batch}; GET /api/v1/batches?batch_no=: {items: [Stored<Batch>], next};
// GET /api/v1/batches/{id}: views::BatchDetail, the batch with `documents` (Stored<Document>), `codes` (NativeCode
// {scheme, value}), product_name, origin_country, owner_name, published, holders [Holding {holder, province,
// on_hand, unit}], open_incidents [IncidentRef {id, subject}] and open_findings [Finding].
import { get, post, enc, session } from "./api.js";
import { html, show, render, byId, table, fmt, badge, fail } from "./html.js";
import { docName, provinceName } from "./names.js";

function looksLikeCode(q) {
  return /^(https?:\/\/|\(0[12]\)|\d{14}$|\d{18}$|01\d{14})/i.test(q) || q.split(".").length === 4;
}

export async function batches(q) {
  show(html`<h1>批次 Batches</h1>
    <form id="search" class="row"><input id="q" size="48" placeholder="追溯码 / 批号 / code or batch number" value="${q || ""}" autofocus>
    <button type="submit" id="search-btn">查询 Search</button></form><div id="results"></div>`);
  byId("search").onsubmit = (ev) => { ev.preventDefault(); location.hash = "#/batches?q=" + enc(byId("q").value.trim()); };
  if (!q) return;
  const out = byId("results");
  try {
    if (looksLikeCode(q)) {
      const r = await get("/api/v1/codes/" + enc(q));
      location.hash = "#/batch/" + r.batch.id;
      return;
    }
    const list = await get("/api/v1/batches?batch_no=" + enc(q));
    render(out, table([
      { head: "批号", cell: (b) => b.batch_no },
      { head: "数量", num: true, cell: (b) => `${fmt(b.quantity)} ${b.unit}` },
      { head: "报关单号", cell: (b) => b.declaration_no || "" },
      { head: "", cell: (b) => html`<a href="#/batch/${b.id}">打开 open</a>` },
    ], list.items, { id: "batch-results", empty: "没有结果 / nothing found" }));
  } catch (e) { fail(out, e); }
}

// The public page of a code: a URL code's path after /t/, any other code as it is.
const publicPath = (value) => "/t/" + enc(value.replace(/^https?:\/\/[^/]+\/t\//, ""));

export async function batchPage(id) {
  const b = await get("/api/v1/batches/" + enc(id));
  const regulator = session.me.role === "regulator";
  const codes = b.codes.map((c) => html`<li>${badge(c.scheme)} <code>${c.value}</code> <a href="${publicPath(c.value)}" target="_blank">公众页 public</a></li>`);
  const docs = b.documents.map((d) => html`<li>${docName(d.kind)} ${d.number} ${d.result ? badge(d.result, d.result === "negative" ? "ok" : "bad") : ""}</li>`);
  const warnings = [
    ...b.open_incidents.map((i) => html`<div class="error" role="alert">⚠ 阳性处置中 Under an open incident: <a href="#/incident/${i.id}">${i.subject}</a></div>`),
    ...(b.open_findings.length ? [html`<div class="notice" id="batch-findings">核查问题 ${b.open_findings.length} 个 open findings:
      ${b.open_findings.map((f) => html`<br>${badge(f.code, "warn")} ${f.message}`)} · <a href="#/findings">查看 see findings</a></div>`] : []),
  ];
  show(html`<h1>批次 <span id="batch-no">${b.batch_no}</span> <small>${b.product_name || ""}</small></h1>
    ${warnings}
    <div class="card"><table>
      <tr><th>产品</th><td>${b.product_name || "-"}</td><th>原产国</th><td>${b.origin_country || "-"}</td></tr>
      <tr><th>货主</th><td>${b.owner_name || "-"}</td><th>公众查询</th><td id="published">${b.published ? badge("已发布 published", "ok") : badge("未发布 not published")}</td></tr>
      <tr><th>数量</th><td>${fmt(b.quantity)} ${b.unit}</td><th>报关单号</th><td>${b.declaration_no || "-"}</td></tr>
      <tr><th>检验检疫证明</th><td>${b.inspection_cert_no || "-"}</td><th>入境口岸</th><td>${b.port_of_entry || "-"} ${b.import_date || ""}</td></tr>
    </table>
    <h2>现持有 Held now</h2>${table([
      { head: "持有者 holder", cell: (h) => h.holder },
      { head: "省 province", cell: (h) => provinceName(h.province) },
      { head: "在库 on hand", num: true, cell: (h) => `${fmt(h.on_hand)} ${h.unit}` },
    ], b.holders, { id: "batch-holders", empty: "无在库 nothing on hand" })}
    <h2>追溯码 Codes</h2><ul>${codes}</ul><h2>证明 Documents</h2><ul>${docs.length ? docs : html`<li class="muted">无</li>`}</ul></div>
    <p><a href="#/trace/${b.id}"><button id="open-trace">追溯 Trace</button></a>
    ${regulator ? html`${b.published
      ? html`<button id="withdraw" class="secondary">撤回发布 Withdraw</button>`
      : html`<button id="publish" class="secondary">审核发布 Publish</button>`} <button id="positive" class="danger">登记阳性 Register positive test</button>` : ""}</p>
    <div id="msg"></div>`);
  if (!regulator) return;
  const msg = byId("msg");
  if (byId("publish")) {
    byId("publish").onclick = async () => {
      try { await post(`/api/v1/batches/${b.id}/publish`); await batchPage(id); render(byId("msg"), html`<div class="notice">已发布到公众查询 / published</div>`); }
      catch (e) { fail(msg, e); }
    };
  }
  if (byId("withdraw")) {
    byId("withdraw").onclick = async () => {
      try { await post(`/api/v1/batches/${b.id}/withdraw`); await batchPage(id); render(byId("msg"), html`<div class="notice">已撤回 / withdrawn</div>`); }
      catch (e) { fail(msg, e); }
    };
  }
  // Registering a positive test asks for the sample's time and kind, and a confirmation (incidents.js).
  byId("positive").onclick = () => { location.hash = "#/register?batch=" + enc(b.id) + "&label=" + enc(b.batch_no); };
}

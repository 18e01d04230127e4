// Notices this province received from the national platform, each acknowledged once.
// GET /api/v1/notices: [NoticeInRow {notice: Notice {id, from_province, subject, lines: [NoticeItem]}, incident,
// received_at_ms, acked_at_ms, acked_by, ack_note}]; POST /api/v1/notices/{id}/ack with AckRequest {note}.
import { get, post } from "./api.js";
import { html, show, byId, table, fmt, badge, day, fail } from "./html.js";

export async function noticesPage() {
  const list = await get("/api/v1/notices");
  const card = (n) => html`<div class="card"><b>来自 ${n.notice.from_province} 的通报</b> · ${n.notice.subject}
    ${table([
      { head: "品名", cell: (l) => l.food_name },
      { head: "批号", cell: (l) => l.batch_no },
      { head: "数量", num: true, cell: (l) => `${fmt(l.quantity_milli / 1000)} ${l.unit}` },
      { head: "销售日期", cell: (l) => day(l.sale_date) },
      { head: "销售方", cell: (l) => `${l.seller || ""} ${l.seller_uscc || ""}` },
      { head: "关系", cell: (l) => html`${l.relation} ${l.confidence < 1 ? badge(l.confidence, "warn") : ""}` },
    ], n.notice.lines)}
    <p>${n.incident ? html`<a href="#/incident/${n.incident}">本省处置 local incident</a>` : ""}
    ${n.acked_at_ms ? badge("已确认 acknowledged", "ok") : html`<button data-ack="${n.notice.id}">确认收到 Acknowledge</button>`}</p></div>`;
  show(html`<h1>国家平台通报 National notices</h1>${list.length ? list.map(card) : html`<p class="muted">无通报</p>`}<div id="msg"></div>`);
  document.querySelectorAll("[data-ack]").forEach((b) => {
    b.onclick = async () => {
      try { await post(`/api/v1/notices/${b.dataset.ack}/ack`); await noticesPage(); }
      catch (e) { fail(byId("msg"), e); }
    };
  });
}

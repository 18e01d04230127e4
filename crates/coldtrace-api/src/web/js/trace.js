// The trace of a batch, both directions: the holders drawn as boxes coloured by province with the flows between
// them, beside the list of holders. GET /api/v1/trace?batch=&direction=both answers a platform::trace::TracePage:
// {batches, holders: [HolderOut], flows: [FlowOut {from, to, batch, quantity, at, via}], provinces, ...,
// page: {offset, limit, holders_total, batches_total, flows_total, next_offset}}; a large trace comes in pages.
import { get, enc } from "./api.js";
import { html, show, table, fmt, day } from "./html.js";

const PALETTE = ["#0b5cab", "#1f7a3f", "#a15c00", "#7b3fa0", "#b3261e", "#00796b", "#5d4037", "#455a64"];
const W = 190, H = 64, GX = 80, GY = 18;

// Lays holders out in columns by how many flows separate them from where the goods entered, and draws the flows
// between them with their quantities.
export function graph(answer) {
  const hs = answer.holders;
  const idx = new Map(hs.map((h, i) => [h.key, i]));
  const flows = answer.flows.filter((f) => idx.has(f.from) && idx.has(f.to));
  const depth = hs.map(() => 0);
  for (let round = 0; round < hs.length; round++) {
    let changed = false;
    flows.forEach((f) => {
      const a = idx.get(f.from), b = idx.get(f.to);
      if (depth[b] < depth[a] + 1 && depth[a] + 1 < hs.length) { depth[b] = depth[a] + 1; changed = true; }
    });
    if (!changed) break;
  }
  const cols = new Map();
  hs.forEach((h, i) => { const d = depth[i]; if (!cols.has(d)) cols.set(d, []); cols.get(d).push(i); });
  const place = (h) => h.province_name || h.province || "境外";
  const provinces = [...new Set(hs.map(place))];
  const color = (p) => PALETTE[provinces.indexOf(p) % PALETTE.length];
  const pos = new Map();
  let maxRows = 0;
  [...cols.keys()].sort((a, b) => a - b).forEach((d, ci) => {
    cols.get(d).forEach((i, ri) => pos.set(i, { x: 10 + ci * (W + GX), y: 10 + ri * (H + GY) }));
    maxRows = Math.max(maxRows, cols.get(d).length);
  });
  const width = 20 + cols.size * (W + GX), height = 20 + maxRows * (H + GY);
  // One arrow per pair of holders, with the quantity that passed: the sender's records or the receiver's,
  // whichever says more (both usually record the same shipment).
  const pairs = new Map();
  flows.forEach((f) => {
    const k = f.from + ">" + f.to;
    const p = pairs.get(k) || { from: f.from, to: f.to, sent: 0, received: 0 };
    if (f.via === "receive") p.received += f.quantity; else p.sent += f.quantity;
    pairs.set(k, p);
  });
  const edges = [...pairs.values()].map((p) => {
    const a = pos.get(idx.get(p.from)), b = pos.get(idx.get(p.to));
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const back = x2 <= x1;
    const d = back
      ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 30} ${b.x + W / 2},${b.y + H + 30} ${b.x + W / 2},${b.y + H}`
      : `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
    const tx = back ? (a.x + b.x + W) / 2 : (x1 + x2) / 2;
    const ty = back ? Math.max(a.y, b.y) + H + 26 : (y1 + y2) / 2 - 5;
    return html`<path class="flow" d="${d}" fill="none" stroke="#8a97a8" stroke-width="1.5" marker-end="url(#arrow)"/>
      <text x="${tx}" y="${ty}" text-anchor="middle" class="flow-qty" font-weight="600">${fmt(Math.max(p.sent, p.received))}</text>`;
  });
  const nodes = hs.map((h, i) => {
    const { x, y } = pos.get(i);
    const c = color(place(h));
    return html`<g class="node"><rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="#fff" stroke="${c}" stroke-width="2"/>
      <rect x="${x}" y="${y}" width="6" height="${H}" rx="3" fill="${c}"/>
      <text x="${x + 12}" y="${y + 18}" font-weight="600">${String(h.name).slice(0, 16)}</text>
      <text x="${x + 12}" y="${y + 35}" fill="#5b6675">${h.province_name || "境外 overseas"} ${h.city || ""}</text>
      <text x="${x + 12}" y="${y + 52}">在库 on hand: <tspan font-weight="700">${fmt(h.on_hand)}</tspan></text></g>`;
  });
  const legend = provinces.map((p) => html`<span><i style="background:${color(p)}"></i>${p}</span>`);
  return html`<div class="legend">省份 provinces: ${legend}</div>
    <svg class="graph" id="trace-graph" viewBox="0 0 ${width} ${height + 40}" height="${Math.min(height + 40, 640)}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a97a8"/></marker></defs>${edges}${nodes}</svg>`;
}

export async function tracePage(id, offset) {
  const from = Number(offset) || 0;
  const a = await get(`/api/v1/trace?batch=${enc(id)}&direction=both&offset=${from}`);
  const pg = a.page;
  const shown = pg.holders_total > a.holders.length
    ? html` · 第 ${from + 1}–${from + a.holders.length} 个 showing ${from + 1}–${from + a.holders.length}`
    : "";
  const pager = html`${from > 0 ? html`<a href="#/trace/${id}/${Math.max(0, from - pg.limit)}">上一页 previous</a> ` : ""}${
    pg.next_offset !== null && pg.next_offset !== undefined ? html`<a id="next-page" href="#/trace/${id}/${pg.next_offset}">下一页 next</a>` : ""}`;
  show(html`<h1>追溯 Trace</h1><p class="muted">${pg.holders_total} 个持有者 holders · ${pg.batches_total} 个批次 batches${shown} ${pager}</p>
    <div class="split"><div>${graph(a)}</div>
    <div>${table([
      { head: "持有者", cell: (h) => h.name },
      { head: "地区", cell: (h) => `${h.province_name || ""} ${h.city || ""}` },
      { head: "联系人", cell: (h) => `${h.contact_name || ""} ${h.contact_phone || ""}` },
      { head: "在库", num: true, cell: (h) => fmt(h.on_hand) },
      { head: "最早", cell: (h) => day(h.earliest) },
    ], a.holders, { id: "holders" })}</div></div>`);
}

// The trace of a batch, both directions: the holders drawn as boxes coloured by province in layers (where the
// goods entered on the left), the flows between them with their quantities and units, zoom and pan for a large
// trace; beside it a holder table that sorts, filters by province or name, opens each holder's batches, and
// exports every movement as CSV or XLSX.
// GET /api/v1/trace?batch=&direction=both answers a platform::trace::TracePage: {batches, holders: [HolderOut
// {key, name, province, province_name, city, place, contact_name, contact_phone, earliest, on_hand, lots: [LotOut
// {batch_no, product, unit, on_hand, received, shipped, sold}]}], flows: [FlowOut {from, to, batch, quantity, at,
// via}], provinces, ..., page: {offset, limit, holders_total, batches_total, flows_total, next_offset}}; a large
// trace comes in pages. With `format=csv|xlsx` it answers the file; `kde_csv|kde_xlsx` the key data elements.
import { get, enc, session } from "./api.js";
import { html, show, table, fmt, day, byId, render, saveFile, fail } from "./html.js";

const PALETTE = ["#0b5cab", "#1f7a3f", "#a15c00", "#7b3fa0", "#b3261e", "#00796b", "#5d4037", "#455a64"];
const W = 230, H = 70, GX = 110, GY = 22;

// A holder's stock with its unit ("300 carton"; several units are listed each).
export function stock(h) {
  const by = new Map();
  for (const l of h.lots || []) by.set(l.unit, (by.get(l.unit) || 0) + l.on_hand);
  if (by.size === 0) return fmt(h.on_hand);
  return [...by.entries()].map(([u, q]) => `${fmt(q)} ${u}`).join(" + ");
}

const place = (h) => h.province_name || (h.province ? h.province : "未登记 unregistered");

// Layers by how many flows separate a holder from where the goods entered; within a layer, holders are ordered
// by the mean position of their neighbours (a few sweeps each way), which removes most crossings.
function layout(hs, flows, idx) {
  const depth = hs.map(() => 0);
  for (let round = 0; round < hs.length; round++) {
    let changed = false;
    for (const f of flows) {
      const a = idx.get(f.from), b = idx.get(f.to);
      if (depth[b] < depth[a] + 1 && depth[a] + 1 < hs.length) { depth[b] = depth[a] + 1; changed = true; }
    }
    if (!changed) break;
  }
  const layers = [];
  hs.forEach((_, i) => { (layers[depth[i]] ||= []).push(i); });
  const cols = layers.filter(Boolean);
  const order = new Map();
  const rank = () => cols.forEach((c) => c.forEach((i, r) => order.set(i, r)));
  rank();
  const nbrs = hs.map(() => ({ up: [], down: [] }));
  for (const f of flows) {
    const a = idx.get(f.from), b = idx.get(f.to);
    nbrs[b].up.push(a);
    nbrs[a].down.push(b);
  }
  const mean = (xs, own) => (xs.length ? xs.reduce((s, x) => s + order.get(x), 0) / xs.length : own);
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const seq = down ? cols : [...cols].reverse();
    for (const c of seq) {
      c.sort((x, y) => mean(down ? nbrs[x].up : nbrs[x].down, order.get(x)) - mean(down ? nbrs[y].up : nbrs[y].down, order.get(y)));
      c.forEach((i, r) => order.set(i, r));
    }
  }
  const pos = new Map();
  const maxRows = Math.max(1, ...cols.map((c) => c.length));
  cols.forEach((c, ci) => {
    // Each column centred on the tallest.
    const top = ((maxRows - c.length) * (H + GY)) / 2;
    c.forEach((i, ri) => pos.set(i, { x: 10 + ci * (W + GX), y: 10 + top + ri * (H + GY) }));
  });
  return { pos, width: 20 + cols.length * (W + GX) - GX, height: 20 + maxRows * (H + GY) };
}

export function graph(answer) {
  const hs = answer.holders;
  const idx = new Map(hs.map((h, i) => [h.key, i]));
  const flows = answer.flows.filter((f) => idx.has(f.from) && idx.has(f.to) && f.from !== f.to);
  const { pos, width, height } = layout(hs, flows, idx);
  const provinces = [...new Set(hs.map(place))];
  const color = (p) => PALETTE[provinces.indexOf(p) % PALETTE.length];
  const unitOf = new Map(answer.batches.map((b) => [b.id, b.unit]));
  // One arrow per pair of holders, with the quantity that passed: the sender's records or the receiver's,
  // whichever says more (both usually record the same shipment).
  const pairs = new Map();
  for (const f of flows) {
    const k = f.from + ">" + f.to;
    const p = pairs.get(k) || { from: f.from, to: f.to, sent: 0, received: 0, unit: unitOf.get(f.batch) || "" };
    if (f.via === "receive") p.received += f.quantity; else p.sent += f.quantity;
    pairs.set(k, p);
  }
  // Each arrow leaves and enters its boxes at its own point (ports ordered by the other end's height), so arrows
  // into one box and their quantities do not lie on top of each other.
  const list = [...pairs.values()];
  const port = new Map();
  for (const [end, other] of [["from", "to"], ["to", "from"]]) {
    const by = new Map();
    for (const p of list) (by.get(p[end]) || by.set(p[end], []).get(p[end])).push(p);
    for (const [, ps] of by) {
      ps.sort((x, y) => pos.get(idx.get(x[other])).y - pos.get(idx.get(y[other])).y);
      ps.forEach((p, k) => port.set(p[end] + ">" + p[other] + ">" + end, ((k + 1) * H) / (ps.length + 1)));
    }
  }
  const edges = list.map((p) => {
    const a = pos.get(idx.get(p.from)), b = pos.get(idx.get(p.to));
    const x1 = a.x + W, y1 = a.y + port.get(p.from + ">" + p.to + ">from");
    const x2 = b.x, y2 = b.y + port.get(p.to + ">" + p.from + ">to");
    const back = x2 <= x1;
    const d = back
      ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 34} ${b.x + W / 2},${b.y + H + 34} ${b.x + W / 2},${b.y + H}`
      : `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
    // The quantity sits just before the arrowhead, where each receiver's arrows are apart.
    const tx = back ? (a.x + b.x + W) / 2 : x2 - 8;
    const ty = back ? Math.max(a.y, b.y) + H + 30 : y2 - 3;
    return html`<path class="flow" d="${d}" fill="none" stroke="#8a97a8" stroke-width="1.5" marker-end="url(#arrow)"/>
      <text x="${tx}" y="${ty}" text-anchor="end" class="flow-qty" font-size="11" font-weight="600">${fmt(Math.max(p.sent, p.received))} ${p.unit}</text>`;
  });
  const nodes = hs.map((h, i) => {
    const { x, y } = pos.get(i);
    const c = color(place(h));
    const name = String(h.name);
    return html`<g class="node" data-key="${h.key}" data-province="${place(h)}"><title>${name}</title>
      <rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="#fff" stroke="${c}" stroke-width="2"/>
      <rect x="${x}" y="${y}" width="6" height="${H}" rx="3" fill="${c}"/>
      <text x="${x + 12}" y="${y + 20}" font-size="14" font-weight="600">${name.length > 15 ? name.slice(0, 14) + "…" : name}</text>
      <text x="${x + 12}" y="${y + 39}" font-size="12" fill="#5b6675">${place(h)} ${h.place || ""}</text>
      <text x="${x + 12}" y="${y + 58}" font-size="12">在库 on hand <tspan font-weight="700">${stock(h)}</tspan></text></g>`;
  });
  const legend = provinces.map((p) => html`<span><i style="background:${color(p)}"></i>${p}</span>`);
  return html`<div class="legend">省份 provinces: ${legend}</div>
    <div class="graph-tools"><button class="secondary" id="zoom-in" type="button">放大 +</button>
      <button class="secondary" id="zoom-out" type="button">缩小 −</button>
      <button class="secondary" id="zoom-fit" type="button">适应宽度 fit</button></div>
    <div class="graph-box" id="graph-box"><svg class="graph" id="trace-graph" data-width="${width}" data-height="${height + 40}"
      width="${width}" height="${height + 40}" viewBox="0 0 ${width} ${height + 40}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a97a8"/></marker></defs>${edges}${nodes}</svg></div>`;
}

// Zoom by resizing the drawing (the box scrolls to pan); labels keep their size in the drawing's units.
function zoomable() {
  const svg = byId("trace-graph");
  const box = byId("graph-box");
  if (!svg || !box) return;
  const w0 = Number(svg.dataset.width), h0 = Number(svg.dataset.height);
  let z = 1;
  const set = (nz) => {
    z = Math.min(3, Math.max(0.1, nz));
    svg.setAttribute("width", String(Math.round(w0 * z)));
    svg.setAttribute("height", String(Math.round(h0 * z)));
  };
  byId("zoom-in").onclick = () => set(z * 1.25);
  byId("zoom-out").onclick = () => set(z / 1.25);
  byId("zoom-fit").onclick = () => set(Math.min(1, (box.clientWidth - 4) / w0));
  // Drag to pan.
  let drag = null;
  box.onpointerdown = (e) => { drag = { x: e.clientX, y: e.clientY, l: box.scrollLeft, t: box.scrollTop }; };
  box.onpointermove = (e) => { if (drag) { box.scrollLeft = drag.l - (e.clientX - drag.x); box.scrollTop = drag.t - (e.clientY - drag.y); } };
  box.onpointerup = box.onpointerleave = () => { drag = null; };
}

// Every movement of the trace as a file, fetched with the session's key and saved by the browser.
async function download(id, format) {
  const r = await fetch(`/api/v1/trace?batch=${enc(id)}&direction=both&format=${format}`, { headers: { Authorization: "Bearer " + session.key } });
  if (!r.ok) {
    let m = r.status + " " + r.statusText;
    try { m = (await r.json()).message || m; } catch (_) { /* not JSON */ }
    throw new Error(m);
  }
  saveFile(await r.blob(), `trace-${id}.${format.replace("kde_", "kde.")}`);
}

const COLUMNS = [
  { key: "name", head: "持有者 holder", val: (h) => String(h.name) },
  { key: "place", head: "地区 region", val: (h) => `${place(h)} ${h.place || ""}` },
  { key: "contact", head: "联系人 contact", val: (h) => `${h.contact_name || ""} ${h.contact_phone || ""}` },
  { key: "on_hand", head: "在库 on hand", num: true, val: (h) => h.on_hand },
  { key: "earliest", head: "最早 first", val: (h) => h.earliest || "" },
];

function holderTable(a, state) {
  let rows = a.holders.filter((h) => (!state.province || place(h) === state.province)
    && (!state.q || String(h.name).includes(state.q) || `${h.place || ""}`.includes(state.q)));
  const col = COLUMNS.find((c) => c.key === state.sort) || COLUMNS[4];
  rows = [...rows].sort((x, y) => {
    const a1 = col.val(x), b1 = col.val(y);
    const c = typeof a1 === "number" ? a1 - b1 : String(a1).localeCompare(String(b1), "zh-CN");
    return state.desc ? -c : c;
  });
  return html`<table id="holders"><thead><tr>${COLUMNS.map((c) => html`<th class="${c.num ? "num" : ""} sortable" data-sort="${c.key}">${c.head}${state.sort === c.key ? (state.desc ? " ▼" : " ▲") : ""}</th>`)}</tr></thead>
    <tbody>${rows.map((h) => html`<tr class="holder-row" data-open="${h.key}">
      <td>${h.name}</td><td>${place(h)} ${h.place || ""}</td><td>${h.contact_name || ""} ${h.contact_phone || ""}</td>
      <td class="num">${stock(h)}</td><td>${day(h.earliest)}</td></tr>
      ${state.open === h.key ? html`<tr class="lots"><td colspan="5">${table([
        { head: "批号 batch", cell: (l) => l.batch_no },
        { head: "产品 product", cell: (l) => l.product },
        { head: "收 in", num: true, cell: (l) => fmt(l.received + (l.produced || 0)) },
        { head: "出 out", num: true, cell: (l) => fmt(l.shipped + l.sold + (l.consumed || 0)) },
        { head: "在库 on hand", num: true, cell: (l) => `${fmt(l.on_hand)} ${l.unit}` },
      ], h.lots, { id: "lots" })}</td></tr>` : ""}`)}</tbody></table>`;
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
  const provinces = [...new Set(a.holders.map(place))];
  show(html`<h1>追溯 Trace</h1><p class="muted">${pg.holders_total} 个持有者 holders · ${pg.batches_total} 个批次 batches${shown} ${pager}</p>
    ${graph(a)}
    <h2>持有者 Holders</h2>
    <form class="row" id="holder-filter"><select id="f-province"><option value="">全部省份 all provinces</option>${provinces.map((p) => html`<option>${p}</option>`)}</select>
      <input id="f-q" placeholder="名称或地区 name or region">
      <button type="button" class="secondary" id="export-csv">导出 CSV</button> <button type="button" class="secondary" id="export-xlsx">导出 XLSX</button> <button type="button" class="secondary" id="export-kde_xlsx" title="FSMA 204 key data elements: one row per critical tracking event">导出关键数据元素 KDE</button></form>
    <div id="holder-table"></div><div id="msg"></div>`);
  zoomable();
  const state = { sort: "earliest", desc: false, province: "", q: "", open: null };
  const draw = () => {
    render(byId("holder-table"), holderTable(a, state));
    document.querySelectorAll("th[data-sort]").forEach((th) => {
      th.onclick = () => { state.desc = state.sort === th.dataset.sort ? !state.desc : false; state.sort = th.dataset.sort; draw(); };
    });
    document.querySelectorAll("tr[data-open]").forEach((tr) => {
      tr.onclick = () => { state.open = state.open === tr.dataset.open ? null : tr.dataset.open; draw(); };
    });
    // The drawing dims the holders the filter leaves out.
    document.querySelectorAll("#trace-graph .node").forEach((g) => {
      const h = a.holders.find((x) => x.key === g.dataset.key);
      const hit = (!state.province || place(h) === state.province) && (!state.q || String(h.name).includes(state.q));
      g.setAttribute("opacity", hit ? "1" : "0.25");
    });
  };
  draw();
  byId("f-province").onchange = (e) => { state.province = e.target.value; draw(); };
  byId("f-q").oninput = (e) => { state.q = e.target.value.trim(); draw(); };
  for (const f of ["csv", "xlsx", "kde_xlsx"]) {
    byId(`export-${f}`).onclick = async () => {
      try { await download(id, f); } catch (e) { fail(byId("msg"), e); }
    };
  }
}

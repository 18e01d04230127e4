// coldtrace console: regulators (province and national) and enterprises, on the platform's JSON API.
// No framework and nothing loaded from outside: it must work on closed networks.
"use strict";

const S = {
  get key() { return sessionStorage.getItem("ct_key"); },
  get me() { try { return JSON.parse(sessionStorage.getItem("ct_me")); } catch (_) { return null; } },
};

const view = () => document.getElementById("view");
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const fmt = (n) => (n === null || n === undefined ? "" : Number(n).toLocaleString("zh-CN", { maximumFractionDigits: 3 }));
const day = (t) => (t ? String(t).slice(0, 16).replace("T", " ") : "");

async function api(method, path, body, raw) {
  const headers = { Authorization: "Bearer " + S.key };
  let payload;
  if (raw) { payload = raw.bytes; headers["Content-Type"] = raw.type; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, { method, headers, body: payload });
  let data = null;
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (r.status === 401) { signOut(); throw new Error("请重新登录 / sign in again"); }
  if (!r.ok && !(raw && r.status === 422)) {
    const msg = data && data.message ? data.message : r.status + " " + r.statusText;
    const e = new Error(msg); e.field = data && data.field; e.status = r.status; throw e;
  }
  return data;
}

function errorBox(e) {
  return `<div class="error" role="alert">${esc(e.message)}${e.field ? ` <small>(${esc(e.field)})</small>` : ""}</div>`;
}

function signOut() {
  sessionStorage.removeItem("ct_key");
  sessionStorage.removeItem("ct_me");
  location.hash = "#/signin";
}

const NAV = {
  regulator: [["#/", "概览 Dashboard"], ["#/batches", "批次 Batches"], ["#/incidents", "事件 Incidents"], ["#/notices", "通报 Notices"]],
  national: [["#/national", "指挥 Overview"], ["#/links", "异构识别 Links"], ["#/national/incidents", "事件 Incidents"]],
  enterprise: [["#/record", "登记 Record"], ["#/ledger", "台账 Ledger"], ["#/mine", "我的批次 My batches"], ["#/tasks", "处置任务 Tasks"]],
};

function renderNav() {
  const me = S.me;
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!me) { nav.innerHTML = ""; who.innerHTML = ""; return; }
  const items = NAV[me.role] || [];
  nav.innerHTML = items.map(([h, t]) => `<a href="${h}" class="${location.hash === h ? "active" : ""}">${t}</a>`).join("");
  who.innerHTML = `${esc(me.role)}${me.province ? " · " + esc(me.province) : ""} <button class="secondary" id="signout">退出</button>`;
  document.getElementById("signout").onclick = signOut;
}

// --- Sign in -----------------------------------------------------------------------------------------------
function signIn() {
  view().innerHTML = `<div class="card" style="max-width:460px;margin:40px auto">
    <h1>登录 Sign in</h1>
    <p class="muted">用平台发放的账号密钥登录。Sign in with the API key the platform issued to your account.</p>
    <form id="signin" class="stack"><label for="key">密钥 API key</label>
    <input id="key" type="password" autocomplete="current-password" required>
    <p><button type="submit" id="signin-btn">登录</button></p><div id="msg"></div></form></div>`;
  document.getElementById("signin").onsubmit = async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem("ct_key", document.getElementById("key").value.trim());
    try {
      const me = await api("GET", "/api/v1/whoami");
      sessionStorage.setItem("ct_me", JSON.stringify(me));
      location.hash = me.role === "enterprise" ? "#/record" : me.role === "national" ? "#/national" : "#/";
    } catch (e) {
      sessionStorage.removeItem("ct_key");
      document.getElementById("msg").innerHTML = errorBox(e);
    }
  };
}

// --- Regulator ---------------------------------------------------------------------------------------------
const KIND_ZH = { importer: "进口商", first_station_cold_store: "首站冷库", centralized_supervision_warehouse: "集中监管仓", third_party_cold_store: "第三方冷库", processor: "生产加工企业", wholesale_vendor: "批发市场经营户", market_operator: "市场开办方", supermarket: "商超", fresh_ecommerce: "生鲜电商", restaurant: "餐饮" };

async function dashboard() {
  const d = await api("GET", "/api/v1/dashboard");
  const s = d.stats;
  const rows = d.coverage.map((c) => `<tr><td>${esc(KIND_ZH[c.kind] || c.kind)}</td><td class="num">${fmt(c.enterprises)}</td><td class="num">${fmt(c.reporting)}</td><td class="num">${c.enterprises ? Math.round((100 * c.reporting) / c.enterprises) : 0}%</td></tr>`).join("");
  view().innerHTML = `<h1>概览 Dashboard</h1>
    <div class="grid">
      <div class="stat"><b id="stat-enterprises">${fmt(s.enterprises)}</b><span>主体 enterprises</span></div>
      <div class="stat"><b id="stat-batches">${fmt(s.batches)}</b><span>批次 batches</span></div>
      <div class="stat"><b>${fmt(s.movements)}</b><span>出入库 movements</span></div>
      <div class="stat"><b>${fmt(s.documents)}</b><span>证明 documents</span></div>
      <div class="stat"><b id="stat-open">${fmt(d.open_incidents)}</b><span>未结事件 open incidents</span></div>
    </div>
    <h2>主体与报送覆盖 Enterprises by type and reporting (last ${d.days} days)</h2>
    <table><thead><tr><th>类型 kind</th><th class="num">登记</th><th class="num">报送</th><th class="num">覆盖率</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function looksLikeCode(q) {
  return /^(https?:\/\/|\(0[12]\)|\d{14}$|\d{18}$|01\d{14})/i.test(q) || q.split(".").length === 4;
}

async function batches(q) {
  view().innerHTML = `<h1>批次 Batches</h1>
    <form id="search" class="row"><input id="q" size="48" placeholder="追溯码 / 批号 / code or batch number" value="${esc(q || "")}" autofocus>
    <button type="submit" id="search-btn">查询 Search</button></form><div id="results"></div>`;
  document.getElementById("search").onsubmit = (ev) => { ev.preventDefault(); location.hash = "#/batches?q=" + encodeURIComponent(document.getElementById("q").value.trim()); };
  if (!q) return;
  const out = document.getElementById("results");
  try {
    if (looksLikeCode(q)) {
      const r = await api("GET", "/api/v1/codes/" + encodeURIComponent(q));
      location.hash = "#/batch/" + r.batch.id;
      return;
    }
    const list = await api("GET", "/api/v1/batches?batch_no=" + encodeURIComponent(q));
    const items = list.items || [];
    out.innerHTML = items.length ? `<table><thead><tr><th>批号</th><th>数量</th><th>报关单号</th><th></th></tr></thead><tbody>${items.map((b) => `<tr><td>${esc(b.batch_no)}</td><td class="num">${fmt(b.quantity)} ${esc(b.unit)}</td><td>${esc(b.declaration_no || "")}</td><td><a href="#/batch/${b.id}">打开 open</a></td></tr>`).join("")}</tbody></table>` : `<p class="muted">没有结果 / nothing found</p>`;
  } catch (e) { out.innerHTML = errorBox(e); }
}

async function batchPage(id) {
  const b = await api("GET", "/api/v1/batches/" + id);
  const me = S.me;
  const codes = (b.codes || []).map((c) => `<li><span class="badge">${esc(c.scheme)}</span> <code>${esc(c.value)}</code> <a href="/t/${encodeURIComponent(c.value.replace(/^https?:\/\/[^/]+\/t\//, ""))}" target="_blank">公众页 public</a></li>`).join("");
  const docs = (b.documents || []).map((d) => `<li>${esc(d.kind)} ${esc(d.number || "")} ${d.result ? `<span class="badge ${d.result === "negative" ? "ok" : "bad"}">${esc(d.result)}</span>` : ""}</li>`).join("");
  view().innerHTML = `<h1>批次 <span id="batch-no">${esc(b.batch_no)}</span></h1>
    <div class="card"><table>
      <tr><th>数量</th><td>${fmt(b.quantity)} ${esc(b.unit)}</td><th>报关单号</th><td>${esc(b.declaration_no || "-")}</td></tr>
      <tr><th>检验检疫证明</th><td>${esc(b.inspection_cert_no || "-")}</td><th>入境口岸</th><td>${esc(b.port_of_entry || "-")} ${esc(b.import_date || "")}</td></tr>
    </table><h2>追溯码 Codes</h2><ul>${codes}</ul><h2>证明 Documents</h2><ul>${docs || "<li class=muted>无</li>"}</ul></div>
    <p><a href="#/trace/${id}"><button id="open-trace">追溯 Trace</button></a>
    ${me.role === "regulator" ? `<button id="publish" class="secondary">审核发布 Publish</button> <button id="positive" class="danger">登记阳性 Register positive test</button>` : ""}</p>
    <div id="msg"></div>`;
  if (me.role === "regulator") {
    document.getElementById("publish").onclick = async () => {
      try { await api("POST", `/api/v1/batches/${id}/publish`, {}); document.getElementById("msg").innerHTML = `<div class="notice">已发布到公众查询 / published</div>`; }
      catch (e) { document.getElementById("msg").innerHTML = errorBox(e); }
    };
    document.getElementById("positive").onclick = async () => {
      try {
        const inc = await api("POST", "/api/v1/incidents", { kind: "batch_sample", batch_id: id, positive_at: new Date().toISOString(), note: "console" });
        location.hash = "#/incident/" + inc.id;
      } catch (e) { document.getElementById("msg").innerHTML = errorBox(e); }
    };
  }
}

const PALETTE = ["#0b5cab", "#1f7a3f", "#a15c00", "#7b3fa0", "#b3261e", "#00796b", "#5d4037", "#455a64"];

// Lays holders out in columns by how many flows separate them from where the goods entered, and draws the flows
// between them with their quantities.
function graph(answer) {
  const hs = answer.holders;
  const idx = new Map(hs.map((h, i) => [h.key, i]));
  const flows = (answer.flows || []).filter((f) => idx.has(f.from) && idx.has(f.to));
  const depth = hs.map(() => 0);
  for (let round = 0; round < hs.length; round++) {
    let changed = false;
    flows.forEach((f) => { const a = idx.get(f.from), b = idx.get(f.to); if (depth[b] < depth[a] + 1 && depth[a] + 1 < hs.length) { depth[b] = depth[a] + 1; changed = true; } });
    if (!changed) break;
  }
  const cols = new Map();
  hs.forEach((h, i) => { const d = depth[i]; if (!cols.has(d)) cols.set(d, []); cols.get(d).push(i); });
  const provinces = [...new Set(hs.map((h) => h.province_name || h.province || "境外"))];
  const color = (h) => PALETTE[provinces.indexOf(h.province_name || h.province || "境外") % PALETTE.length];
  const W = 190, H = 64, GX = 80, GY = 18;
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
    const p = pairs.get(k) || { sent: 0, received: 0 };
    if (f.via === "receive") p.received += f.quantity; else p.sent += f.quantity;
    pairs.set(k, p);
  });
  let edges = "", nodes = "";
  pairs.forEach((p, k) => {
    const qty = Math.max(p.sent, p.received);
    const [from, to] = k.split(">");
    const a = pos.get(idx.get(from)), b = pos.get(idx.get(to));
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const back = x2 <= x1;
    const path = back ? `M${a.x + W / 2},${a.y + H} C${a.x + W / 2},${a.y + H + 30} ${b.x + W / 2},${b.y + H + 30} ${b.x + W / 2},${b.y + H}` : `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`;
    edges += `<path class="flow" d="${path}" fill="none" stroke="#8a97a8" stroke-width="1.5" marker-end="url(#arrow)"/>`;
    edges += `<text x="${back ? (a.x + b.x + W) / 2 : (x1 + x2) / 2}" y="${back ? Math.max(a.y, b.y) + H + 26 : (y1 + y2) / 2 - 5}" text-anchor="middle" class="flow-qty" font-weight="600">${fmt(qty)}</text>`;
  });
  hs.forEach((h, i) => {
    const { x, y } = pos.get(i);
    const c = color(h);
    nodes += `<g class="node"><rect x="${x}" y="${y}" width="${W}" height="${H}" rx="6" fill="#fff" stroke="${c}" stroke-width="2"/>
      <rect x="${x}" y="${y}" width="6" height="${H}" rx="3" fill="${c}"/>
      <text x="${x + 12}" y="${y + 18}" font-weight="600">${esc(String(h.name).slice(0, 16))}</text>
      <text x="${x + 12}" y="${y + 35}" fill="#5b6675">${esc(h.province_name || "境外 overseas")} ${esc(h.city || "")}</text>
      <text x="${x + 12}" y="${y + 52}">在库 on hand: <tspan font-weight="700">${fmt(h.on_hand)}</tspan></text></g>`;
  });
  const legend = provinces.map((p) => `<span><i style="background:${PALETTE[provinces.indexOf(p) % PALETTE.length]}"></i>${esc(p)}</span>`).join("");
  return `<div class="legend">省份 provinces: ${legend}</div>
    <svg class="graph" id="trace-graph" viewBox="0 0 ${width} ${height + 40}" height="${Math.min(height + 40, 640)}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8a97a8"/></marker></defs>${edges}${nodes}</svg>`;
}

async function tracePage(id) {
  const a = await api("GET", `/api/v1/trace?batch=${id}&direction=both`);
  const rows = a.holders.map((h) => `<tr><td>${esc(h.name)}</td><td>${esc(h.province_name || "")} ${esc(h.city || "")}</td><td>${esc(h.contact_name || "")} ${esc(h.contact_phone || "")}</td><td class="num">${fmt(h.on_hand)}</td><td>${day(h.earliest)}</td></tr>`).join("");
  view().innerHTML = `<h1>追溯 Trace</h1><p class="muted">${a.holders.length} 个持有者 holders · ${a.batches.length} 个批次 batches</p>
    <div class="split"><div>${graph(a)}</div>
    <div><table id="holders"><thead><tr><th>持有者</th><th>地区</th><th>联系人</th><th class="num">在库</th><th>最早</th></tr></thead><tbody>${rows}</tbody></table></div></div>`;
}

async function incidents() {
  const list = await api("GET", "/api/v1/incidents");
  view().innerHTML = `<h1>事件 Incidents</h1>` + (list.length ? `<table><thead><tr><th>登记</th><th>对象</th><th>状态</th><th class="num">未完成任务</th><th></th></tr></thead><tbody>${list.map((i) => `<tr><td>${day(new Date(i.opened_at_ms).toISOString())}</td><td>${esc(i.subject)}</td><td><span class="badge ${i.status === "open" ? "warn" : "ok"}">${esc(i.status)}</span></td><td class="num">${i.open_tasks}</td><td><a href="#/incident/${i.id}">打开</a></td></tr>`).join("")}</tbody></table>` : `<p class="muted">无</p>`);
}

async function incidentPage(id) {
  const i = await api("GET", "/api/v1/incidents/" + id);
  const tasks = i.tasks.map((t) => `<tr><td>${esc(t.holder_name)}</td><td>${esc(t.province || "")}</td><td>${esc(t.product)} ${esc(t.batch_no)}</td><td class="num">${fmt(t.on_hand)} ${esc(t.unit)}</td><td class="num">${fmt(t.outstanding)}</td><td><span class="badge ${t.status === "done" ? "ok" : "warn"}">${esc(t.status)}</span></td></tr>`).join("");
  const notices = i.notices.map((n) => `<tr><td>${esc(n.to_province)}</td><td>${n.lines.length}</td><td>${n.sent ? '<span class="badge ok">sent</span>' : '<span class="badge warn">draft</span>'}</td></tr>`).join("");
  const tl = i.timeline.map((e) => `<li>${day(new Date(e.at_ms).toISOString())} ${esc(e.by)}: ${esc(e.event.type)} ${esc(e.event.text || e.event.note || "")}</li>`).join("");
  view().innerHTML = `<h1>事件 Incident: ${esc(i.subject)}</h1>
    <p><span class="badge ${i.status === "open" ? "warn" : "ok"}">${esc(i.status)}</span> 阳性时间 ${esc(i.positive_at)} · 登记 ${esc(i.reported_by)}</p>
    <h2>处置任务 Disposal tasks (<span id="task-count">${i.tasks.length}</span>)</h2>
    <table id="tasks"><thead><tr><th>持有者</th><th>省</th><th>批次</th><th class="num">在库</th><th class="num">未处置</th><th>状态</th></tr></thead><tbody>${tasks}</tbody></table>
    <h2>通报 Notices</h2><table><thead><tr><th>省份</th><th>条目</th><th>状态</th></tr></thead><tbody>${notices}</tbody></table>
    <h2>时间线 Timeline</h2><ul>${tl || "<li class=muted>—</li>"}</ul>`;
}

async function noticesPage() {
  const list = await api("GET", "/api/v1/notices");
  view().innerHTML = `<h1>国家平台通报 National notices</h1>` + (list.length ? list.map((n) => `<div class="card"><b>来自 ${esc(n.notice.from_province)} 的通报</b> · ${esc(n.notice.subject)}
    <table><thead><tr><th>品名</th><th>批号</th><th class="num">数量</th><th>销售日期</th><th>销售方</th><th>关系</th></tr></thead><tbody>${n.notice.lines.map((l) => `<tr><td>${esc(l.food_name)}</td><td>${esc(l.batch_no)}</td><td class="num">${fmt(l.quantity_milli / 1000)} ${esc(l.unit)}</td><td>${esc(l.sale_date || "")}</td><td>${esc(l.seller || "")} ${esc(l.seller_uscc || "")}</td><td>${esc(l.relation)} ${l.confidence < 1 ? `<span class="badge warn">${l.confidence}</span>` : ""}</td></tr>`).join("")}</tbody></table>
    <p>${n.incident ? `<a href="#/incident/${n.incident}">本省处置 local incident</a>` : ""} ${n.acked_at_ms ? `<span class="badge ok">已确认 acknowledged</span>` : `<button data-ack="${n.notice.id}">确认收到 Acknowledge</button>`}</p></div>`).join("") : `<p class="muted">无通报</p>`);
  document.querySelectorAll("[data-ack]").forEach((b) => { b.onclick = async () => { await api("POST", `/api/v1/notices/${b.dataset.ack}/ack`, {}); noticesPage(); }; });
}

// --- National ----------------------------------------------------------------------------------------------
async function nationalPage() {
  const o = await api("GET", "/api/v1/national/overview");
  const c = o.counts;
  view().innerHTML = `<h1>国家指挥 National command</h1><div class="grid">
    <div class="stat"><b>${fmt(c.batches)}</b><span>批次 batches</span></div>
    <div class="stat"><b>${fmt(c.links)}</b><span>跨省关联 links</span></div>
    <div class="stat"><b>${fmt(c.links_proposed)}</b><span>待确认 awaiting decision</span></div>
    <div class="stat"><b>${fmt(c.links_ambiguous)}</b><span>有歧义 ambiguous</span></div>
    <div class="stat"><b>${fmt(o.incidents)}</b><span>事件 incidents</span></div></div>
    <div class="split"><div><h2>各省批次 Batches by province</h2><table id="by-province"><thead><tr><th>省份</th><th class="num">批次</th></tr></thead><tbody>${Object.entries(o.batches_by_province).map(([p, n]) => `<tr><td>${esc(p)}</td><td class="num">${fmt(n)}</td></tr>`).join("")}</tbody></table></div>
    <div><h2>主体 Enterprises by type</h2><table><thead><tr><th>类型</th><th class="num">数量</th></tr></thead><tbody>${Object.entries(o.enterprises_by_kind).map(([k, n]) => `<tr><td>${esc(KIND_ZH[k] || k)}</td><td class="num">${fmt(n)}</td></tr>`).join("")}</tbody></table></div></div>
    <h2>未确认通报 Notices not acknowledged</h2>
    <table><thead><tr><th>省份</th><th>事件</th><th>送达</th></tr></thead><tbody>${o.unacknowledged.map((d) => `<tr><td>${esc(d.province)}</td><td><a href="#/national/incident/${d.incident}">${esc(d.incident)}</a></td><td>${d.received_at_ms ? '<span class="badge ok">received</span>' : '<span class="badge warn">pending</span>'}</td></tr>`).join("")}</tbody></table>`;
}

async function linksPage() {
  const links = await api("GET", "/api/v1/national/links");
  view().innerHTML = `<h1>异构识别 Links between provinces' records</h1>` + (links.length ? `<table id="links"><thead><tr><th>上游 from</th><th>下游 to</th><th>依据 basis</th><th>证据 evidence</th><th class="num">置信度</th><th>状态</th><th></th></tr></thead><tbody>${links.map((l) => `<tr><td>${esc(l.from.province)} <code>${esc(l.from.batch.slice(0, 13))}</code></td><td>${esc(l.to.province)} <code>${esc(l.to.batch.slice(0, 13))}</code></td><td>${esc(l.basis)}${l.ambiguous ? ' <span class="badge bad">ambiguous</span>' : ""}</td><td><small>${l.evidence.map(esc).join("<br>")}</small></td><td class="num">${l.confidence}</td><td><span class="badge ${l.status === "confirmed" ? "ok" : l.status === "rejected" ? "bad" : "warn"}">${esc(l.status)}</span></td><td>${l.status === "proposed" ? `<button data-link="${l.id}" data-d="confirm">确认</button> <button class="danger" data-link="${l.id}" data-d="reject">否决</button>` : ""}</td></tr>`).join("")}</tbody></table>` : `<p class="muted">无</p>`);
  document.querySelectorAll("[data-link]").forEach((b) => { b.onclick = async () => { await api("POST", `/api/v1/national/links/${b.dataset.link}/decision`, { decision: b.dataset.d }); linksPage(); }; });
}

async function nationalIncidents() {
  const list = await api("GET", "/api/v1/national/incidents");
  view().innerHTML = `<h1>事件 Incidents</h1>` + (list.length ? `<table><thead><tr><th>省份</th><th>对象</th><th>涉及省份</th><th>未确认</th><th></th></tr></thead><tbody>${list.map((i) => `<tr><td>${esc(i.incident.province)}</td><td>${esc(i.incident.report.subject)}</td><td>${i.trace.provinces.map(esc).join(", ")}</td><td>${i.not_acknowledged.map(esc).join(", ") || '<span class="badge ok">none</span>'}</td><td><a href="#/national/incident/${i.incident.report.incident}">打开</a></td></tr>`).join("")}</tbody></table>` : `<p class="muted">无</p>`);
}

async function nationalIncident(id) {
  const i = await api("GET", "/api/v1/national/incidents/" + id);
  const rows = i.trace.batches.map((b) => `<tr><td>${esc(b.province)}</td><td>${esc(b.product || "")}</td><td>${esc(b.batch_no || "")}</td><td>${esc(b.owner_name || b.owner_uscc || "")}</td><td>${esc(b.relation)}</td><td class="num">${b.confidence}</td></tr>`).join("");
  const del = i.deliveries.map((d) => `<tr><td>${esc(d.province)}</td><td>${d.received_at_ms ? "✓" : "…"}</td><td>${d.acked_at_ms ? "✓ " + esc(d.ack.by) : '<span class="badge warn">未确认</span>'}</td><td>${d.ack ? d.ack.holders.length : ""}</td></tr>`).join("");
  view().innerHTML = `<h1>跨省事件 ${esc(i.incident.report.subject)}</h1><p>报告省份 ${esc(i.incident.province)} · 涉及 ${i.trace.provinces.map(esc).join(", ")}</p>
    <h2>跨省追溯 Trace</h2><table><thead><tr><th>省</th><th>品名</th><th>批号</th><th>主体</th><th>关系</th><th class="num">置信度</th></tr></thead><tbody>${rows}</tbody></table>
    <h2>通报送达与确认 Delivery</h2><table><thead><tr><th>省</th><th>送达</th><th>确认</th><th>定位持有者</th></tr></thead><tbody>${del}</tbody></table>`;
}

// --- Enterprise --------------------------------------------------------------------------------------------
function recordPage() {
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  view().innerHTML = `<h1>登记出入库 Record a movement</h1><div class="card"><form id="record" class="stack">
    <label for="code">追溯码（扫码枪扫描） Trace code (scan)</label><input id="code" autofocus autocomplete="off" placeholder="扫描或输入 scan or type, then Enter">
    <div id="code-info" class="muted"></div>
    <label for="kind">类型 Kind</label><select id="kind"><option value="receive">入库 receive</option><option value="ship">出库 ship</option><option value="sell">销售 sell</option></select>
    <label for="quantity">数量 Quantity</label><input id="quantity" inputmode="decimal">
    <label for="cp-name">对方名称 Counterparty</label><input id="cp-name">
    <label for="cp-uscc">对方统一社会信用代码 Counterparty USCC</label><input id="cp-uscc">
    <label for="at">时间 Time</label><input id="at" type="datetime-local" value="${now}">
    <p><button type="submit" id="record-btn">提交 Submit</button></p><div id="msg"></div></form></div>`;
  const code = document.getElementById("code");
  const fill = async () => {
    const v = code.value.trim();
    if (!v) return;
    try {
      const r = await api("GET", "/api/v1/codes/" + encodeURIComponent(v));
      document.getElementById("code-info").innerHTML = `批号 <b id="filled-batch">${esc(r.batch.batch_no)}</b> · ${fmt(r.batch.quantity)} ${esc(r.batch.unit)}${r.says && r.says.gtin ? " · GTIN " + esc(r.says.gtin) : ""}`;
      document.getElementById("quantity").focus();
    } catch (e) { document.getElementById("code-info").innerHTML = errorBox(e); }
  };
  // A keyboard-wedge scanner types the code and presses Enter: fill in, do not submit.
  code.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); fill(); } });
  code.addEventListener("change", fill);
  document.getElementById("record").onsubmit = async (ev) => {
    ev.preventDefault();
    const at = document.getElementById("at").value;
    // The time typed is the user's local time: send it with the browser's own offset.
    const off = -new Date(at || Date.now()).getTimezoneOffset();
    const zone = (off >= 0 ? "+" : "-") + String(Math.floor(Math.abs(off) / 60)).padStart(2, "0") + ":" + String(Math.abs(off) % 60).padStart(2, "0");
    const body = { kind: document.getElementById("kind").value, trace_code: code.value.trim(), quantity: Number(document.getElementById("quantity").value), at: at ? at + ":00" + zone : undefined, counterparty_name: document.getElementById("cp-name").value || undefined, counterparty_uscc: document.getElementById("cp-uscc").value || undefined };
    try { await api("POST", "/api/v1/movements", body); document.getElementById("msg").innerHTML = `<div class="notice">已登记 recorded</div>`; }
    catch (e) { document.getElementById("msg").innerHTML = errorBox(e); }
  };
}

function ledgerPage() {
  view().innerHTML = `<h1>上传台账 Upload a ledger</h1><div class="card"><form id="ledger" class="stack">
    <label for="file">Excel (.xlsx) 或 CSV 文件</label><input id="file" type="file" accept=".csv,.xlsx" required>
    <p><label><input type="checkbox" id="partial"> 导入无错误的行 import the rows without errors</label></p>
    <p><button type="submit" id="upload-btn">上传 Upload</button></p></form><div id="report"></div></div>`;
  document.getElementById("ledger").onsubmit = async (ev) => {
    ev.preventDefault();
    const f = document.getElementById("file").files[0];
    const type = f.name.toLowerCase().endsWith(".xlsx") ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv";
    const out = document.getElementById("report");
    try {
      const r = await api("POST", "/api/v1/ledger" + (document.getElementById("partial").checked ? "?partial=true" : ""), undefined, { bytes: await f.arrayBuffer(), type });
      const errs = (r.errors || []).map((e) => `<tr><td class="num">${e.row}</td><td>${esc(e.column || "")}</td><td>${esc(e.reason || e.message || "")}</td></tr>`).join("");
      out.innerHTML = `<p>${r.rows} 行 rows · ${r.imported_rows} 导入 imported · <b id="error-count">${(r.errors || []).length}</b> 错误 errors</p>` + (errs ? `<table id="row-errors"><thead><tr><th class="num">行 row</th><th>列 column</th><th>原因 reason</th></tr></thead><tbody>${errs}</tbody></table>` : "");
    } catch (e) { out.innerHTML = errorBox(e); }
  };
}

async function minePage() {
  const list = await api("GET", "/api/v1/batches?limit=200");
  const items = list.items || [];
  view().innerHTML = `<h1>我的批次 My batches</h1><table><thead><tr><th>批号</th><th class="num">数量</th><th>追溯码</th></tr></thead><tbody>${items.map((b) => `<tr><td>${esc(b.batch_no)}</td><td class="num">${fmt(b.quantity)} ${esc(b.unit)}</td><td>${(b.trace_codes || []).map((c) => `<code>${esc(c.value)}</code>`).join(" ")}</td></tr>`).join("")}</tbody></table>`;
}

async function tasksPage() {
  const list = await api("GET", "/api/v1/incidents");
  const rows = [];
  list.forEach((i) => i.tasks.forEach((t) => rows.push(`<tr><td>${esc(i.subject)}</td><td>${esc(t.product)} ${esc(t.batch_no)}</td><td class="num">${fmt(t.on_hand)} ${esc(t.unit)}</td><td>${esc(t.action)}</td><td><span class="badge ${t.status === "done" ? "ok" : "warn"}">${esc(t.status)}</span></td></tr>`)));
  view().innerHTML = `<h1>处置任务 Disposal tasks</h1>` + (rows.length ? `<table><thead><tr><th>事件</th><th>批次</th><th class="num">在库</th><th>措施</th><th>状态</th></tr></thead><tbody>${rows.join("")}</tbody></table>` : `<p class="muted">无任务 none</p>`);
}

// --- Router ------------------------------------------------------------------------------------------------
async function route() {
  const h = location.hash || "#/";
  if (!S.key && h !== "#/signin") { location.hash = "#/signin"; return; }
  renderNav();
  const [path, query] = h.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  try {
    if (path === "/signin") return signIn();
    const role = S.me && S.me.role;
    if (parts.length === 0) return role === "enterprise" ? recordPage() : role === "national" ? nationalPage() : dashboard();
    switch (parts[0]) {
      case "batches": return await batches(params.get("q"));
      case "batch": return await batchPage(parts[1]);
      case "trace": return await tracePage(parts[1]);
      case "incidents": return await incidents();
      case "incident": return await incidentPage(parts[1]);
      case "notices": return await noticesPage();
      case "national": return parts[1] === "incidents" ? await nationalIncidents() : parts[1] === "incident" ? await nationalIncident(parts[2]) : await nationalPage();
      case "links": return await linksPage();
      case "record": return recordPage();
      case "ledger": return ledgerPage();
      case "mine": return await minePage();
      case "tasks": return await tasksPage();
      default: view().innerHTML = `<p>Not found</p>`;
    }
  } catch (e) { view().innerHTML = errorBox(e); }
}

window.addEventListener("hashchange", route);
route();

// coldtrace console: regulators (province and national) and enterprises, on the platform's JSON API.
// Small ES modules, no framework, no build step, nothing loaded from outside: it must work on closed networks.
// This module holds the router, the navigation and sign-in; each view is in its own module.
import { api, session, signOut } from "./api.js";
import { html, show, render, byId, errorBox } from "./html.js";
import { dashboard } from "./dashboard.js";
import { batches, batchPage } from "./batches.js";
import { tracePage } from "./trace.js";
import { incidents, incidentPage } from "./incidents.js";
import { noticesPage } from "./notices.js";
import { nationalPage, linksPage, nationalIncidents, nationalIncident } from "./national.js";
import { recordPage, ledgerPage, minePage, tasksPage } from "./enterprise.js";

const NAV = {
  regulator: [["#/", "概览 Dashboard"], ["#/batches", "批次 Batches"], ["#/incidents", "事件 Incidents"], ["#/notices", "通报 Notices"]],
  national: [["#/national", "指挥 Overview"], ["#/links", "异构识别 Links"], ["#/national/incidents", "事件 Incidents"]],
  enterprise: [["#/record", "登记 Record"], ["#/ledger", "台账 Ledger"], ["#/mine", "我的批次 My batches"], ["#/tasks", "处置任务 Tasks"]],
};

const HOME = { enterprise: "#/record", national: "#/national", regulator: "#/" };

function renderNav() {
  const me = session.me;
  if (!me) { render(byId("nav"), html``); render(byId("who"), html``); return; }
  const items = NAV[me.role] || [];
  render(byId("nav"), html`${items.map(([h, t]) => html`<a href="${h}" class="${location.hash === h ? "active" : ""}">${t}</a>`)}`);
  render(byId("who"), html`${me.role}${me.province ? ` · ${me.province}` : ""} <button class="secondary" id="signout">退出</button>`);
  byId("signout").onclick = signOut;
}

function signIn() {
  show(html`<div class="card" style="max-width:460px;margin:40px auto">
    <h1>登录 Sign in</h1>
    <p class="muted">用平台发放的账号密钥登录。Sign in with the API key the platform issued to your account.</p>
    <form id="signin" class="stack"><label for="key">密钥 API key</label>
    <input id="key" type="password" autocomplete="current-password" required>
    <p><button type="submit" id="signin-btn">登录</button></p><div id="msg"></div></form></div>`);
  byId("signin").onsubmit = async (ev) => {
    ev.preventDefault();
    session.start(byId("key").value.trim());
    try {
      const me = await api("GET", "/api/v1/whoami");
      session.remember(me);
      location.hash = HOME[me.role] || "#/";
    } catch (e) {
      session.end();
      render(byId("msg"), errorBox(e));
    }
  };
}

function home(role) {
  if (role === "enterprise") return recordPage();
  if (role === "national") return nationalPage();
  return dashboard();
}

async function route() {
  const h = location.hash || "#/";
  if (!session.key && h !== "#/signin") { location.hash = "#/signin"; return; }
  renderNav();
  const [path, query] = h.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  try {
    if (path === "/signin") return signIn();
    if (parts.length === 0) return await home(session.me && session.me.role);
    switch (parts[0]) {
      case "batches": return await batches(params.get("q"));
      case "batch": return await batchPage(parts[1]);
      case "trace": return await tracePage(parts[1], parts[2]);
      case "incidents": return await incidents();
      case "incident": return await incidentPage(parts[1]);
      case "notices": return await noticesPage();
      case "national":
        if (parts[1] === "incidents") return await nationalIncidents();
        if (parts[1] === "incident") return await nationalIncident(parts[2]);
        return await nationalPage();
      case "links": return await linksPage();
      case "record": return recordPage();
      case "ledger": return ledgerPage();
      case "mine": return await minePage();
      case "tasks": return await tasksPage();
      default: show(html`<p>Not found</p>`);
    }
  } catch (e) { show(errorBox(e)); }
}

window.addEventListener("hashchange", route);
window.__ctReady = true;
route();

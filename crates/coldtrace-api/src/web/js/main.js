// coldtrace console: regulators (province and national) and enterprises, on the platform's JSON API.
// Small ES modules, no framework, no build step, nothing loaded from outside: it must work on closed networks.
// This module holds the router, the navigation and sign-in; each view is in its own module.
import { api, session, signOut, signInWithPassword, beginNavigation, isCurrent, Superseded } from "./api.js";
import { html, show, render, byId, errorBox, fail } from "./html.js";
import { dashboard } from "./dashboard.js";
import { batches, batchPage } from "./batches.js";
import { tracePage } from "./trace.js";
import { findingsPage } from "./findings.js";
import { customsPage } from "./customs.js";
import { statisticsPage } from "./statistics.js";
import { incidents, incidentPage, registerPage } from "./incidents.js";
import { loadNames, provinceName } from "./names.js";
import { noticesPage } from "./notices.js";
import { nationalPage, linksPage, nationalIncidents, nationalIncident } from "./national.js";
import { recordPage, ledgerPage, minePage, tasksPage } from "./enterprise.js";

const NAV = {
  regulator: [["#/", "概览 Dashboard"], ["#/batches", "批次 Batches"], ["#/findings", "核查 Findings"], ["#/customs", "报关 Customs"], ["#/statistics", "统计 Statistics"], ["#/incidents", "事件 Incidents"], ["#/notices", "通报 Notices"]],
  customs: [["#/customs", "报关数据 Declarations"], ["#/findings", "比对问题 Findings"]],
  national: [["#/national", "指挥 Overview"], ["#/links", "异构识别 Links"], ["#/national/incidents", "事件 Incidents"]],
  enterprise: [["#/record", "登记 Record"], ["#/ledger", "台账 Ledger"], ["#/mine", "我的批次 My batches"], ["#/tasks", "处置任务 Tasks"]],
};

const HOME = { enterprise: "#/record", national: "#/national", regulator: "#/", customs: "#/customs" };

function renderNav() {
  const me = session.me;
  if (!me) { render(byId("nav"), html``); render(byId("who"), html``); return; }
  const items = NAV[me.role] || [];
  render(byId("nav"), html`${items.map(([h, t]) => html`<a href="${h}" class="${location.hash === h ? "active" : ""}">${t}</a>`)}`);
  render(byId("who"), html`<span id="who-person">${me.person || ""}</span>${me.person ? " · " : ""}${me.role}${me.province ? ` · ${provinceName(me.province)}` : ""} <button class="secondary" id="signout">退出</button>`);
  byId("signout").onclick = signOut;
}

function signIn() {
  show(html`<div class="card" style="max-width:460px;margin:40px auto">
    <h1>登录 Sign in</h1>
    <p class="muted">值班人员用个人账号登录，操作记入审计日志。Sign in with your own account; what you do is recorded under your name.</p>
    <form id="signin-account" class="stack"><label for="login">账号 Login</label>
    <input id="login" autocomplete="username" required>
    <label for="password">密码 Password</label>
    <input id="password" type="password" autocomplete="current-password" required>
    <p><button type="submit" id="signin-account-btn">登录</button></p><div id="msg-account"></div></form>
    <h2>或用密钥 Or with an API key</h2>
    <form id="signin" class="stack"><label for="key">密钥 API key</label>
    <input id="key" type="password" autocomplete="off" required>
    <p><button type="submit" id="signin-btn" class="secondary">用密钥登录</button></p><div id="msg"></div></form></div>`);
  const enter = async (msg) => {
    try {
      const me = await api("GET", "/api/v1/whoami");
      session.remember(me);
      location.hash = HOME[me.role] || "#/";
    } catch (e) {
      // The user went on to another page while the platform answered: the sign-in stands.
      if (e instanceof Superseded) return;
      session.end();
      fail(byId(msg), e);
    }
  };
  byId("signin").onsubmit = async (ev) => {
    ev.preventDefault();
    session.start(byId("key").value.trim());
    await enter("msg");
  };
  byId("signin-account").onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      // POST /api/v1/sessions answers accounts::Session {token, credential_id, expires_at_ms, account}.
      const s = await signInWithPassword(byId("login").value.trim(), byId("password").value);
      session.start(s.token);
      await enter("msg-account");
    } catch (e) {
      fail(byId("msg-account"), e);
    }
  };
}

function home(role) {
  if (role === "enterprise") return recordPage();
  if (role === "national") return nationalPage();
  if (role === "customs") return customsPage();
  return dashboard();
}

async function route() {
  const nav = beginNavigation();
  const h = location.hash || "#/";
  if (!session.key && h !== "#/signin") { location.hash = "#/signin"; return; }
  if (session.key && h !== "#/signin") {
    try { await loadNames(); } catch (e) { /* shown by the page's own call */ }
    if (!isCurrent(nav)) return;
  }
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
      case "customs": return await customsPage(params.get("after"));
      case "statistics": return await statisticsPage();
      case "findings": return await findingsPage(params.get("rule"), params.get("status"), params.get("city"), params.get("kind"));
      case "incidents": return await incidents();
      case "register": return registerPage(params);
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
  } catch (e) {
    // A page the user has already left (its calls end `Superseded`) ends quietly; the page that replaced it is
    // showing.
    if (isCurrent(nav)) show(errorBox(e));
  }
}

window.addEventListener("hashchange", route);
window.__ctReady = true;
route();

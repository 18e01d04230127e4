// The session (the API key and the account it names, kept for the tab) and the one call to the JSON API.

export const session = {
  get key() { return sessionStorage.getItem("ct_key"); },
  // GET /api/v1/whoami: Principal {credential, role, enterprise, province, person}; `person` for a session.
  get me() { try { return JSON.parse(sessionStorage.getItem("ct_me")); } catch (_) { return null; } },
  start(key) { sessionStorage.setItem("ct_key", key); },
  remember(me) { sessionStorage.setItem("ct_me", JSON.stringify(me)); },
  end() { sessionStorage.removeItem("ct_key"); sessionStorage.removeItem("ct_me"); },
};

// Navigation: the router counts every page it starts. A call answered after the user went on to another page
// throws `Superseded` instead of returning, so a slow page, or a page reloading after a button's request, never
// paints over the one that replaced it (a dashboard still loading when the duty officer signs out must not cover
// the sign-in form); what the call did on the platform stands. A late 401 signs out only the session it was
// sent with, never one started since.
let navigation = 0;
export function beginNavigation() { return ++navigation; }
export const isCurrent = (n) => n === navigation;
export class Superseded extends Error {
  constructor() { super("superseded by a later page"); }
}

// Signing out of a person's session ends it on the platform too (POST /api/v1/sessions/end), so the token
// stops working even if it was copied; an API key stays valid.
export function signOut() {
  const me = session.me;
  const key = session.key;
  if (me && me.person && key) {
    fetch("/api/v1/sessions/end", { method: "POST", headers: { Authorization: "Bearer " + key } }).catch(() => {});
  }
  session.end();
  location.hash = "#/signin";
}

// POST /api/v1/sessions with a login and password; a refusal is an ApiError like any other.
export async function signInWithPassword(login, password) {
  const r = await fetch("/api/v1/sessions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login, password }),
  });
  let data = null;
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (!r.ok) throw new ApiError(r.status, data && data.message ? data.message : r.status + " " + r.statusText, data && data.field);
  return data;
}

// The API's refusal, with the body `{code, message, field, errors[]}` it carries.
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

// `raw` sends bytes as they are ({bytes, type}); a 422 with a raw body is an answer (a ledger's row errors).
export async function api(method, path, body, raw) {
  const at = navigation;
  const key = session.key;
  const headers = { Authorization: "Bearer " + key };
  let payload;
  if (raw) { payload = raw.bytes; headers["Content-Type"] = raw.type; }
  else if (body !== undefined) { payload = JSON.stringify(body); headers["Content-Type"] = "application/json"; }
  const r = await fetch(path, { method, headers, body: payload });
  let data = null;
  try { data = await r.json(); } catch (_) { /* not JSON */ }
  if (at !== navigation) throw new Superseded();
  if (r.status === 401) { if (session.key === key) signOut(); throw new ApiError(401, "请重新登录 / sign in again"); }
  if (!r.ok && !(raw && r.status === 422)) {
    throw new ApiError(r.status, data && data.message ? data.message : r.status + " " + r.statusText, data && data.field);
  }
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
export const enc = encodeURIComponent;

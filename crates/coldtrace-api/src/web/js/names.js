// Names instead of codes, from the platform's own tables: GET /api/v1/reference answers system::Reference
// {provinces, cities, enterprise_kinds, document_kinds, movement_kinds, disposal_actions, rules}, each [Named {code, name}].
// Loaded once per page load after sign-in; until then (and for a code the table lacks) the code itself is shown.
import { get } from "./api.js";

const tables = {};

export async function loadNames() {
  if (tables.loaded) return;
  const r = await get("/api/v1/reference");
  for (const [k, list] of Object.entries(r)) tables[k] = new Map(list.map((n) => [n.code, n.name]));
  tables.loaded = true;
}

const look = (table, code) => (code && tables[table] && tables[table].get(code)) || code || "";

// "12" or "120116" → 天津 (a region keeps its code beside the province's name).
export function provinceName(code) {
  if (!code) return "";
  const p = look("provinces", String(code).slice(0, 2));
  return String(code).length > 2 ? `${p} ${code}` : p;
}
// "410100" or "4101" → 郑州市 (a city the table lacks keeps its code).
export const cityName = (code) => (code ? look("cities", `${String(code).slice(0, 4)}00`) : "");
export const docName = (k) => look("document_kinds", k);
export const actionName = (k) => look("disposal_actions", k);
export const movementName = (k) => look("movement_kinds", k);
export const ruleName = (k) => look("rules", k);
export const kindLabel = (k) => look("enterprise_kinds", k);
// The codes of a table, in its order, for a form's choices.
export const codes = (table) => [...((tables[table] && tables[table].keys()) || [])];

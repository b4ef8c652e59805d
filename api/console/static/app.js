// The console's shell: sign-in by API key (sessionStorage), the caller's role, the screens the
// role may use, and small helpers the screens share. Everything is fetched from this service.
const KEY = "ordinance.key";
const ROLES = ["evaluator", "analyst", "approver", "admin"];

export const state = { me: null };

export function may(role) {
  return state.me !== null && ROLES.indexOf(state.me.role) >= ROLES.indexOf(role);
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.code = e.code; this.path = e.path; this.details = e.details;
  }
}

export async function api(method, path, body, accept) {
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
  if (accept) headers.Accept = accept;
  const init = { method, headers };
  if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  if (accept && accept !== "application/json" && r.ok) return r.blob();
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { message: text } }; }
  if (!r.ok) {
    if (r.status === 401 && state.me) { signOut(); }  // the key was revoked meanwhile
    throw new ApiError(r.status, data);
  }
  return data;
}

// h("tag.class", {attr: value, onclick: fn}, children...): text is always text, never HTML.
export function h(spec, attrs, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(headers, rows, numeric = []) {
  return h("div.scroll", {}, h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x, i) => h(numeric.includes(i) ? "th.num" : "th", {}, x)))),
    h("tbody", {}, rows.map(r => r instanceof Node ? r : h("tr", {},
      r.map((c, i) => h(numeric.includes(i) ? "td.num" : "td", {}, c)))))));
}

export function pill(text) { return h(`span.pill.${String(text).replace(/[^a-z_]/gi, "")}`, {}, text); }

export function show(error, where) {
  const msg = error instanceof ApiError
    ? `${error.code || error.status}: ${error.message}${error.path ? ` (at ${error.path})` : ""}`
    : String(error && error.message || error);
  where.replaceChildren(h("p.error", { role: "alert" }, msg));
}

export function download(blob, name) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

let chartLib = null;
export async function chart(canvasHost, config) {
  if (!chartLib) {
    chartLib = new Promise((ok, fail) => {
      const s = h("script", { src: "/console/vendor/chart.umd.min.js" });
      s.onload = () => ok(window.Chart); s.onerror = fail; document.head.append(s);
    });
  }
  const Chart = await chartLib;
  const canvas = h("canvas", { role: "img", "aria-label": config.label || "chart" });
  canvasHost.replaceChildren(canvas);
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false },
                                 config.options || {});
  return new Chart(canvas, config);
}

export async function versions() {
  const items = (await api("GET", "/v1/rulesets")).items;
  return items.sort((a, b) => String(b.uploaded_at).localeCompare(String(a.uploaded_at)));  // newest first
}

export function versionSelect(items, id, label, selected) {
  return h("label", {}, label, h("select", { id },
    items.map(v => h("option", { value: `${v.name}@${v.digest}`,
      selected: selected ? `${v.name}@${v.digest}` === selected : v.active },
      `${v.name} ${v.version} ${v.digest.slice(7, 19)}${v.active ? " (active)" : ""}`))));
}

export function splitRef(ref) { const i = ref.indexOf("@"); return [ref.slice(0, i), ref.slice(i + 1)]; }

// ------------------------------------------------------------------ screens and routing
const SCREENS = [
  { id: "rules", title: "Rules", role: "analyst", module: "./screen-rules.js" },
  { id: "editor", title: "Editor", role: "analyst", module: "./screen-editor.js" },
  { id: "tests", title: "Tests", role: "analyst", module: "./screen-tests.js" },
  { id: "simulations", title: "Simulations", role: "analyst", module: "./screen-simulations.js" },
  { id: "decisions", title: "Decisions", role: "analyst", module: "./screen-decisions.js" },
  { id: "operations", title: "Operations", role: "evaluator", module: "./screen-operations.js" },
  { id: "reports", title: "Reports", role: "analyst", module: "./screen-reports.js" },
];

function allowed() { return SCREENS.filter(s => may(s.role)); }

async function route() {
  const main = document.getElementById("main");
  if (!state.me) return;
  const screens = allowed();
  const id = location.hash.replace(/^#\/?/, "").split("/")[0];
  const screen = screens.find(s => s.id === id) || screens[0];
  for (const a of document.querySelectorAll("#nav a")) {
    a.toggleAttribute("aria-current", a.dataset.id === screen.id);
    if (a.dataset.id === screen.id) a.setAttribute("aria-current", "page");
  }
  const host = h("section", { id: `screen-${screen.id}`, "aria-busy": "true" }, h("h1", {}, screen.title));
  main.replaceChildren(host);
  try {
    const mod = await import(screen.module);
    await mod.render(host);
  } catch (e) {
    host.append(h("p.error", { role: "alert" }, String(e && e.message || e)));
  }
  host.setAttribute("aria-busy", "false");
  performance.mark(`ordinance:screen:${screen.id}`);  // bench/console_first_screen.py reads it
}

function renderShell() {
  const nav = document.getElementById("nav");
  nav.replaceChildren(...allowed().map(s => h("a", { href: `#${s.id}`, dataset: { id: s.id } }, s.title)));
  nav.hidden = false;
  const who = document.getElementById("who");
  who.textContent = `${state.me.name} · ${state.me.role}`;
  who.hidden = false;
  document.getElementById("logout").hidden = false;
}

function signOut() {
  sessionStorage.removeItem(KEY);
  state.me = null;
  location.hash = "";
  location.reload();
}

async function signIn(secret) {
  sessionStorage.setItem(KEY, secret);
  try {
    state.me = await api("GET", "/v1/console/me");
  } catch (e) {
    sessionStorage.removeItem(KEY);
    throw e;
  }
  renderShell();
  await route();
}

function start() {
  document.getElementById("logout").addEventListener("click", signOut);
  document.getElementById("login").addEventListener("submit", async ev => {
    ev.preventDefault();
    const err = document.getElementById("login-error");
    err.textContent = "";
    performance.mark("ordinance:sign-in");
    try { await signIn(document.getElementById("key").value.trim()); }
    catch (e) { err.textContent = e.status === 401 ? "unknown or revoked key" : String(e.message); }
  });
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem(KEY);
  if (saved) signIn(saved).catch(() => {});
  else performance.mark("ordinance:login");
}

start();

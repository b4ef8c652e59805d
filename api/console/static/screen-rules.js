// Rules: versions, packs by phase in the order of work, each rule with its condition, actions
// and table; search by id, code, field or text; a diff of two versions; activate (admin).
import { api, h, may, pill, show, splitRef, table, versions, versionSelect } from "./app.js";

const ruleText = r => JSON.stringify(r).toLowerCase();

function tableView(t) {
  if (!t || typeof t !== "object") return null;
  const inputs = t.inputs || [], outputs = t.outputs || [];
  const rows = (t.rows || []).map(r => Array.isArray(r) ? r.map(c => typeof c === "string" ? c : JSON.stringify(c)) : [JSON.stringify(r)]);
  return h("div", {}, h("p.muted", {}, `table, hit policy ${t.hit || "first"}`),
    table([...inputs.map(i => `in: ${i}`), ...outputs.map(o => `out: ${o}`)], rows));
}

function ruleView(pack, r) {
  return h("div.rule", { dataset: { rule: `${pack.pack}/${r.id}` } },
    h("strong", {}, `${pack.pack}/${r.id}`), r.priority != null ? h("span.muted", {}, ` priority ${r.priority}`) : null,
    r.description ? h("p", {}, r.description) : null,
    r.when ? h("div", {}, h("span.muted", {}, "when "), h("code", {}, r.when)) : null,
    r.then ? h("div", {}, h("span.muted", {}, "then"), h("pre", {}, JSON.stringify(r.then, null, 2))) : null,
    tableView(r.table));
}

function packsView(data, query) {
  const q = query.trim().toLowerCase();
  const out = [];
  let shown = 0;
  for (const phase of [...data.phases, ""]) {
    const packs = data.packs.filter(p => (phase ? p.phase === phase : !data.phases.includes(p.phase)));
    const blocks = [];
    for (const p of packs) {
      const rules = p.rules.filter(r => !q || ruleText(r).includes(q) || `${p.pack}/${r.id}`.includes(q));
      if (q && !rules.length) continue;
      shown += rules.length;
      blocks.push(h("details", { open: !!q }, h("summary", {}, `${p.pack} `, h("span.muted", {}, `${p.file} · ${rules.length} rule(s)`),
        p.enabled ? null : pill("disabled")), p.description ? h("p", {}, p.description) : null,
        rules.map(r => ruleView(p, r))));
    }
    if (blocks.length) out.push(h("h2", {}, phase || "other"), ...blocks);
  }
  return h("div", { id: "packs" }, h("p.muted", { id: "rule-count" }, `${shown} rule(s)`), out);
}

function rowsOf(rule) { return ((rule.table && rule.table.rows) || []).map(r => JSON.stringify(r)); }

export function diffRules(a, b) {
  const index = d => new Map(d.packs.flatMap(p => p.rules.map(r => [`${p.pack}/${r.id}`, r])));
  const ra = index(a), rb = index(b), out = [];
  for (const [id, r] of rb) {
    if (!ra.has(id)) { out.push({ id, kind: "added" }); continue; }
    const old = ra.get(id);
    if (JSON.stringify(old) === JSON.stringify(r)) continue;
    const oldRows = new Set(rowsOf(old)), newRows = new Set(rowsOf(r));
    const what = ["description", "when", "then", "priority"].filter(k => JSON.stringify(old[k]) !== JSON.stringify(r[k]));
    out.push({ id, kind: "changed", what,
      rowsAdded: [...newRows].filter(x => !oldRows.has(x)), rowsRemoved: [...oldRows].filter(x => !newRows.has(x)) });
  }
  for (const id of ra.keys()) if (!rb.has(id)) out.push({ id, kind: "removed" });
  return out;
}

async function rulesOf(ref) {
  const [name, digest] = splitRef(ref);
  return api("GET", `/v1/console/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/rules`);
}

export async function render(host) {
  const items = await versions();
  if (!items.length) { host.append(h("p", {}, "No rule set is stored yet.")); return; }
  const body = h("div");
  const status = h("div");
  const search = h("input", { id: "rule-search", type: "search", placeholder: "rule id, code, field or text" });
  const pick = versionSelect(items, "rules-version", "version");
  const activate = may("admin") ? h("button.secondary", { id: "activate", type: "button" }, "Activate this version") : null;
  let data = null;
  const load = async () => {
    body.replaceChildren(h("p.muted", {}, "loading..."));
    try { data = await rulesOf(pick.querySelector("select").value); body.replaceChildren(packsView(data, search.value)); }
    catch (e) { show(e, body); }
  };
  pick.querySelector("select").addEventListener("change", load);
  search.addEventListener("input", () => data && body.replaceChildren(packsView(data, search.value)));
  if (activate) activate.addEventListener("click", async () => {
    const [name, digest] = splitRef(pick.querySelector("select").value);
    try { await api("POST", `/v1/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/activate`);
          status.replaceChildren(h("p.good", { role: "status" }, `${name} ${digest.slice(7, 19)} is now active`)); }
    catch (e) { show(e, status); }
  });
  const from = versionSelect(items, "diff-from", "from", `${items[items.length - 1].name}@${items[items.length - 1].digest}`);
  const to = versionSelect(items, "diff-to", "to", `${items[0].name}@${items[0].digest}`);
  const diffOut = h("div", { id: "diff" });
  const diffBtn = h("button.secondary", { type: "button", id: "diff-run", onclick: async () => {
    try {
      const [a, b] = await Promise.all([rulesOf(from.querySelector("select").value), rulesOf(to.querySelector("select").value)]);
      const d = diffRules(a, b);
      diffOut.replaceChildren(d.length ? table(["rule", "change", "what"], d.map(x => h(`tr.${x.kind}`, {},
        h("td", {}, x.id), h("td", {}, x.kind),
        h("td", {}, x.kind !== "changed" ? "" : [x.what.join(", "),
          x.rowsAdded.length ? h("div", {}, `rows added: ${x.rowsAdded.join(" ")}`) : null,
          x.rowsRemoved.length ? h("div", {}, `rows removed: ${x.rowsRemoved.join(" ")}`) : null]))))
        : h("p.muted", {}, "no rule differs"));
    } catch (e) { show(e, diffOut); }
  } }, "Compare");
  host.append(h("div.card", {}, h("div.row", {}, pick, h("label", {}, "search", search), activate), status),
              h("details.card", {}, h("summary", {}, "Compare two versions"), h("div.row", {}, from, to, diffBtn), diffOut),
              body);
  await load();
}

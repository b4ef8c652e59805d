// Decisions: search the log; one decision explained (rules fired, adjustments with their
// rules, tax by jurisdiction, allocations, approvals, holds, violations) and decided again
// under another version.
import { api, h, pill, show, table, versions, versionSelect } from "./app.js";

function explain(d) {
  const dec = d.decision || {};
  const p = dec.pricing || {};
  const lines = p.lines || [];
  const parts = [h("p", {}, pill(dec.status || d.status), " ", h("code", {}, d.decision_id || ""),
    ` order ${dec.order_id || d.order_id || ""} · ${d.ruleset || (dec.ruleset || {}).name || ""} · as of ${dec.as_of || d.as_of || ""}`)];
  parts.push(h("h3", {}, "Rules fired"), h("p", {}, (dec.fired || d.fired || []).join(", ") || "none"));
  if (lines.length) {
    parts.push(h("h3", {}, `Pricing${p.currency ? ` (${p.currency})` : ""}`),
      table(["line", "sku", "qty", "list", "adjustments (rule)", "net", "tax", "total"], lines.map(l => [
        l.line_id, l.sku, l.quantity, l.list_price,
        h("div", {}, (l.adjustments || []).map(a => h("div", {}, `${a.kind} ${a.amount} (${a.rule})${a.reason ? ` ${a.reason}` : ""}`))),
        l.net, h("div", {}, (l.taxes || []).map(t => h("div", {}, `${t.jurisdiction || "(no jurisdiction)"} ${t.rate} % ${t.amount} (${t.rule})`)), h("strong", {}, l.tax)), l.total]), [2, 3, 5, 7]),
      h("p", {}, `subtotal ${p.subtotal} · discounts ${p.discount_total} · charges ${p.charges_total} · tax ${p.tax_total} · total `, h("strong", {}, p.total)));
  }
  const alloc = (dec.sourcing || {}).lines || [];
  if (alloc.length) parts.push(h("h3", {}, "Allocations"), table(["line", "sku", "location", "quantity", "ships", "arrives", "backordered"],
    alloc.flatMap(l => (l.allocations || []).length
      ? l.allocations.map(a => [l.line_id, l.sku, a.location, a.quantity, a.ship_date, a.arrival_date, l.backordered])
      : [[l.line_id, l.sku, "", "", "", "", l.backordered]]), [3, 6]));
  for (const [k, title] of [["approvals", "Approvals"], ["holds", "Holds"], ["violations", "Violations"], ["errors", "Rule errors"]]) {
    const xs = dec[k] || [];
    if (xs.length) parts.push(h("h3", {}, title), table(["rule", "code / role", "message"],
      xs.map(x => [x.rule || "", x.code || x.role || "", x.message || x.reason || ""])));
  }
  return parts;
}

export async function render(host) {
  const f = {
    order_id: h("input", { id: "dec-order", placeholder: "order id" }),
    status: h("select", { id: "dec-status" }, ["", "accepted", "rejected", "on_hold", "pending_approval"].map(s => h("option", { value: s }, s || "any"))),
    rule: h("input", { id: "dec-rule", placeholder: "pack/rule" }),
    from: h("input", { id: "dec-from", type: "date" }),
    to: h("input", { id: "dec-to", type: "date" }),
  };
  const results = h("div", { id: "dec-results" });
  const detail = h("div.card", { id: "dec-detail", hidden: true });
  let cursor = null;
  const items = await versions().catch(() => []);
  async function search(more) {
    const q = new URLSearchParams({ limit: "50" });
    for (const [k, el] of Object.entries(f)) if (el.value.trim()) q.set(k, el.value.trim());
    if (more && cursor) q.set("cursor", cursor);
    try {
      const r = await api("GET", `/v1/decisions?${q}`);
      cursor = r.next_cursor;
      const rows = r.items.map(d => h("tr", {}, h("td", {}, h("a", { href: "#decisions", onclick: ev => { ev.preventDefault(); open(d.decision_id); } }, d.order_id || d.decision_id)),
        h("td", {}, pill(d.status)), h("td", {}, d.created_at), h("td", {}, d.kind), h("td", {}, d.ruleset)));
      const t = table(["order", "status", "at", "kind", "rule set"], rows);
      if (more) results.querySelector("tbody").append(...rows); else results.replaceChildren(t);
      results.querySelector("#dec-more")?.remove();
      if (cursor && r.items.length) results.append(h("button.secondary", { id: "dec-more", type: "button", onclick: () => search(true) }, "More"));
    } catch (e) { show(e, results); }
  }
  async function open(id) {
    detail.hidden = false;
    try {
      const d = await api("GET", `/v1/decisions/${encodeURIComponent(id)}`);
      const again = h("div");
      const pick = items.length ? versionSelect(items, "dec-again-version", "decide again under") : null;
      const btn = pick ? h("button.secondary", { type: "button", onclick: async () => {
        try {
          const body = { order: (d.request || {}).order, ruleset: pick.querySelector("select").value };
          if ((d.request || {}).as_of) body.as_of = d.request.as_of;
          const r = await api("POST", "/v1/decisions", body);
          again.replaceChildren(h("h3", {}, "Decided again"), ...explain({ decision: r }));
        } catch (e) { show(e, again); }
      } }, "Decide again") : null;
      detail.replaceChildren(h("h2", {}, "Decision"), ...explain(d), pick ? h("div.row", {}, pick, btn) : null, again);
    } catch (e) { show(e, detail); }
  }
  host.append(h("form.card", { onsubmit: ev => { ev.preventDefault(); search(false); } },
    h("div.row", {}, Object.entries(f).map(([k, el]) => h("label", {}, k.replace("_", " "), el)),
      h("button", { type: "submit", id: "dec-search" }, "Search"))), results, detail);
  await search(false);
}

// Operations: orders by status; my open approvals (approve or reject with a comment); alerts
// by priority; holds to release with a reason; reorder proposals; rebate accruals; returns
// (GET /v1/returns, filtered, a page at a time). What the key's role cannot do is not offered.
import { api, h, may, pill, show, table } from "./app.js";

const enc = encodeURIComponent;

async function orders(out) {
  const status = h("select", { id: "ops-status" }, ["", "accepted", "rejected", "on_hold", "pending_approval"]
    .map(s => h("option", { value: s }, s || "any status")));
  const list = h("div", { id: "ops-orders" });
  const load = async () => {
    try {
      const r = await api("GET", `/v1/orders?limit=100${status.value ? `&status=${status.value}` : ""}`);
      list.replaceChildren(table(["order", "status", "customer", "channel", "date", "currency", "total"],
        r.items.map(o => [o.order_id, pill(o.status), o.customer || "", o.channel || "", o.order_date || "", o.currency || "", o.total]), [6]));
    } catch (e) { show(e, list); }
  };
  status.addEventListener("change", load);
  out.replaceChildren(h("div.row", {}, h("label", {}, "status", status)), list);
  await load();
}

async function approvals(out) {
  const list = h("div", { id: "ops-approvals" });
  const load = async () => {
    try {
      const r = await api("GET", "/v1/approvals?mine=true");
      if (!r.items.length) { list.replaceChildren(h("p.muted", {}, "No open approval is waiting for you.")); return; }
      list.replaceChildren(...r.items.map(t => {
        const comment = h("input", { placeholder: "comment", "aria-label": `comment on ${t.order_id}` });
        const msg = h("div");
        const act = action => async () => {
          try {
            const done = await api("POST", `/v1/approvals/${enc(t.id)}`, { action, comment: comment.value });
            msg.replaceChildren(h("p.good", { role: "status" }, `${action}d: order ${t.order_id} is now ${done.order_status}`));
            setTimeout(load, 1500);
          } catch (e) { show(e, msg); }
        };
        return h("div.card", { dataset: { task: t.id, order: t.order_id } },
          h("p", {}, h("strong", {}, `order ${t.order_id}`), ` · ${t.role}, level ${t.level}`),
          h("p", {}, t.reason || ""), h("p.muted", {}, (t.rules || []).join(", ")),
          h("div.row", {}, h("label", {}, "comment", comment),
            h("button", { type: "button", onclick: act("approve") }, "Approve"),
            h("button.secondary", { type: "button", onclick: act("reject") }, "Reject")), msg);
      }));
    } catch (e) { show(e, list); }
  };
  out.replaceChildren(list);
  await load();
}

async function alerts(out) {
  const list = h("div", { id: "ops-alerts" });
  try {
    const r = await api("GET", "/v1/alerts");
    list.replaceChildren(r.items.length ? table(["priority", "order", "kind", "message", "since"], r.items.map(a =>
      [pill(a.priority), a.order_id || "", a.kind || a.code || "", a.message || "", a.created_at || a.raised_at || ""]))
      : h("p.muted", {}, "No open alert."));
  } catch (e) { show(e, list); }
  out.replaceChildren(list);
}

async function holds(out) {
  const list = h("div", { id: "ops-holds" });
  const load = async () => {
    try {
      const r = await api("GET", "/v1/orders?status=on_hold&limit=100");
      if (!r.items.length) { list.replaceChildren(h("p.muted", {}, "No order is on hold.")); return; }
      list.replaceChildren(...await Promise.all(r.items.map(async o => {
        const t = await api("GET", `/v1/orders/${enc(o.order_id)}/timeline`).catch(() => ({ holds: [] }));
        const reason = h("input", { placeholder: "reason (required)", "aria-label": `reason for ${o.order_id}` });
        const msg = h("div");
        const release = h("button", { type: "button", onclick: async () => {
          try {
            const done = await api("POST", `/v1/orders/${enc(o.order_id)}/holds/release`, { reason: reason.value });
            msg.replaceChildren(h("p.good", { role: "status" }, `released: order ${o.order_id} is now ${done.state}`));
          } catch (e) { show(e, msg); }
        } }, "Release");
        return h("div.card", { dataset: { order: o.order_id } },
          h("p", {}, h("strong", {}, `order ${o.order_id}`), " ", pill(o.status), ` ${t.state || ""}`),
          (t.holds || []).map(x => h("p", {}, h("code", {}, x.code), ` ${x.reason || x.message || ""} (by ${x.by || "?"})`)),
          may("approver") ? h("div.row", {}, h("label", {}, "reason", reason), release) : null, msg);
      })));
    } catch (e) { show(e, list); }
  };
  out.replaceChildren(list);
  await load();
}

async function reorders(out) {
  const list = h("div", { id: "ops-reorders" });
  try {
    const r = await api("GET", "/v1/reorders?state=open");
    list.replaceChildren(r.items.length ? table(["id", "sku", "location", "quantity", "state", "created"], r.items.map(x =>
      [x.id, x.sku, x.location, x.quantity, pill(x.state), x.created_at || ""]), [3]) : h("p.muted", {}, "No open proposal."));
  } catch (e) { show(e, list); }
  out.replaceChildren(list);
}

async function rebates(out) {
  const list = h("div", { id: "ops-rebates" });
  try {
    const r = await api("GET", "/v1/rebates/accruals");
    list.replaceChildren(r.items.length ? table(["programme", "period", "currency", "basis", "accrued"], r.items.map(x =>
      [x.programme, x.period, x.currency, x.basis || x.revenue || "", x.accrued || x.amount || ""]), [3, 4])
      : h("p.muted", {}, "No accrual."));
  } catch (e) { show(e, list); }
  out.replaceChildren(list);
}

async function returns(out) {
  const status = h("select", { id: "ret-status" }, ["", "pending", "refunded", "partly_refunded", "due", "none"]
    .map(s => h("option", { value: s }, s || "any refund status")));
  const orderId = h("input", { id: "ret-order", placeholder: "order id", maxlength: "200" });
  const customer = h("input", { id: "ret-customer", placeholder: "customer id", maxlength: "200" });
  const list = h("div", { id: "ops-returns" });
  const more = h("button.secondary", { type: "button", id: "ret-more", hidden: true }, "More");
  let cursor = null, rows = [];
  const row = x => h("tr", { dataset: { rma: x.rma, order: x.order_id } },
    h("td", {}, h("code", {}, x.rma)), h("td", {}, x.order_id), h("td.num", {}, `${x.refund} ${x.currency || ""}`),
    h("td", {}, pill(x.refund_status)), h("td", {}, x.customer || ""),
    h("td", {}, (x.at || "").replace("T", " ").slice(0, 16)), h("td.num", {}, x.quantity),
    h("td", {}, x.lines.map(l => `${l.sku || l.line_id} ×${l.quantity} ${l.condition}`).join("; ")));
  const load = async next => {
    const q = new URLSearchParams({ limit: "50" });
    if (status.value) q.set("status", status.value);
    if (orderId.value.trim()) q.set("order_id", orderId.value.trim());
    if (customer.value.trim()) q.set("customer", customer.value.trim());
    if (next) q.set("cursor", next);
    try {
      const r = await api("GET", `/v1/returns?${q}`);
      rows = next ? rows.concat(r.items) : r.items;
      cursor = r.next_cursor;
      more.hidden = !cursor;
      list.replaceChildren(rows.length ? table(["return", "order", "refund", "refund status", "customer", "at", "quantity", "lines"],
        rows.map(row), [2, 6]) : h("p.muted", {}, "No return matches."));
    } catch (e) { show(e, list); }
  };
  more.addEventListener("click", () => load(cursor));
  const search = h("button", { type: "button", id: "ret-search", onclick: () => load(null) }, "Search");
  status.addEventListener("change", () => load(null));
  out.replaceChildren(h("div.row", {}, h("label", {}, "refund status", status), h("label", {}, "order", orderId),
    h("label", {}, "customer", customer), search), list, more);
  await load(null);
}

export async function render(host) {
  const tabs = [
    ["orders", "Orders", "analyst", orders], ["approvals", "My approvals", "approver", approvals],
    ["alerts", "Alerts", "evaluator", alerts], ["holds", "Holds", "analyst", holds],
    ["reorders", "Reorders", "analyst", reorders], ["rebates", "Rebates", "analyst", rebates],
    ["returns", "Returns", "analyst", returns],
  ].filter(t => may(t[2]));
  const out = h("div", { id: "ops-out" });
  const bar = h("div.tabs", { role: "group", "aria-label": "operations" });
  const open = async name => {
    for (const b of bar.children) b.setAttribute("aria-pressed", String(b.dataset.tab === name));
    out.replaceChildren(h("p.muted", {}, "loading..."));
    await tabs.find(t => t[0] === name)[3](out);
  };
  bar.append(...tabs.map(t => h("button", { type: "button", dataset: { tab: t[0] }, "aria-pressed": "false",
    onclick: () => open(t[0]) }, t[1])));
  host.append(bar, out);
  const wanted = location.hash.split("/")[1];
  await open(tabs.some(t => t[0] === wanted) ? wanted : tabs[0][0]);
}

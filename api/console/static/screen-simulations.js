// Simulations: start one (baseline, candidate; orders stored in the hub or uploaded as JSON
// lines), watch its progress, read the report per currency with charts, and open a changed
// order with its two decisions side by side, the differing fields marked.
import { api, chart, download, h, pill, show, splitRef, table, versions, versionSelect } from "./app.js";

const cur = c => (c === "None" || c === "null" || !c ? "(no currency)" : c);

function diffKeys(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  return [...keys].filter(k => JSON.stringify((a || {})[k]) !== JSON.stringify((b || {})[k]));
}

function side(sample) {
  const changed = new Set(diffKeys(sample.baseline, sample.candidate));
  const col = (title, d) => h("div", {}, h("h3", {}, title),
    Object.entries(d || {}).map(([k, v]) => h(changed.has(k) ? "div.diff-key" : "div", { dataset: { key: k } },
      h("strong", {}, k), h("pre", {}, JSON.stringify(v, null, 2)))));
  return h("div", { id: "order-detail" }, h("h2", {}, `Order ${sample.order_id}`),
    h("p", {}, sample.explanation),
    h("p.muted", {}, `fields that differ: ${[...changed].join(", ") || "none"}`),
    h("div.side", {}, col("baseline", sample.baseline), col("candidate", sample.candidate)));
}

async function report(out, job) {
  const s = job.summary, b = s.baseline, c = s.candidate;
  const currencies = [...new Set([...Object.keys(b.revenue || {}), ...Object.keys(c.revenue || {})])].sort();
  const moneyRows = [];
  for (const k of currencies) {
    for (const [label, key] of [["revenue", "revenue"], ["discounts", "discount_total"], ["tax", "tax_total"]]) {
      const x = (b[key] || {})[k] || "0", y = (c[key] || {})[k] || "0";
      moneyRows.push([cur(k), label, x, y, (s.changes.revenue[k] && key === "revenue") ? s.changes.revenue[k].delta : ""]);
    }
    const m = (s.changes.margin || {})[k];
    if (m) moneyRows.push([cur(k), "margin", m.baseline, m.candidate, m.delta]);
  }
  const statuses = [...new Set([...Object.keys(b.status_counts), ...Object.keys(c.status_counts)])].sort();
  const rules = [...new Set([...Object.keys(b.rule_fires), ...Object.keys(c.rule_fires)])]
    .filter(r => (b.rule_fires[r] || 0) !== (c.rule_fires[r] || 0)).sort();
  const statusChart = h("div.chart"), rulesChart = h("div.chart");
  const detail = h("div");
  out.replaceChildren(h("div", { id: "sim-report" },
    h("p", {}, h("strong", {}, `${s.orders} orders, ${s.changed_orders} changed`), ` · bad lines ${s.bad_lines}`),
    h("h2", {}, "Money per currency"),
    table(["currency", "figure", "baseline", "candidate", "change"], moneyRows, [2, 3, 4]),
    h("h2", {}, "Status"),
    table(["status", "baseline", "candidate"], statuses.map(k => [k, b.status_counts[k] || 0, c.status_counts[k] || 0]), [1, 2]),
    statusChart,
    h("h2", {}, "Transitions"),
    table(["from -> to", "orders"], Object.entries(s.changes.transitions || {}), [1]),
    h("h2", {}, "Rules whose counts changed"),
    rules.length ? table(["rule", "baseline", "candidate"], rules.map(r => [r, b.rule_fires[r] || 0, c.rule_fires[r] || 0]), [1, 2])
      : h("p.muted", {}, "no rule's count changed"),
    rules.length ? rulesChart : null,
    h("h2", {}, "Changed orders (sample)"),
    table(["order", "moved", "why"], (s.sample || []).map(x => h("tr", {},
      h("td", {}, h("a", { href: "#simulations", dataset: { order: x.order_id }, onclick: ev => {
        ev.preventDefault(); detail.replaceChildren(side(x)); detail.scrollIntoView(); } }, x.order_id)),
      h("td", {}, x.moved.join(", ")), h("td", {}, x.explanation)))),
    detail,
    h("button.secondary", { type: "button", onclick: async () =>
      download(await api("GET", job.report, undefined, "text/html"), `simulation-${job.id}.html`) }, "Download the HTML report")));
  await chart(statusChart, { type: "bar", label: "orders by status, baseline and candidate", data: { labels: statuses, datasets: [
    { label: "baseline", data: statuses.map(k => b.status_counts[k] || 0), backgroundColor: "#9aa5b8" },
    { label: "candidate", data: statuses.map(k => c.status_counts[k] || 0), backgroundColor: "#1f5fbf" }] },
    options: { indexAxis: "y" } });
  if (rules.length) await chart(rulesChart, { type: "bar", label: "rule fire counts that changed", data: { labels: rules, datasets: [
    { label: "baseline", data: rules.map(r => b.rule_fires[r] || 0), backgroundColor: "#9aa5b8" },
    { label: "candidate", data: rules.map(r => c.rule_fires[r] || 0), backgroundColor: "#1f5fbf" }] },
    options: { indexAxis: "y" } });
}

async function watch(out, id) {
  const bar = h("progress", { id: "sim-progress", max: 1, value: 0 });
  const state = h("span", { id: "sim-state" });
  out.replaceChildren(h("p", {}, "simulation ", h("code", {}, id), " ", state), bar);
  for (let i = 0; i < 3600; i++) {
    const job = await api("GET", `/v1/simulations/${encodeURIComponent(id)}`);
    state.replaceChildren(pill(job.state));
    bar.value = job.progress ? job.progress.fraction : 0;
    if (job.state === "done") { await report(out, job); return; }
    if (job.state === "failed" || job.state === "cancelled") {
      out.append(h("p.error", { role: "alert" }, job.error || job.state)); return;
    }
    await new Promise(ok => setTimeout(ok, 500));
  }
}

export async function render(host) {
  const items = await versions();
  if (!items.length) { host.append(h("p", {}, "No rule set is stored yet.")); return; }
  const active = items.find(v => v.active) || items[items.length - 1];
  const newest = items[0];
  const baseline = versionSelect(items, "sim-baseline", "baseline", `${active.name}@${active.digest}`);
  const candidate = versionSelect(items, "sim-candidate", "candidate", `${newest.name}@${newest.digest}`);
  const source = h("select", { id: "sim-source" }, h("option", { value: "stored" }, "stored orders (the hub)"),
                   h("option", { value: "upload" }, "upload JSON lines"),
                   h("option", { value: "generated" }, "generated from the baseline's reference data"));
  const file = h("input", { type: "file", id: "sim-file", accept: ".jsonl,.ndjson,.json,.txt", hidden: true });
  const count = h("input", { type: "number", id: "sim-count", min: 1, max: 5000, value: 500 });
  const seed = h("input", { type: "number", id: "sim-seed", min: 0, value: 1 });
  const generated = h("span", { hidden: true }, h("label", {}, "orders", count), h("label", {}, "seed", seed));
  source.addEventListener("change", () => { file.hidden = source.value !== "upload"; generated.hidden = source.value !== "generated"; });
  const out = h("div", { id: "sim-out" });
  const start = h("button", { type: "button", id: "sim-start" }, "Start");
  start.addEventListener("click", async () => {
    try {
      const body = { baseline: baseline.querySelector("select").value, candidate: candidate.querySelector("select").value };
      if (source.value === "upload") {
        if (!file.files.length) throw new Error("choose a file of orders, one JSON order per line");
        const lines = (await file.files[0].text()).split("\n").filter(l => l.trim());
        if (lines.length > 100000) throw new Error("at most 100,000 orders from the console; use the API for more");
        body.orders = lines.map((l, i) => { try { return JSON.parse(l); } catch { throw new Error(`line ${i + 1} is not JSON`); } });
      } else if (source.value === "generated") {
        const [name, digest] = splitRef(body.baseline);
        out.replaceChildren(h("p.muted", {}, "generating orders..."));
        const q = new URLSearchParams({ count: count.value || "500", seed: seed.value || "1" });
        body.orders = (await api("GET", `/v1/console/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/generate?${q}`)).orders;
      } else body.orders = "stored";
      const job = await api("POST", "/v1/simulations", body);
      await watch(out, job.id);
      await listJobs();
    } catch (e) { show(e, out); }
  });
  const jobs = h("div", { id: "sim-jobs" });
  async function listJobs() {
    try {
      const r = await api("GET", "/v1/simulations?limit=20");
      jobs.replaceChildren(table(["job", "state", "candidate", "created"], r.items.map(j => h("tr", {},
        h("td", {}, h("a", { href: "#simulations", onclick: ev => { ev.preventDefault(); watch(out, j.id).catch(e => show(e, out)); } }, j.id.slice(0, 8))),
        h("td", {}, pill(j.state)), h("td", {}, j.candidate), h("td", {}, j.created)))));
    } catch (e) { show(e, jobs); }
  }
  host.append(h("div.card", {}, h("div.row", {}, baseline, candidate, h("label", {}, "orders", source), file, generated, start)),
              out, h("h2", {}, "Recent simulations"), jobs);
  await listJobs();
}

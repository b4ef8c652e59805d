// Reports: the top products, customers, channels, countries, brands, categories, sellers and
// days per currency (money of different currencies is never added), as tables and charts,
// with CSV export.
import { api, chart, download, h, show, table } from "./app.js";

const BY = ["product", "customer", "channel", "country", "category", "brand", "seller", "day"];

export async function render(host) {
  const by = h("select", { id: "rep-by" }, BY.map(b => h("option", { value: b }, b)));
  const sort = h("select", { id: "rep-sort" }, ["revenue", "units", "orders"].map(s => h("option", { value: s }, s)));
  const from = h("input", { type: "date", id: "rep-from" }), to = h("input", { type: "date", id: "rep-to" });
  const limit = h("input", { type: "number", id: "rep-limit", min: 1, max: 1000, value: 10 });
  const out = h("div", { id: "rep-out" });
  const query = () => {
    const q = new URLSearchParams({ by: by.value, sort: sort.value, limit: limit.value || "10" });
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    return q;
  };
  async function load() {
    try {
      const r = await api("GET", `/v1/reports/top?${query()}`);
      const groups = new Map();
      for (const x of r.items) {
        const c = x.currency || "(no currency)";
        if (!groups.has(c)) groups.set(c, []);
        groups.get(c).push(x);
      }
      if (!groups.size) { out.replaceChildren(h("p.muted", {}, "No order in this period.")); return; }
      const blocks = [];
      const charts = [];
      for (const [c, xs] of groups) {
        const host2 = h("div.chart");
        charts.push([host2, c, xs]);
        blocks.push(h("div.card", { dataset: { currency: c } }, h("h2", {}, `${c}: top ${by.value} by ${sort.value}`),
          table([by.value, "revenue", "units", "orders"], xs.map(x => [x.key ?? "(none)", x.revenue, x.units, x.orders]), [1, 2, 3]),
          host2));
      }
      out.replaceChildren(...blocks);
      for (const [host2, c, xs] of charts) {
        await chart(host2, { type: "bar", label: `${sort.value} by ${by.value}, ${c}`, data: {
          labels: xs.map(x => String(x.key ?? "(none)")),
          datasets: [{ label: `${sort.value} (${c})`, data: xs.map(x => Number(x[sort.value])), backgroundColor: "#1f5fbf" }] },
          options: { indexAxis: "y", plugins: { legend: { display: false } } } });
      }
    } catch (e) { show(e, out); }
  }
  const csv = h("button.secondary", { type: "button", id: "rep-csv", onclick: async () => {
    try { download(await api("GET", `/v1/reports/top?${query()}`, undefined, "text/csv"), `top-${by.value}.csv`); }
    catch (e) { show(e, out); }
  } }, "Export CSV");
  host.append(h("form.card", { onsubmit: ev => { ev.preventDefault(); load(); } }, h("div.row", {},
    h("label", {}, "by", by), h("label", {}, "sort", sort), h("label", {}, "from", from), h("label", {}, "to", to),
    h("label", {}, "top", limit), h("button", { type: "submit", id: "rep-run" }, "Show"), csv)), out);
  await load();
}

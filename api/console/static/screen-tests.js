// Tests: run a version's analysts' tests; failures as differences with the decision's
// messages; coverage per pack and rule, and per decision table the rows hit and never hit.
import { api, h, pill, show, splitRef, table, versions, versionSelect } from "./app.js";

// one decision table: its rows with their cells, how many evaluations each matched, "never"
function tableRows(t) {
  const head = `${t.hit} of ${t.rows.length} rows hit` +
    (t.never_hit.length ? ` · never hit: ${t.never_hit.map(n => `row ${n}`).join(", ")}` : "") +
    (t.default !== null ? ` · default answered ${t.default} of ${t.evaluations}` : "");
  return h("div.card", { dataset: { rule: t.rule } },
    h("p", {}, h("strong", {}, t.rule), " ", h("code", {}, `${t.file}:${t.line}`), ` · ${t.hit_policy}`),
    h("p.table-summary", {}, head),
    table(["row", "cells", "matched"], t.rows.map(x => h("tr", { dataset: { row: String(x.row), hits: String(x.hits) } },
      h("td.num", {}, x.row),
      h("td", {}, h("code", {}, (x.cells || []).map(c => c === null ? "-" : String(c)).join(" | "))),
      h("td.num", {}, x.hits ? String(x.hits) : pill("never")))), [0, 2]));
}

export async function render(host) {
  const items = await versions();
  if (!items.length) { host.append(h("p", {}, "No rule set is stored yet.")); return; }
  const pick = versionSelect(items, "tests-version", "version");
  const out = h("div", { id: "test-results" });
  const run = h("button", { type: "button", id: "run-tests" }, "Run tests");
  run.addEventListener("click", async () => {
    const [name, digest] = splitRef(pick.querySelector("select").value);
    out.replaceChildren(h("p.muted", {}, "running..."));
    run.disabled = true;
    try {
      const r = await api("POST", `/v1/console/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/tests`);
      out.replaceChildren(...[  // replaceChildren would write a null as the text "null"
        h("p", { id: "test-summary" }, h("strong", {}, `${r.passed} passed, ${r.failed} failed`),
          ` · rule coverage ${r.coverage} % · table rows ${r.row_coverage} %`),
        r.problems.length ? h("div.error", {}, r.problems.map(p => h("div", {}, p))) : null,
        h("h2", {}, "Cases"),
        table(["", "case", "where"], r.cases.map(c => h("tr", { dataset: { passed: String(c.passed) } },
          h("td", {}, pill(c.passed ? "pass" : "fail")),
          h("td", {}, c.name, c.passed ? null : h("div", {},
            c.differences.map(d => h("pre.removed", {}, d)),
            c.messages.map(m => h("div.muted", {}, `${m.kind}: ${m.code || ""} ${m.message || ""} ${m.rule ? `(${m.rule})` : ""}`)))),
          h("td", {}, h("code", {}, `${c.file}:${c.line}`))))),
        h("h2", {}, "Coverage per pack and rule"),
        table(["pack / rule", "fired in a test"], r.packs.flatMap(p => [
          h("tr", {}, h("th", {}, p.pack), h("th", {}, `${p.fired} of ${p.rules.length}`)),
          ...p.rules.map(x => h("tr", {}, h("td", {}, x.rule), h("td", {}, x.fired ? "yes" : pill("never"))))])),
        h("h2", {}, "Coverage per table row"),
        r.tables.length ? h("div", { id: "table-rows" }, r.tables.map(tableRows))
          : h("p.muted", {}, "No rule of this version has a decision table.")].filter(Boolean));
    } catch (e) { show(e, out); }
    run.disabled = false;
  });
  host.append(h("div.card", {}, h("div.row", {}, pick, run)), out);
}

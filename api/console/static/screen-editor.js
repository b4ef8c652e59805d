// Editor: a rule-set file in CodeMirror (YAML), checked by the service as you type; each
// diagnostic at its line in the gutter and in a list; save a new version only when it checks
// clean; activate it when the role may (admin).
import { api, h, may, show, splitRef, versions, versionSelect } from "./app.js";

let cm = null;
async function codemirror() {
  if (!cm) cm = await import("/console/vendor/codemirror.min.js");
  return cm;
}

function toCm(view, diags) {
  const doc = view.state.doc;
  return diags.filter(d => d.line).map(d => {
    const line = doc.line(Math.min(Math.max(d.line, 1), doc.lines));
    const from = Math.min(line.from + Math.max((d.col || 1) - 1, 0), line.to);
    const to = from < line.to ? line.to : Math.min(from + 1, doc.length);
    return { from, to, severity: d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info",
             message: `${d.code || ""} ${d.message}${d.hint ? ` (${d.hint})` : ""}`.trim() };
  });
}

// Completion from the published JSON Schemas: the property names (with their descriptions)
// and enumerated values of the schema of the file's kind.
let schemaWords = null;
async function schemaOptions() {
  if (!schemaWords) {
    const all = await api("GET", "/v1/console/schemas");
    schemaWords = {};
    for (const [kind, schema] of Object.entries(all)) {
      const words = new Map();
      const walk = (node, depth) => {
        if (!node || typeof node !== "object" || depth > 40) return;
        if (Array.isArray(node)) { node.forEach(n => walk(n, depth + 1)); return; }
        for (const [k, v] of Object.entries(node.properties || {})) {
          if (!words.has(k)) words.set(k, { label: k, type: "property", info: (v && v.description) || undefined, apply: `${k}: ` });
        }
        for (const e of node.enum || []) if (typeof e === "string" && !words.has(e)) words.set(e, { label: e, type: "enum" });
        for (const v of Object.values(node)) walk(v, depth + 1);
      };
      walk(schema, 0);
      schemaWords[kind] = [...words.values()];
    }
  }
  return schemaWords;
}

function kindOf(path) {
  if (path === "ruleset.yaml" || path === "ruleset.yml") return "ruleset";
  const top = path.split("/")[0];
  return { packs: "pack", tests: "tests", events: "events", processes: "process" }[top] || null;
}

export async function render(host) {
  const items = await versions();
  if (!items.length) { host.append(h("p", {}, "No rule set is stored yet.")); return; }
  const lib = await codemirror();
  const pick = versionSelect(items, "editor-version", "version");
  const fileSel = h("select", { id: "editor-file" });
  const status = h("div", { id: "editor-status", role: "status" });
  const diagList = h("div", { id: "diagnostics" });
  const checkBtn = h("button.secondary", { type: "button", id: "check" }, "Check");
  const saveBtn = h("button", { type: "button", id: "save", disabled: true }, "Save as new version");
  const activateBtn = may("admin") ? h("button.secondary", { type: "button", id: "activate-saved", hidden: true }, "Activate") : null;
  const editorHost = h("div", { id: "editor-host" });
  host.append(h("div.card", {}, h("div.row", {}, pick, h("label", {}, "file", fileSel)),
    editorHost, h("div.row", {}, checkBtn, saveBtn, activateBtn), status, diagList));

  let files = [], original = "", clean = false, seq = 0, timer = null, saved = null;
  const words = await schemaOptions().catch(() => ({}));
  const complete = context => {
    const word = context.matchBefore(/[A-Za-z_][\w-]*/);
    if (!word && !context.explicit) return null;
    const options = words[kindOf(fileSel.value)] || [];
    return options.length ? { from: word ? word.from : context.pos, options, validFor: /^[\w-]*$/ } : null;
  };
  const view = new lib.EditorView({
    parent: editorHost,
    state: lib.EditorState.create({ doc: "", extensions: [lib.basicSetup, lib.yaml(), lib.lintGutter(),
      lib.EditorState.languageData.of(() => [{ autocomplete: complete }]),
      lib.EditorView.lineWrapping,
      lib.EditorView.updateListener.of(u => { if (u.docChanged) { clean = false; update(); schedule(); } })] }),
  });
  window.ordinanceEditor = view;  // for people who script the console

  const ref = () => splitRef(pick.querySelector("select").value);
  const path = () => fileSel.value;
  const text = () => view.state.doc.toString();
  const update = () => { saveBtn.disabled = !(clean && text() !== original); };
  const schedule = () => { clearTimeout(timer); timer = setTimeout(check, 700); };

  async function check() {
    clearTimeout(timer);
    const mine = ++seq;
    const [name, digest] = ref();
    status.replaceChildren(h("span.muted", {}, "checking..."));
    try {
      const r = await api("POST", `/v1/console/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/check`,
                          { files: [{ path: path(), content: text() }] });
      if (mine !== seq) return;
      clean = r.clean;
      const here = r.diagnostics.filter(d => d.file === path());
      const elsewhere = r.diagnostics.filter(d => d.file !== path());
      view.dispatch(lib.setDiagnostics(view.state, toCm(view, here)));
      status.replaceChildren(r.clean ? h("p.good", {}, `checks clean${r.diagnostics.length ? ` (${r.diagnostics.length} note(s))` : ""}`)
        : h("p.error", {}, `${r.errors} error(s)`));
      diagList.replaceChildren(...[...here, ...elsewhere].map(d => h("div.diag", {
        dataset: { line: d.line || "", file: d.file || "" },
        onclick: () => { if (d.file === path() && d.line) {
          const line = view.state.doc.line(Math.min(d.line, view.state.doc.lines));
          view.dispatch({ selection: { anchor: line.from }, scrollIntoView: true }); view.focus(); } } },
        h("code", {}, `${d.file || ""}:${d.line || "?"}:${d.col || "?"}`), " ",
        h(`span.${d.severity === "error" ? "error" : "muted"}`, {}, `${d.severity} ${d.code || ""}`), " ", d.message,
        d.hint ? h("div.muted", {}, d.hint) : null)));
    } catch (e) { if (mine === seq) { clean = false; show(e, status); } }
    update();
  }

  function openFile() {
    const f = files.find(x => x.path === path());
    original = f ? f.content : "";
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: original } });
    clean = true; update(); diagList.replaceChildren(); status.replaceChildren();
    view.dispatch(lib.setDiagnostics(view.state, []));
  }

  async function loadVersion() {
    const [name, digest] = ref();
    try {
      const v = await api("GET", `/v1/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}`);
      files = v.files.filter(f => f.encoding === "utf-8" && /\.(ya?ml|csv|json|md)$/.test(f.path));
      const keep = path();
      fileSel.replaceChildren(...files.map(f => h("option", { value: f.path, selected: f.path === keep }, f.path)));
      const firstPack = files.find(f => f.path.startsWith("packs/"));
      if (!files.some(f => f.path === keep) && firstPack) fileSel.value = firstPack.path;
      openFile();
    } catch (e) { show(e, status); }
  }

  checkBtn.addEventListener("click", check);
  fileSel.addEventListener("change", openFile);
  pick.querySelector("select").addEventListener("change", loadVersion);
  saveBtn.addEventListener("click", async () => {
    const [name, digest] = ref();
    saveBtn.disabled = true;
    try {
      saved = await api("POST", `/v1/console/rulesets/${encodeURIComponent(name)}/${encodeURIComponent(digest)}/save`,
                        { files: [{ path: path(), content: text() }] });
      status.replaceChildren(h("p.good", { id: "saved" }, `saved as ${saved.name} ${saved.version} ${saved.digest.slice(7, 19)}`));
      const fresh = await versions();
      pick.querySelector("select").replaceChildren(...fresh.map(v => h("option", { value: `${v.name}@${v.digest}`,
        selected: v.digest === saved.digest }, `${v.name} ${v.version} ${v.digest.slice(7, 19)}${v.active ? " (active)" : ""}`)));
      original = text(); update();
      if (activateBtn) activateBtn.hidden = false;
    } catch (e) {
      show(e, status);
      if (e.details) diagList.replaceChildren(...e.details.map(d => h("div.diag", {}, `${d.file}:${d.line}:${d.col} ${d.message}`)));
    }
  });
  if (activateBtn) activateBtn.addEventListener("click", async () => {
    if (!saved) return;
    try { await api("POST", `/v1/rulesets/${encodeURIComponent(saved.name)}/${encodeURIComponent(saved.digest)}/activate`);
          status.append(h("p.good", {}, "activated")); activateBtn.hidden = true; }
    catch (e) { show(e, status); }
  });
  await loadVersion();
}

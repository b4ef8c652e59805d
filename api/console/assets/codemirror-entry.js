// The editor the console imports (api/console/static/vendor/codemirror.min.js): CodeMirror 6
// with YAML highlighting and the lint gutter the console fills from `check`.
export { EditorView, basicSetup } from "codemirror";
export { EditorState } from "@codemirror/state";
export { yaml } from "@codemirror/lang-yaml";
export { linter, lintGutter, setDiagnostics, forceLinting } from "@codemirror/lint";

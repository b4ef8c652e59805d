#!/bin/sh
# Rebuilds api/console/static/vendor/ from the exact versions in package-lock.json:
#   cd api/console/assets && npm ci && npm run build
# The output is committed; the service and the Python tests never need npm.
set -eu
cd "$(dirname "$0")"
OUT=../static/vendor
mkdir -p "$OUT"
ver() { node -p "require('./node_modules/$1/package.json').version"; }

cp node_modules/swagger-ui-dist/swagger-ui-bundle.js "$OUT/swagger-ui-bundle.js"
cp node_modules/swagger-ui-dist/swagger-ui.css "$OUT/swagger-ui.css"
cp node_modules/swagger-ui-dist/favicon-32x32.png "$OUT/favicon-32x32.png"
cp node_modules/swagger-ui-dist/LICENSE "$OUT/swagger-ui.LICENSE"
cp node_modules/swagger-ui-dist/NOTICE "$OUT/swagger-ui.NOTICE"
# ReDoc shows a logo it loads from the vendor's CDN; point it at an empty inline image instead
# (the only change to any bundled file, so that the page fetches nothing from outside).
sed 's#https://cdn.redoc.ly/redoc/logo-mini.svg#data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E#' \
  node_modules/redoc/bundles/redoc.standalone.js > "$OUT/redoc.standalone.js"
grep -q 'cdn.redoc.ly' "$OUT/redoc.standalone.js" && { echo "redoc still names its CDN" >&2; exit 1; }
cp node_modules/redoc/LICENSE "$OUT/redoc.LICENSE"
cp node_modules/redoc/bundles/redoc.standalone.js.LICENSE.txt "$OUT/redoc.standalone.js.LICENSE.txt"
cp node_modules/chart.js/dist/chart.umd.min.js "$OUT/chart.umd.min.js"
cp node_modules/chart.js/LICENSE.md "$OUT/chart.js.LICENSE.md"
npx esbuild codemirror-entry.js --bundle --minify --format=esm --legal-comments=eof \
  --outfile="$OUT/codemirror.min.js"
for p in codemirror @codemirror/view @codemirror/state @codemirror/lang-yaml @codemirror/lint; do
  f=$(echo "$p" | sed 's,^@codemirror/,-,; s,^codemirror$,,')
  cp "node_modules/$p/LICENSE" "$OUT/codemirror$f.LICENSE" 2>/dev/null || true
done
{
  echo "Third-party assets of the console and the OpenAPI pages (built by ../assets/build.sh)."
  echo
  echo "| file | package | version | licence |"
  echo "| --- | --- | --- | --- |"
  echo "| swagger-ui-bundle.js, swagger-ui.css, favicon-32x32.png | swagger-ui-dist | $(ver swagger-ui-dist) | Apache-2.0 (swagger-ui.LICENSE, swagger-ui.NOTICE) |"
  echo "| redoc.standalone.js | redoc | $(ver redoc) | MIT (redoc.LICENSE; bundled: redoc.standalone.js.LICENSE.txt); its CDN logo URL replaced by an empty inline image |"
  echo "| chart.umd.min.js | chart.js | $(ver chart.js) | MIT (chart.js.LICENSE.md) |"
  echo "| codemirror.min.js | codemirror $(ver codemirror), @codemirror/view $(ver @codemirror/view), @codemirror/state $(ver @codemirror/state), @codemirror/lang-yaml $(ver @codemirror/lang-yaml), @codemirror/lint $(ver @codemirror/lint) (bundled by esbuild $(ver esbuild)) | see left | MIT (codemirror*.LICENSE) |"
} > "$OUT/README.md"

#!/usr/bin/env bash
# A browser test, as CTest runs it (label e2e):
#   tests/browser/run_page_test.sh TEST HDR_BINARY OUT_DIR MODEL
# Runs tests/browser/TEST.mjs (page_test: serve's drawing page; report_test: the report.html next
# to MODEL) against MODEL (CTest passes the e2e tests' shared model: the tutorial CNN, one epoch)
# in Debian's headless Chromium; screenshots go to OUT_DIR.
# Anything missing (node, chromium, the npm packages, MNIST) is a failure, never a skip: a
# skipped browser test would read as a passing one.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

usage="usage: tests/browser/run_page_test.sh page_test|modes_test|report_test HDR_BINARY OUT_DIR MODEL"
test="${1:?$usage}"
hdr="${2:?$usage}"
out="${3:?$usage}"
model="${4:?$usage}"
[ -f "tests/browser/$test.mjs" ] || { echo "run_page_test: no test tests/browser/$test.mjs; $usage" >&2; exit 2; }

missing=()
[ -x "$hdr" ] || missing+=("the hdr binary $hdr (build it first)")
if ! command -v node >/dev/null 2>&1; then
  missing+=("node (Debian package nodejs; tools/setup.sh installs it with npm)")
elif ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  missing+=("node >= 18 (playwright-core needs it; this is $(node --version))")
fi
[ -x /usr/bin/chromium ] || missing+=("/usr/bin/chromium (Debian package chromium; tools/setup.sh installs it)")
# The installed playwright-core must be the version package.json pins.
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  missing+=("tests/browser/node_modules (tools/setup.sh, or: npm ci --prefix tests/browser)")
elif command -v node >/dev/null 2>&1 && ! node -e '
    const want = require("./tests/browser/package.json").dependencies["playwright-core"];
    const have = require("./tests/browser/node_modules/playwright-core/package.json").version;
    if (want !== have) { console.error(`playwright-core ${have} installed, package.json pins ${want}`); process.exit(1); }'; then
  missing+=("playwright-core at the pinned version (tools/setup.sh, or: npm ci --prefix tests/browser)")
fi
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [ -f "data/mnist/$f" ] || { missing+=("MNIST in data/mnist (tools/fetch_mnist.sh data/mnist)"); break; }
done
if ((${#missing[@]})); then
  echo "run_page_test: FAILED: cannot run the browser test, missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "run_page_test: tools/setup.sh installs node, chromium and the npm packages" >&2
  exit 1
fi

[ -f "$model" ] || { echo "run_page_test: FAILED: no model at $model (ctest -R fixture.train_tutorial_model makes it)" >&2; exit 1; }

node "tests/browser/$test.mjs" --hdr "$hdr" --model "$model" --out "$out"

#!/usr/bin/env bash
# Packs nodegrad, installs the tarball into an empty folder with no compiler on PATH and checks
# that the prebuilt binary is used; then strips prebuilds/ from the tarball and checks that the
# install still succeeds and nodegrad falls back to its TypeScript backend.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tar -tzf "$work/$tarball" > "$work/contents.txt"
grep -q 'package/prebuilds/linux-x64/nodegrad.node' "$work/contents.txt" || { echo "FAIL: the tarball has no prebuilt binary"; exit 1; }
grep -q 'package/dist/index.js' "$work/contents.txt" || { echo "FAIL: the tarball has no dist/"; exit 1; }
if grep -qE 'package/(build|test)/' "$work/contents.txt"; then echo "FAIL: the tarball ships build/ or test/"; exit 1; fi

# A PATH with node and npm but no compiler, make or python.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
nocc() { env -u CC -u CXX PATH="$bin" "$@"; }
if nocc sh -c 'command -v c++ || command -v g++ || command -v cc' >/dev/null 2>&1; then
  echo "FAIL: a compiler is still on the restricted PATH"; exit 1
fi

check() { # dir expected-backend
  local dir=$1 want=$2
  (cd "$dir" && nocc node -e "
    const ng = require('nodegrad');
    const got = ng.backend();
    if (got !== '$want') { console.error('backend() is', got, 'not $want', ng.info()); process.exit(1); }
    const C = new Float32Array(4);
    ng.kernels().gemm(false, false, 2, 2, 2, 1, new Float32Array([1, 2, 3, 4]), new Float32Array([5, 6, 7, 8]), 0, C);
    if (C.join() !== '19,22,43,50') { console.error('wrong gemm', C); process.exit(1); }
    console.log('ok: require, backend', got, JSON.stringify(ng.info()));
  ")
  (cd "$dir" && nocc node --input-type=module -e "
    import * as ng from 'nodegrad';
    if (ng.backend() !== '$want') process.exit(1);
    console.log('ok: import, backend', ng.backend());
  ")
}

echo "== install with prebuilds, no compiler"
mkdir "$work/with"
(cd "$work/with" && echo '{"name":"t","version":"1.0.0","private":true}' > package.json && nocc npm install --no-audit --no-fund "$work/$tarball" >/dev/null)
check "$work/with" native

echo "== install without prebuilds, no compiler"
mkdir "$work/strip" "$work/without"
tar -xzf "$work/$tarball" -C "$work/strip"
rm -rf "$work/strip/package/prebuilds"
tar -czf "$work/stripped.tgz" -C "$work/strip" package
(cd "$work/without" && echo '{"name":"t","version":"1.0.0","private":true}' > package.json && nocc npm install --no-audit --no-fund "$work/stripped.tgz" 2>"$work/install.err" >/dev/null)
grep -q 'TypeScript backend' "$work/install.err" || { echo "FAIL: install did not warn about the fallback"; cat "$work/install.err"; exit 1; }
check "$work/without" ts
echo "pack test passed"

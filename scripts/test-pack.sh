#!/usr/bin/env bash
# Packs nodegrad (no source maps, no install script), installs the tarball into an empty folder with no compiler on PATH and checks
# that the prebuilt binary is used; then strips prebuilds/ from the tarball and checks that the
# install still succeeds and nodegrad falls back to its WebAssembly backend (nodegrad info says
# wasm is chosen, and it trains); strips wasm/ as well and checks the fall back to TypeScript;
# then builds the addon from source in that install with the README's command.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$work" | tail -n 1)
tar -tzf "$work/$tarball" > "$work/contents.txt"
grep -q 'package/prebuilds/linux-x64/nodegrad.node' "$work/contents.txt" || { echo "FAIL: the tarball has no prebuilt binary"; exit 1; }
grep -q 'package/dist/index.js' "$work/contents.txt" || { echo "FAIL: the tarball has no dist/"; exit 1; }
grep -q 'package/wasm/nodegrad.wasm' "$work/contents.txt" || { echo "FAIL: the tarball has no WebAssembly module"; exit 1; }
# Every prebuild built here (npm run prebuild:all; CI's cross tests build linux-arm64 and
# win32-x64 before this step) ships: a release packs them all.
shopt -s nullglob
for dir in prebuilds/*/; do
  f="package/${dir}nodegrad.node"
  grep -q "$f" "$work/contents.txt" || { echo "FAIL: the tarball lacks $f"; exit 1; }
done
echo "test-pack: $tarball is $(wc -c <"$work/$tarball") bytes, with $(cd prebuilds && echo */ | tr -d /) and wasm/nodegrad.wasm"
if grep -qE 'package/(build|test)/' "$work/contents.txt"; then echo "FAIL: the tarball ships build/ or test/"; exit 1; fi
if grep -qE '\.map$' "$work/contents.txt"; then echo "FAIL: the tarball ships source maps (lib/ is not shipped)"; exit 1; fi
for f in LICENSE CHANGELOG.md examples/csv-classifier.mjs; do grep -q "package/$f" "$work/contents.txt" || { echo "FAIL: the tarball has no $f"; exit 1; }; done

# A PATH with node and npm but no compiler, make or python.
bin="$work/bin"
mkdir -p "$bin"
for tool in node npm npx sh; do ln -s "$(command -v "$tool")" "$bin/$tool"; done
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
    if (got === 'native' && !/[\\/]prebuilds[\\/]/.test(ng.info().nativePath)) { console.error('native did not load from prebuilds/', ng.info()); process.exit(1); }
    console.log('ok: require, backend', got, JSON.stringify(ng.info()));
  " 2>"$work/require.err")
  (cd "$dir" && nocc node --input-type=module -e "
    import * as ng from 'nodegrad';
    if (ng.backend() !== '$want') process.exit(1);
    console.log('ok: import, backend', ng.backend());
  " 2>/dev/null)
  # the main job from the installed package: trains, and says once when it falls back to TS
  (cd "$dir" && nocc npx --no-install nodegrad train --epochs 2 --out "$dir/out" >"$work/train.out" 2>"$work/train.err") ||
    { echo "FAIL: npx nodegrad train"; cat "$work/train.out" "$work/train.err"; exit 1; }
  grep -qi 'test accuracy' "$work/train.out" || { echo "FAIL: no test accuracy"; cat "$work/train.out"; exit 1; }
  [ -s "$dir/out/model.safetensors" ] && [ -s "$dir/out/training.svg" ] || { echo "FAIL: train wrote no model or plot"; exit 1; }
  count() { grep -ciE '(typescript|webassembly) backend' "$1" || true; }
  if [ "$want" != native ]; then
    [ "$(count "$work/train.err")" = 1 ] || { echo "FAIL: train should say once that it uses the $want backend"; cat "$work/train.err"; exit 1; }
    [ "$(count "$work/require.err")" = 1 ] || { echo "FAIL: require should warn once"; cat "$work/require.err"; exit 1; }
  elif [ "$(count "$work/train.err")" != 0 ] || [ "$(count "$work/require.err")" != 0 ]; then
    echo "FAIL: a fallback notice on the native backend"; cat "$work/train.err" "$work/require.err"; exit 1
  fi
  # nodegrad info: the chosen backend, and every backend's state
  (cd "$dir" && nocc npx --no-install nodegrad info --json >"$work/info.json" 2>/dev/null) || { echo "FAIL: nodegrad info"; exit 1; }
  node -e "
    const i = JSON.parse(require('fs').readFileSync('$work/info.json', 'utf8'));
    const chosen = i.backends.filter((b) => b.state === 'chosen').map((b) => b.name);
    if (i.backend !== '$want' || chosen.join() !== '$want') { console.error('nodegrad info:', i); process.exit(1); }
    console.log('ok: nodegrad info: ' + i.backends.map((b) => b.name + ' ' + b.state).join(', '));
  " || { echo "FAIL: nodegrad info does not say $want is chosen"; exit 1; }
  echo "ok: npx nodegrad train --epochs 2 ($(grep -i 'test accuracy' "$work/train.out" | head -1))"
}

install_into() { # dir tarball [extra package.json fields]
  local dir=$1 tgz=$2 extra=${3:-}
  mkdir -p "$dir"
  (cd "$dir" && echo "{\"name\":\"t\",\"version\":\"1.0.0\",\"private\":true$extra}" > package.json &&
    nocc npm install --no-audit --no-fund --foreground-scripts "$tgz" >"$work/install.out" 2>"$work/install.err") ||
    { echo "FAIL: npm install into $dir"; cat "$work/install.out" "$work/install.err"; exit 1; }
}

echo "== install with prebuilds, no compiler"
install_into "$work/with" "$work/$tarball"
# npm 11 lists `prepare` for non-registry sources only (arborist lib/install-scripts.js), so this
# file: tarball names it; a registry install does not, and neither runs it
if grep -qE 'nodegrad@.*\((pre|post)?install:' "$work/install.err"; then echo "FAIL: npm warns about an install script"; cat "$work/install.err"; exit 1; fi
check "$work/with" native

echo "== install without prebuilds, no compiler (npm 11 skips dependency install scripts by default)"
mkdir "$work/strip"
tar -xzf "$work/$tarball" -C "$work/strip"
rm -rf "$work/strip/package/prebuilds"
tar -czf "$work/stripped.tgz" -C "$work/strip" package
install_into "$work/without" "$work/stripped.tgz"
check "$work/without" wasm

echo "== install without prebuilds and without the WebAssembly module: the TypeScript backend"
rm -rf "$work/strip/package/wasm"
tar -czf "$work/bare.tgz" -C "$work/strip" package
install_into "$work/bare" "$work/bare.tgz"
check "$work/bare" ts

echo "== no install script: npm neither names an install script nor runs node-gyp, even when scripts are allowed"
grep -q '"install"\|"postinstall"\|"preinstall"' <(tar -xzOf "$work/$tarball" package/package.json) && { echo "FAIL: the package has an install script"; exit 1; }
install_into "$work/allowed" "$work/stripped.tgz" ",\"allowScripts\":{\"file:$work/stripped.tgz\":true}"
if grep -qiE 'nodegrad@.*\((pre|post)?install:|gyp' "$work/install.out" "$work/install.err"; then
  echo "FAIL: the install ran or warned about an install script"; cat "$work/install.out" "$work/install.err"; exit 1
fi
[ -e "$work/allowed/node_modules/nodegrad/build" ] && { echo "FAIL: npm built the addon (gypfile)"; exit 1; }
check "$work/allowed" wasm
echo "== building from source in the installed package, as the README says (compiler on PATH)"
(cd "$work/without" && npm explore nodegrad -- npm run build:native >"$work/build.out" 2>&1) ||
  { echo "FAIL: npm explore nodegrad -- npm run build:native"; tail -20 "$work/build.out"; exit 1; }
(cd "$work/without" && node -e "
  const ng = require('nodegrad');
  if (ng.backend() !== 'native' || !/[\\/]build[\\/]Release[\\/]/.test(ng.info().nativePath)) { console.error(ng.info()); process.exit(1); }
  console.log('ok: built from source,', ng.info().nativePath);
") || { echo "FAIL: the addon built from source does not load"; exit 1; }
echo "pack test passed"

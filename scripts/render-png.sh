#!/usr/bin/env bash
# Renders an SVG to PNG for eyeballing plots.
#
#   scripts/render-png.sh input.svg [output.png] [scale]
#
# output.png defaults to input with .png; scale (default 1.5) multiplies the SVG's size.
# Uses rsvg-convert (Debian/Ubuntu: librsvg2-bin); falls back to headless Chromium/Chrome.
# When neither is installed it prints a skip message and exits 0 (set RENDER_PNG_STRICT=1 to
# exit 1 instead).
set -euo pipefail

if [ $# -lt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi

in=$1
out=${2:-${in%.svg}.png}
scale=${3:-1.5}
[ -f "$in" ] || { echo "render-png: no such file: $in" >&2; exit 1; }

if command -v rsvg-convert >/dev/null 2>&1; then
  rsvg-convert --zoom="$scale" --background-color=white --format=png --output="$out" "$in"
  echo "render-png: $out (rsvg-convert, zoom $scale)"
  exit 0
fi

chrome=""
for c in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$c; break; fi
done
if [ -n "$chrome" ]; then
  # Size of the page = the SVG's width/height attributes (defaults 720 x 420).
  w=$(grep -o -m1 '<svg[^>]*' "$in" | grep -o ' width="[0-9.]*"' | grep -o '[0-9.]*' || true)
  h=$(grep -o -m1 '<svg[^>]*' "$in" | grep -o ' height="[0-9.]*"' | grep -o '[0-9.]*' || true)
  w=${w:-720}; h=${h:-420}
  abs=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
  outabs=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
  "$chrome" --headless --disable-gpu --no-sandbox --hide-scrollbars \
    --force-device-scale-factor="$scale" --window-size="${w%.*},${h%.*}" \
    --screenshot="$outabs" "file://$abs" >/dev/null 2>&1
  echo "render-png: $out ($chrome, scale $scale)"
  exit 0
fi

echo "render-png: SKIPPED - neither rsvg-convert (apt-get install librsvg2-bin) nor chromium is installed; open $in in a browser instead" >&2
[ "${RENDER_PNG_STRICT:-0}" = "1" ] && exit 1
exit 0

#!/usr/bin/env sh
# Renders an SVG (from toSvg) to PNG so it can be looked at: scripts/render-svg.sh IN.svg OUT.png [ZOOM]
# Uses rsvg-convert (Debian: librsvg2-bin); falls back to headless Chromium at the SVG's size.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 IN.svg OUT.png [ZOOM]" >&2
  exit 2
fi
in=$1
out=$2
zoom=${3:-1}
if [ ! -f "$in" ]; then
  echo "$0: no such file: $in" >&2
  exit 2
fi
if command -v rsvg-convert >/dev/null 2>&1; then
  exec rsvg-convert --zoom "$zoom" --background-color white -o "$out" "$in"
fi
for browser in chromium chromium-browser google-chrome; do
  if command -v "$browser" >/dev/null 2>&1; then
    # The window must match the drawing: read width and height from the <svg> element.
    size=$(node -e '
      const s = require("fs").readFileSync(process.argv[1], "utf8");
      const tag = s.slice(s.indexOf("<svg"), s.indexOf(">", s.indexOf("<svg")));
      const num = (k) => Math.ceil(Number((new RegExp(" " + k + "=\"([0-9.]+)\"").exec(tag) || [])[1] || 800));
      console.log(num("width") + "," + num("height"));' "$in")
    abs=$(cd "$(dirname "$in")" && pwd)/$(basename "$in")
    exec "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
      --force-device-scale-factor="$zoom" --window-size="$size" --screenshot="$out" "file://$abs"
  fi
done
echo "$0: need rsvg-convert (apt-get install librsvg2-bin) or chromium" >&2
exit 1

#!/usr/bin/env bash
# Renders an HTML report to a PNG with headless Chromium, to look at the
# page the way a browser draws it.
#
#   scripts/html-screenshot.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]
#
# OUT.png defaults to REPORT.png, the size to 1280x1800. Needs Debian's
# chromium package (scripts/test.sh installs it).
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "usage: $0 REPORT.html [OUT.png] [WIDTHxHEIGHT]" >&2
  exit 2
fi
page=$1
out=${2:-${page%.*}.png}
size=${3:-1280x1800}
if [ ! -f "$page" ]; then
  echo "$0: $page: no such file" >&2
  exit 2
fi
if ! [[ $size =~ ^[0-9]+x[0-9]+$ ]]; then
  echo "$0: size $size: want WIDTHxHEIGHT, e.g. 1280x1800" >&2
  exit 2
fi
browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  echo "$0: chromium not found (apt-get install chromium)" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
abs=$(cd "$(dirname "$page")" && pwd)/$(basename "$page")
HOME=$profile "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile/profile" --screenshot="$out" --window-size="${size/x/,}" \
  "file://$abs" 2>/dev/null
echo "$out"

#!/usr/bin/env bash
# Windows in CI: builds, vets and compiles the tests for windows/amd64 and
# windows/arm64, then runs the windows/amd64 test binaries under Wine
# (scripts/winetest) when wine64 is installed or can be (Debian's wine64,
# as root). arm64 binaries are built and vetted only: Wine on amd64 cannot
# run them. Without Wine the run part is skipped with one line.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mod="$(go list -m)"
for arch in amd64 arm64; do
  echo "windows/$arch: go vet, go build, go test -c"
  GOOS=windows GOARCH=$arch go vet ./...
  GOOS=windows GOARCH=$arch go build -o "$work/poolblame-$arch.exe" ./cmd/poolblame
  mkdir -p "$work/$arch"
  # One binary per package, named for its path (pool/damage -> pool-damage):
  # two packages may share a last element.
  for pkg in $(GOOS=windows GOARCH=$arch go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
    rel="${pkg#"$mod"}"; rel="${rel#/}"
    GOOS=windows GOARCH=$arch go test -c -o "$work/$arch/${rel//\//-}.test.exe" "$pkg"
  done
done
wine=""
for w in wine64 /usr/lib/wine/wine64; do
  if command -v "$w" >/dev/null 2>&1; then wine="$(command -v "$w")"; break; fi
done
if [ -z "$wine" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing wine64 to run the Windows tests..."
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 >/dev/null); then
    wine=/usr/lib/wine/wine64
  fi
fi
if [ -z "$wine" ]; then
  echo "wine64 not available: the windows/amd64 test binaries were built but not run"
  exit 0
fi
go run ./scripts/winetest -bin "$work/amd64" -prefix "${POOLBLAME_WINEPREFIX:-$work/wineprefix}" -wine "$wine"

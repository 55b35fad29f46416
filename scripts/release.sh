#!/usr/bin/env bash
# Builds the release binaries: Windows amd64/arm64, Linux amd64/arm64 and
# macOS amd64/arm64, with the version and commit stamped in, and a
# SHA256SUMS file beside them.
#
#   scripts/release.sh [VERSION]     (default: git describe, else "dev")
#
# Output: dist/poolblame-VERSION/poolblame-VERSION-OS-ARCH[.exe] and SHA256SUMS.
# The Windows binaries need Windows 10 / Server 2016 or later (Go's minimum).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="$(git rev-parse HEAD 2>/dev/null || true)"
out="dist/poolblame-$version"
rm -rf "$out"
mkdir -p "$out"
for target in windows/amd64 windows/arm64 linux/amd64 linux/arm64 darwin/amd64 darwin/arm64; do
  goos="${target%/*}" goarch="${target#*/}"
  ext=""
  [ "$goos" = windows ] && ext=.exe
  bin="poolblame-$version-$goos-$goarch$ext"
  echo "building $bin"
  # -trimpath and no VCS stamping keep the build reproducible from the
  # same tree; the version and commit are stamped explicitly instead.
  CGO_ENABLED=0 GOOS="$goos" GOARCH="$goarch" go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$version -X main.commit=$commit" -o "$out/$bin" ./cmd/poolblame
done
cd "$out"
if command -v sha256sum >/dev/null 2>&1; then
  sha256sum poolblame-* > SHA256SUMS
else
  shasum -a 256 poolblame-* > SHA256SUMS
fi
cat SHA256SUMS

#!/usr/bin/env bash
# install-tools: the linters CI runs, at pinned versions, into ./.tools/bin
# (gitignored). A tool already there at the pinned version is left alone, so
# the second run costs nothing. Prints the directory to put on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2
GOLANGCI_LINT_VERSION=v2.15.0

bin="$PWD/.tools/bin"
mkdir -p "$bin"

# install NAME PACKAGE VERSION: go install PACKAGE@VERSION unless bin holds
# NAME built from that module version (go version -m reads the build info).
install() {
	local name=$1 pkg=$2 version=$3
	if [ -x "$bin/$name" ] && go version -m "$bin/$name" 2>/dev/null |
		awk -v v="$version" '$1 == "mod" && $3 == v { found = 1 } END { exit !found }'; then
		return
	fi
	echo "install-tools: $name $version" >&2
	GOBIN="$bin" go install "$pkg@$version"
}

install staticcheck honnef.co/go/tools/cmd/staticcheck "$STATICCHECK_VERSION"
install golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint "$GOLANGCI_LINT_VERSION"
echo "$bin"

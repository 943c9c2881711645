#!/usr/bin/env bash
# Builds the reference `age` CLI (filippo.io/age) from Go modules and caches it outside the clone, keyed by
# version. Prints the directory holding `age` and `age-keygen`. Tests use it to check that sealant's escrow files
# are plain age files, both ways.
set -euo pipefail
AGE_VERSION=${AGE_VERSION:-1.3.2}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/age-v$AGE_VERSION"
if [[ -x "$BIN/age" && -x "$BIN/age-keygen" ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.age-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "filippo.io/age/cmd/age@v$AGE_VERSION" "filippo.io/age/cmd/age-keygen@v$AGE_VERSION" >&2
# Publish atomically: a half-built cache entry is never visible.
rm -rf "$BIN" && mv "$tmp" "$BIN"
trap - EXIT
echo "$BIN"

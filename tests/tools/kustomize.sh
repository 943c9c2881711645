#!/usr/bin/env bash
# Builds kustomize (sigs.k8s.io/kustomize/kustomize/v5) from Go modules and caches it outside the clone, keyed by
# version. Prints the directory holding `kustomize`. The chart tests build manifests/ (a kustomize base) with it.
set -euo pipefail
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-5.8.1}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/kustomize-v$KUSTOMIZE_VERSION"
if [[ -x "$BIN/kustomize" ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.kustomize-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[kustomize] building kustomize v%s (cached afterwards)\n' "$KUSTOMIZE_VERSION" >&2
GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION" >&2
"$tmp/kustomize" version >&2
# Publish atomically: a half-built cache entry is never visible.
rm -rf "$BIN" && mv "$tmp" "$BIN"
trap - EXIT
echo "$BIN"

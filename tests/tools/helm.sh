#!/usr/bin/env bash
# Builds Helm 3 (helm.sh/helm/v3) from Go modules and caches it outside the clone, keyed by version. Prints the
# directory holding `helm`. The chart tests lint, render and install charts/sealant with it, and install Bitnami's
# chart as the peer.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-3.22.0}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/helm-v$HELM_VERSION"
if [[ -x "$BIN/helm" ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.helm-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[helm] building helm v%s (about a minute cold; cached afterwards)\n' "$HELM_VERSION" >&2
GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2
"$tmp/helm" version --short >&2
# Publish atomically: a half-built cache entry is never visible.
rm -rf "$BIN" && mv "$tmp" "$BIN"
trap - EXIT
echo "$BIN"

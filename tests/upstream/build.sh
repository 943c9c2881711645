#!/usr/bin/env bash
# Builds upstream Bitnami Sealed Secrets (`kubeseal` and the controller) from Go modules and caches them outside
# the clone, keyed by version. Prints the directory holding `kubeseal` and `sealed-secrets-controller`.
#
#   tests/upstream/build.sh                       # build if missing, print the directory
#   SEALED_SECRETS_VERSION=0.36.6 tests/upstream/build.sh
#
# Why v0.36.6: the newest release published under github.com/bitnami-labs/sealed-secrets; v0.40.0 declares
# the module path github.com/bitnami/sealed-secrets, which the Go proxy here does not serve.
set -euo pipefail
VERSION=${SEALED_SECRETS_VERSION:-0.36.6}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/upstream/sealed-secrets-v$VERSION"
if [[ -x "$BIN/kubeseal" && -x "$BIN/sealed-secrets-controller" ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE/upstream"
tmp=$(mktemp -d "$CACHE/upstream/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[upstream] building kubeseal and controller v%s (a few minutes cold; cached afterwards)\n' "$VERSION" >&2
module=github.com/bitnami-labs/sealed-secrets
GOBIN="$tmp" go install -trimpath -ldflags "-s -w -X main.VERSION=v$VERSION" \
  "$module/cmd/kubeseal@v$VERSION" "$module/cmd/controller@v$VERSION" >&2
mv "$tmp/controller" "$tmp/sealed-secrets-controller"
"$tmp/kubeseal" --version >&2
# Publish atomically: a half-built cache entry is never visible.
rm -rf "$BIN" && mv "$tmp" "$BIN"
trap - EXIT
echo "$BIN"

#!/usr/bin/env bash
# Copies Bitnami's Helm chart out of the pinned upstream Go module (it ships under helm/sealed-secrets/) into a
# cache outside the clone, keyed by version. Prints the chart's directory. The chart tests install it as the
# peer of sealant's own chart.
set -euo pipefail
VERSION=${SEALED_SECRETS_VERSION:-0.36.6}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
DIR="$CACHE/upstream/chart-v$VERSION"
if [[ -f "$DIR/Chart.yaml" ]]; then
  echo "$DIR"
  exit 0
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
mkdir -p "$CACHE/upstream"
module=$(go mod download -json "github.com/bitnami-labs/sealed-secrets@v$VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
tmp=$(mktemp -d "$CACHE/upstream/.chart.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$module/helm/sealed-secrets/." "$tmp/"
chmod -R u+w "$tmp"
rm -rf "$DIR" && mv "$tmp" "$DIR"
trap - EXIT
echo "$DIR"

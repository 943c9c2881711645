#!/usr/bin/env bash
# Builds upstream's own integration suite (Ginkgo, `integration/` of the pinned upstream module, build tag
# `integration`) into a test binary, cached outside the clone keyed by version. Prints the directory holding
# `integration.test`. tests/upstream_suite.rs runs it against sealant's controller and kubeseal mode.
set -euo pipefail
VERSION=${SEALED_SECRETS_VERSION:-0.36.6}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/upstream/suite-v$VERSION"
if [[ -x "$BIN/integration.test" ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
mkdir -p "$CACHE/upstream"
tmp=$(mktemp -d "$CACHE/upstream/.suite.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
printf '[upstream] building the integration suite v%s (cached afterwards)\n' "$VERSION" >&2
module=$(go mod download -json "github.com/bitnami-labs/sealed-secrets@v$VERSION" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
cp -R "$module" "$tmp/src" && chmod -R u+w "$tmp/src"
mkdir "$tmp/out"
(cd "$tmp/src" && go test -tags integration -trimpath -c -o "$tmp/out/integration.test" ./integration) >&2
rm -rf "$BIN" && mv "$tmp/out" "$BIN"
echo "$BIN"

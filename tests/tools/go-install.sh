#!/usr/bin/env bash
# The one way the test tools that `go install` can build are built and cached: outside the clone, under
# ~/.cache/sealant/<NAME>-v<VERSION>, published atomically (a half-built entry is never visible). Prints the
# directory holding the binaries. Arguments:
#
#   go-install.sh NAME VERSION PACKAGE@VERSION... [-- EXTRA go install FLAGS]
#
# e.g. go-install.sh helm 3.22.0 helm.sh/helm/v3/cmd/helm@v3.22.0
set -euo pipefail
name=$1 version=$2
shift 2
packages=() flags=()
while [[ $# -gt 0 && "$1" != "--" ]]; do packages+=("$1"); shift; done
[[ $# -gt 0 ]] && { shift; flags=("$@"); }
# shellcheck source=tests/tools/cache.sh
source "$(dirname "$0")/cache.sh"
BIN="$CACHE/$name-v$version"
cache_lock "$name"
complete=1
for package in "${packages[@]}"; do
  binary=${package%@*}
  # Go names a binary after its package, without a major-version suffix (`…/kustomize/v5` is `kustomize`).
  [[ "${binary##*/}" =~ ^v[0-9]+$ ]] && binary=${binary%/*}
  binary=${binary##*/}
  [[ -x "$BIN/$binary" ]] || complete=0
done
if [[ $complete == 1 ]]; then
  echo "$BIN"
  exit 0
fi
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
tmp=$(mktemp -d "$CACHE/.$name-build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '[%s] building v%s from Go modules (cached afterwards)\n' "$name" "$version" >&2
GOBIN="$tmp" go install -trimpath "${flags[@]}" "${packages[@]}" >&2
rm -rf "$BIN" && mv "$tmp" "$BIN"
trap - EXIT
echo "$BIN"

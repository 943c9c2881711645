#!/usr/bin/env bash
# axe-core (Deque's accessibility checker, from the npm registry), installed once under
# ~/.cache/sealant/axe-core-v<VERSION>. Prints the path of axe.min.js, which tests/web.rs injects into the sealing
# page in headless Chromium and runs.
set -euo pipefail
AXE_VERSION=${AXE_VERSION:-4.14.1}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
dir="$CACHE/axe-core-v$AXE_VERSION"
if [[ ! -f "$dir/node_modules/axe-core/axe.min.js" ]]; then
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.axe-core.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  npm install --prefix "$tmp" --no-audit --no-fund --silent "axe-core@$AXE_VERSION" >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir/node_modules/axe-core/axe.min.js"

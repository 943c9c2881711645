#!/usr/bin/env bash
# The one way the test tools from the npm registry are installed and cached: outside the clone, under
# ~/.cache/sealant/<NAME>-v<VERSION>, published atomically (a half-installed entry is never visible). Prints the
# path of FILE inside the installed tree.
#
#   npm-install.sh NAME VERSION FILE     e.g. npm-install.sh axe-core 4.14.1 node_modules/axe-core/axe.min.js
set -euo pipefail
name=$1 version=$2 file=$3
# shellcheck source=tests/tools/cache.sh
source "$(dirname "$0")/cache.sh"
dir="$CACHE/$name-v$version"
cache_lock "$name"
if [[ ! -e "$dir/$file" ]]; then
  tmp=$(mktemp -d "$CACHE/.$name.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  npm install --prefix "$tmp" --no-audit --no-fund --silent "$name@$version" >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir/$file"

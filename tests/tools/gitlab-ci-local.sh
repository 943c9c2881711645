#!/usr/bin/env bash
# gitlab-ci-local (from the npm registry), installed once under ~/.cache/sealant/gitlab-ci-local-v<VERSION>.
# Prints the path of its executable. The GitLab template test validates the template against GitLab's CI schema
# with it and runs its lint job with the shell executor.
# Why 4.69.0: later releases need Node.js 22 (Set.prototype.union); these machines have Node.js 20.
set -euo pipefail
GCL_VERSION=${GCL_VERSION:-4.69.0}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
dir="$CACHE/gitlab-ci-local-v$GCL_VERSION"
if [[ ! -x "$dir/node_modules/.bin/gitlab-ci-local" ]]; then
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/.gitlab-ci-local.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  npm install --prefix "$tmp" --no-audit --no-fund --silent "gitlab-ci-local@$GCL_VERSION" >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir/node_modules/.bin/gitlab-ci-local"

#!/usr/bin/env bash
# pre-commit (the Python package, from PyPI), installed once under ~/.cache/sealant/pre-commit-v<VERSION> with
# `pip install --target` (published atomically). Prints that directory: run it as
#   PYTHONPATH=DIR python3 -m pre_commit …
# The hook test runs `pre-commit try-repo` on a sample repository with it.
set -euo pipefail
PRE_COMMIT_VERSION=${PRE_COMMIT_VERSION:-4.7.0}
# shellcheck source=tests/tools/cache.sh
source "$(dirname "$0")/cache.sh"
dir="$CACHE/pre-commit-v$PRE_COMMIT_VERSION"
cache_lock pre-commit
if [[ ! -f "$dir/pre_commit/__init__.py" ]]; then
  tmp=$(mktemp -d "$CACHE/.pre-commit.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip install --quiet --disable-pip-version-check --target "$tmp" "pre-commit==$PRE_COMMIT_VERSION" >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir"

#!/usr/bin/env bash
# pre-commit (the Python package, from PyPI), installed once under ~/.cache/sealant/pre-commit-v<VERSION> with
# `pip install --target` (published atomically). Prints that directory: run it as
#   PYTHONPATH=DIR python3 -m pre_commit …
# The hook test runs `pre-commit try-repo` on a sample repository with it.
set -euo pipefail
PRE_COMMIT_VERSION=${PRE_COMMIT_VERSION:-4.7.0}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
dir="$CACHE/pre-commit-v$PRE_COMMIT_VERSION"
mkdir -p "$CACHE"
# Why a lock: tests run in parallel and may ask for the same tool at once; the second waits, then finds it
# installed (replacing a tree another test is running from would pull it from under that test).
exec {lock}>"$CACHE/.pre-commit.lock"
flock "$lock"
if [[ ! -f "$dir/pre_commit/__init__.py" ]]; then
  tmp=$(mktemp -d "$CACHE/.pre-commit.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip install --quiet --disable-pip-version-check --target "$tmp" "pre-commit==$PRE_COMMIT_VERSION" >&2
  rm -rf "$dir" && mv "$tmp" "$dir"
  trap - EXIT
fi
echo "$dir"

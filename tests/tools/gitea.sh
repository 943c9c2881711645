#!/usr/bin/env bash
# Builds Gitea (code.gitea.io/gitea) from Go modules and caches it outside the clone, keyed by version. Prints the
# directory holding `gitea` and the `options/`, `templates/` and `public/` it serves from (STATIC_ROOT_PATH).
# The rotation tests run it on loopback as the real forge and the HTTP git remote.
# Why `go mod download` + `go build` and not `go install`: Gitea's go.mod has replace directives, which
# `go install module@version` refuses.
set -euo pipefail
GITEA_VERSION=${GITEA_VERSION:-1.26.0}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
OUT="$CACHE/gitea-v$GITEA_VERSION"
if [[ -x "$OUT/gitea" && -d "$OUT/options" ]]; then
  echo "$OUT"
  exit 0
fi
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=1
mkdir -p "$CACHE"
tmp=$(mktemp -d "$CACHE/.gitea-build.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
dir=$(go mod download -json "code.gitea.io/gitea@v$GITEA_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d "$dir" ]] || { echo "gitea.sh: go mod download gave no source directory" >&2; exit 1; }
cp -r "$dir" "$tmp/src"
chmod -R u+w "$tmp/src"
mkdir "$tmp/out"
(cd "$tmp/src" && go build -trimpath -tags 'sqlite sqlite_unlock_notify' -ldflags "-s -w" -o "$tmp/out/gitea" .) >&2
cp -r "$tmp/src/options" "$tmp/src/templates" "$tmp/src/public" "$tmp/out/"
# Publish atomically: a half-built cache entry is never visible.
rm -rf "$OUT" && mv "$tmp/out" "$OUT"
echo "$OUT"

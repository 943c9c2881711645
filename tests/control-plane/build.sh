#!/usr/bin/env bash
# Builds a real kube-apiserver and etcd from Go modules (no prebuilt binaries are downloaded), and caches them
# outside the clone, keyed by version. Prints the directory holding both binaries. With `controller-manager`,
# builds and prints the directory of kube-controller-manager of the same release instead (its own cache entry,
# for the tests that need the cluster to act: garbage collector, Deployments, ReplicaSets, Jobs, CronJobs).
#
#   tests/control-plane/build.sh                      # build if missing, print the directory
#   tests/control-plane/build.sh controller-manager   # the same for kube-controller-manager
#   K8S_VERSION=1.36.3 ETCD_VERSION=3.6.16 tests/control-plane/build.sh
#
# Why a wrapper module: k8s.io/kubernetes and etcd's server module use replace directives, so
# `go install pkg@version` refuses them; a module that requires them and pins every staging module
# (derived from the upstream go.mod, not hard-coded) builds them with plain `go build`.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.36.3}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
BIN="$CACHE/control-plane/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
KCM_BIN="$CACHE/control-plane/k8s-$K8S_VERSION-controller-manager"
what=${1:-apiserver}

if [[ "$what" == apiserver && -x "$BIN/kube-apiserver" && -x "$BIN/etcd" ]]; then
  echo "$BIN"
  exit 0
fi
if [[ "$what" == controller-manager && -x "$KCM_BIN/kube-controller-manager" ]]; then
  echo "$KCM_BIN"
  exit 0
fi

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
work=$(mktemp -d "${TMPDIR:-/tmp}/sealant-control-plane.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"
log() { printf '[control-plane] %s\n' "$*" >&2; }

# Builds k8s.io/kubernetes/cmd/$1 at $K8S_VERSION into $work/out/$1, in a wrapper module of its own.
build_k8s() {
  local cmd=$1
  mkdir "$work/$cmd" && cd "$work/$cmd"
  go mod init "sealant.test/control-plane/$cmd" >/dev/null 2>&1
  upstream_gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json, sys; print(json.load(sys.stdin)["GoMod"])')
  # The runtime behaviour upstream ships with: copy its godebug default and go line.
  godebug=$(grep -E '^godebug ' "$upstream_gomod" || true)
  [[ -n "$godebug" ]] && echo "$godebug" >> go.mod
  staging_version="v0.${K8S_VERSION#1.}"
  grep -E '^\s*k8s.io/[a-z0-9-]+ => \./staging/' "$upstream_gomod" | awk '{print $1}' | while read -r module; do
    go mod edit -replace="$module=$module@$staging_version"
  done
  go get "k8s.io/kubernetes/cmd/$cmd@v$K8S_VERSION" >&2
  minor=${K8S_VERSION#1.}; minor=${minor%%.*}
  stamp=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  go build -trimpath -ldflags "-s -w$stamp" -o "$work/out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
  go version -m "$work/out/$cmd" > "$work/out/$cmd.buildinfo"
}

# Publishes $work/out as $1 atomically: a half-built cache entry is never visible.
publish() {
  mkdir -p "$(dirname "$1")"
  rm -rf "$1.tmp" && mv "$work/out" "$1.tmp" && rm -rf "$1" && mv "$1.tmp" "$1"
  echo "$1"
}

if [[ "$what" == controller-manager ]]; then
  log "building kube-controller-manager v$K8S_VERSION (minutes after the apiserver, whose packages it shares)"
  build_k8s kube-controller-manager
  "$work/out/kube-controller-manager" --version >&2
  publish "$KCM_BIN"
  exit 0
fi

log "building kube-apiserver v$K8S_VERSION (cold: tens of minutes on 2 cores; cached afterwards)"
build_k8s kube-apiserver

log "building etcd v$ETCD_VERSION"
mkdir "$work/etcd" && cd "$work/etcd"
go mod init sealant.test/control-plane/etcd >/dev/null 2>&1
go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >&2
go build -trimpath -ldflags "-s -w" -o "$work/out/etcd" go.etcd.io/etcd/server/v3

"$work/out/kube-apiserver" --version >&2
"$work/out/etcd" --version >&2 | head -1
publish "$BIN"

#!/usr/bin/env bash
# kustomize (sigs.k8s.io/kustomize/kustomize/v5), built from Go modules and cached (tests/tools/go-install.sh).
# Prints the directory holding `kustomize`. The chart tests build manifests/ (a kustomize base) with it.
set -euo pipefail
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-5.8.1}
exec bash "$(dirname "$0")/go-install.sh" kustomize "$KUSTOMIZE_VERSION" \
  "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION" -- -ldflags "-s -w"

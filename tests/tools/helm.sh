#!/usr/bin/env bash
# Helm 3 (helm.sh/helm/v3), built from Go modules and cached (tests/tools/go-install.sh). Prints the directory
# holding `helm`. The chart tests lint, render and install charts/sealant with it, and install Bitnami's chart as
# the peer.
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-3.22.0}
exec bash "$(dirname "$0")/go-install.sh" helm "$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" \
  -- -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"

#!/usr/bin/env bash
# Trivy, built from Go modules and cached (tests/tools/go-install.sh). Prints the directory holding `trivy`.
# `make scan` runs its misconfiguration checks (embedded, offline) over manifests/ and the chart.
# Why GOEXPERIMENT=jsonv2: Trivy imports encoding/json/v2, which Go 1.26 ships only behind that experiment.
set -euo pipefail
TRIVY_VERSION=${TRIVY_VERSION:-0.74.0}
export GOEXPERIMENT=jsonv2
exec bash "$(dirname "$0")/go-install.sh" trivy "$TRIVY_VERSION" \
  "github.com/aquasecurity/trivy/cmd/trivy@v$TRIVY_VERSION" \
  -- -ldflags "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=$TRIVY_VERSION"

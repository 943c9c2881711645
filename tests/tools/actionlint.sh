#!/usr/bin/env bash
# actionlint, built from Go modules and cached (tests/tools/go-install.sh). Prints the directory holding
# `actionlint`. The CI template tests check every GitHub workflow with it (and with shellcheck, when installed).
set -euo pipefail
ACTIONLINT_VERSION=${ACTIONLINT_VERSION:-1.7.12}
exec bash "$(dirname "$0")/go-install.sh" actionlint "$ACTIONLINT_VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION" -- -ldflags "-s -w"

#!/usr/bin/env bash
# crane (go-containerregistry), built from Go modules and cached (tests/tools/go-install.sh). Prints the directory
# holding `crane`. `make image` assembles, annotates and writes the image with it; the image test unpacks it.
set -euo pipefail
CRANE_VERSION=${CRANE_VERSION:-0.22.1}
exec bash "$(dirname "$0")/go-install.sh" crane "$CRANE_VERSION" \
  "github.com/google/go-containerregistry/cmd/crane@v$CRANE_VERSION" -- -ldflags "-s -w"

#!/usr/bin/env bash
# The reference `age` CLI (filippo.io/age), built from Go modules and cached (tests/tools/go-install.sh). Prints
# the directory holding `age` and `age-keygen`. Tests use it to check that sealant's escrow files are plain age
# files, both ways.
set -euo pipefail
AGE_VERSION=${AGE_VERSION:-1.3.2}
exec bash "$(dirname "$0")/go-install.sh" age "$AGE_VERSION" \
  "filippo.io/age/cmd/age@v$AGE_VERSION" "filippo.io/age/cmd/age-keygen@v$AGE_VERSION" -- -ldflags "-s -w"

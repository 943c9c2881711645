#!/usr/bin/env bash
# axe-core (Deque's accessibility checker, from the npm registry), cached by tests/tools/npm-install.sh. Prints
# the path of axe.min.js, which tests/web/ injects into the sealing page in headless Chromium and runs.
set -euo pipefail
AXE_VERSION=${AXE_VERSION:-4.14.1}
exec bash "$(dirname "$0")/npm-install.sh" axe-core "$AXE_VERSION" node_modules/axe-core/axe.min.js

#!/usr/bin/env bash
# gitlab-ci-local (from the npm registry), cached by tests/tools/npm-install.sh. Prints the path of its executable.
# The GitLab template test validates the template against GitLab's CI schema with it and runs its lint job with
# the shell executor.
# Why 4.69.0: later releases need Node.js 22 (Set.prototype.union); these machines have Node.js 20.
set -euo pipefail
GCL_VERSION=${GCL_VERSION:-4.69.0}
exec bash "$(dirname "$0")/npm-install.sh" gitlab-ci-local "$GCL_VERSION" node_modules/.bin/gitlab-ci-local

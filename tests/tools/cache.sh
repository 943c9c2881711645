# shellcheck shell=bash
# Sourced by the test-tool installers: CACHE (outside the clone), and a lock per cache entry.
CACHE=${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}
mkdir -p "$CACHE"

# cache_lock NAME: holds $CACHE/.NAME.lock until the installer exits. Why: tests run in parallel and may ask for
# the same tool at once; the second waits, then finds it installed (replacing a tree another test is running
# from would pull it from under that test).
cache_lock() {
  exec {cache_lock_fd}>"$CACHE/.$1.lock"
  flock "$cache_lock_fd"
}

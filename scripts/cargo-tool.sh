#!/usr/bin/env bash
# Prints the bin directory of a cargo tool pinned to one version, building it from crates.io into
# ~/.cache/sealant/<crate>-<version> the first time (never into ~/.cargo/bin, so no other version is disturbed).
#   bin=$(bash scripts/cargo-tool.sh cargo-fuzz 0.13.2)
set -euo pipefail
crate=$1
version=$2
root="${XDG_CACHE_HOME:-$HOME/.cache}/sealant/$crate-$version"
if [ ! -x "$root/bin/$crate" ]; then
  echo "building $crate $version from crates.io into $root (once)" >&2
  cargo install --quiet --locked "$crate" --version "$version" --root "$root" >&2
fi
echo "$root/bin"

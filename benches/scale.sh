#!/usr/bin/env bash
# `make bench-scale`: `sealant rotate --dry-run` (the plan) and `sealant lint` on mixed GitOps trees of 1,000,
# 10,000 and 100,000 files (half SealedSecrets sealed to two RSA-4096 keys, half other manifests, in a few dozen
# directories), each against `cat` of every file and `git status` in the same run: time per file and peak memory
# against size, as a table, a TSV and an SVG plot in target/bench-scale/. BENCH_SIZES to change the sizes (the
# 100,000 tree takes about 1 GB of disk and a few minutes to generate).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${BENCH_SIZES:-"1000 10000 100000"}
cargo build --release --locked --quiet
bin="$PWD/target/release/sealant"
out="$PWD/target/bench-scale"
mkdir -p "$out"
tmp="$(mktemp -d)"
# BENCH_KEEP=1 leaves the generated trees in place (for perf or heaptrack).
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; fi
"$bin" keys new --bits 4096 --out "$tmp/k1" >/dev/null
sleep 1.1 # the newer key must have a later NotBefore
"$bin" keys new --bits 4096 --out "$tmp/k2" >/dev/null
# shellcheck disable=SC2086 # the sizes are words
python3 benches/scale.py "$bin" "$tmp" "$out" $sizes

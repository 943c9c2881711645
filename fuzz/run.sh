#!/usr/bin/env bash
# `make fuzz-smoke` (every target, SECS seconds each, default 30) and `make fuzz T=<target>` (one target until
# stopped): libFuzzer through cargo-fuzz, installed from crates.io into ~/.cache/sealant once. Each run starts
# from fuzz/seeds/<target> (committed: sample inputs and every crash found so far, so old crashes are re-tried
# first) and grows a scratch corpus under target/fuzz-corpus/. A crash fails the run and is left in
# fuzz/artifacts/<target>/: reproduce it with `cargo +nightly fuzz run <target> <file>`, fix it, add a unit test,
# and move the file into fuzz/seeds/<target>/regression-<what>.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$(bash scripts/cargo-tool.sh cargo-fuzz 0.13.2):$PATH"
export PATH
# libFuzzer's instrumentation needs nightly-only compiler flags. The machines this builds on ship a nightly
# toolchain beside stable; where they do not, stable's compiler is told to accept those flags instead.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  fuzz() { cargo +nightly fuzz "$@"; }
else
  fuzz() { RUSTC_BOOTSTRAP=1 cargo fuzz "$@"; }
fi
targets=$(fuzz list)
if [ -n "${T:-}" ]; then
  targets=$T
  secs=${SECS:-0}
else
  secs=${SECS:-30}
fi
fuzz build -O >&2
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
status=0
for t in $targets; do
  corpus="target/fuzz-corpus/$t"
  mkdir -p "$corpus"
  log="target/fuzz-$t.log"
  # Bounded: -max_total_time, 2 GiB of memory, 10 s per input, inputs up to 64 KiB.
  if fuzz run -O "$t" "$corpus" "fuzz/seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 > "$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log and fuzz/artifacts/$t/)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  seeds=$(ls "fuzz/seeds/$t" | wc -l)
  printf '%-18s %10s executions in %3ss  seeds %3d (of which regressions %d)  %s\n' "$t" "$runs" "$secs" "$seeds" \
    "$(ls "fuzz/seeds/$t" | grep -c '^regression-' || true)" "$result" >> "$summary"
done
cat "$summary"
exit $status

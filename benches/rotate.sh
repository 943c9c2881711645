#!/usr/bin/env bash
# `make bench-rotate`: `sealant rotate` on a generated GitOps repository of 10,000 SealedSecrets (mixed ages, half
# sealed to an older RSA-4096 key, a third with generators), against `git status` on the same tree (the I/O
# reference) for planning, and against `openssl speed rsa4096` (the RSA limit) for the full run with re-seals.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
cargo build --release --locked --quiet
bin="$PWD/target/release/sealant"
tmp="$(mktemp -d)"
# BENCH_KEEP=1 leaves the generated repository in place (for perf or heaptrack); it is printed at the end.
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; fi
repo="$tmp/repo"
mkdir -p "$repo"
cd "$tmp"
"$bin" keys new --bits 4096 --out k1 >/dev/null
sleep 1.1 # the newer key must have a later NotBefore
"$bin" keys new --bits 4096 --out k2 >/dev/null
python3 - "$N" <<'PY' > secrets.yaml
import sys
n = int(sys.argv[1])
for i in range(n):
    gen = '\n  annotations:\n    sealant.dev/generate.password: "alnum:40"' if i % 3 == 0 else ""
    print(f"---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: app{i}-db-credentials-prod\n  namespace: team{i % 50}{gen}\nstringData:\n  password: value-{i}\n")
PY
half=$(( $(grep -c '^kind: Secret' secrets.yaml) / 2 ))
python3 - "$half" <<'PY'
import sys
docs = open("secrets.yaml").read().split("---\n")[1:]
h = int(sys.argv[1])
open("a.yaml", "w").write("".join("---\n" + d for d in docs[:h]))
open("b.yaml", "w").write("".join("---\n" + d for d in docs[h:]))
PY
"$bin" seal --cert k1/tls.crt -f a.yaml -o yaml > a.sealed.yaml
"$bin" seal --cert k2/tls.crt -f b.yaml -o yaml > b.sealed.yaml
python3 - "$repo" <<'PY'
import os, random, re, sys
random.seed(11)
root = sys.argv[1]
docs = []
for f in ("a.sealed.yaml", "b.sealed.yaml"):
    docs += [d for d in open(f).read().split("---\n") if d.strip()]
for i, d in enumerate(docs):
    days = random.randrange(0, 180)
    d = re.sub(r'sealant.dev/sealed-at: "[^"]*"', f'sealant.dev/sealed-at: "2026-{1 + days // 30:02d}-{1 + days % 28:02d}T00:00:00Z"', d)
    path = os.path.join(root, f"team{i % 50}", f"app{i}", "sealed-secret.yaml")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(d)
PY
cd "$repo"
git init -q -b main
"$bin" keys fetch --cluster prod --cert ../k1/tls.crt >/dev/null 2>&1
"$bin" keys fetch --cluster prod --cert ../k2/tls.crt >/dev/null 2>&1
git add -A >/dev/null
git -c user.name=bench -c user.email=bench@example.invalid commit -q -m tree
git status >/dev/null # warm the index and the page cache

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
status=$(for _ in 1 2 3 4 5; do timeit git status; done | median)
plan=$(for _ in 1 2 3 4 5; do timeit "$bin" rotate --dry-run -o json --now 2026-11-23T00:00:00Z; done | median)
"$bin" rotate --dry-run -o json --now 2026-11-23T00:00:00Z > "$tmp/plan.json" 2>/dev/null
read -r regen reseal report < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
k = [a["kind"] for a in p["actions"]]
print(k.count("regenerate"), k.count("reseal"), k.count("report"))' "$tmp/plan.json")
# The new key pinned as a rotation job pins it (a certificate the repository alone vouches for is never a target).
pin="prod=$("$bin" keys fingerprint ../k2/tls.crt | awk '{print $1}')"
full=$(timeit "$bin" rotate --no-push --forge none --key ../k1/tls.key,../k2/tls.key --trust-cert "$pin" --now 2026-11-23T00:00:00Z)
changed=$(git diff --name-only main "sealant/rotate-2026-11-23" | wc -l)
sign=$(openssl speed -seconds 3 rsa4096 2>/dev/null | awk '/^rsa 4096 bits/ {print $6}')
cores=$(nproc)
rsa_limit=$(echo "$reseal / ($sign * $cores)" | bc -l)
printf 'tree: %d SealedSecrets in %d files; plan: %d regenerate, %d re-seal, %d report; full run changed %d files\n' \
  "$N" "$(git ls-files | grep -c sealed-secret.yaml)" "$regen" "$reseal" "$report" "$changed"
printf 'git status      %7.3f s (median of 5)\n' "$status"
printf 'rotate --dry-run %7.3f s (median of 5)   plan / git status = %.2f\n' "$plan" "$(echo "$plan / $status" | bc -l)"
printf 'rotate (full)   %7.3f s                   openssl rsa4096 %.1f sign/s x %d cores: RSA limit %.3f s, full / limit = %.2f\n' \
  "$full" "$sign" "$cores" "$rsa_limit" "$(echo "$full / $rsa_limit" | bc -l)"
if [ -n "${BENCH_KEEP:-}" ]; then echo "tree kept: $repo (before the full run: git checkout main)"; fi

#!/usr/bin/env bash
# `make bench-lint`: `sealant lint` on a generated tree of 10,000 manifests against reading the same files
# (`cat`, the I/O reference) and against gitleaks (built from Go modules, cached), in one run; then what gitleaks
# reports on the lint corpus, for comparison with sealant's expected findings.
set -euo pipefail
cd "$(dirname "$0")/.."
GITLEAKS_VERSION=v8.30.1
cache="${SEALANT_CACHE:-$HOME/.cache/sealant}/gitleaks-$GITLEAKS_VERSION"
if [ ! -x "$cache/gitleaks" ]; then
  echo "building gitleaks $GITLEAKS_VERSION from Go modules into $cache (once)"
  mkdir -p "$cache"
  GOBIN="$cache" GOTOOLCHAIN=local CGO_ENABLED=0 go install "github.com/zricethezav/gitleaks/v8@$GITLEAKS_VERSION"
fi
cargo build --release --locked --quiet
out=target/bench-lint
mkdir -p "$out"
# Outside the repository: its .gitignore (target/) would hide the tree from a .gitignore-aware walker.
tree="$(mktemp -d)/tree"
trap 'rm -rf "$(dirname "$tree")"' EXIT
python3 - "$tree" <<'PY'
import os, random, sys
random.seed(7)
root = sys.argv[1]
envs = ["dev", "staging", "prod"]
for i in range(10000):
    d = os.path.join(root, f"team{i % 50}", f"app{i % 400}")
    os.makedirs(d, exist_ok=True)
    env = envs[i % 3]
    kind = i % 10
    if kind < 6:
        body = f"""apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: app{i}-db-credentials-{env}
  namespace: team{i % 50}
  annotations:
    sealant.dev/sealed-at: "2026-0{1 + i % 9}-15T00:00:00Z"
spec:
  encryptedData:
    password: {"".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(684))}
"""
    elif kind < 9:
        body = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
spec:
  template:
    spec:
      containers:
        - name: app
          image: example.invalid/app{i}:1
          env:
            - name: LOG_LEVEL
              value: info
            - name: DB_PASSWORD
              valueFrom: {{secretKeyRef: {{name: app{i}-db-credentials-{env}, key: password}}}}
"""
    else:
        body = f"""apiVersion: v1
kind: Secret
metadata:
  name: app{i}-api-token-{env}
stringData:
  token: {"".join(random.choice("abcdef0123456789") for _ in range(40))}
"""
    with open(os.path.join(d, f"m{i}.yaml"), "w") as f:
        f.write(body)
PY
python3 - "$tree" "$cache/gitleaks" <<'PY'
import subprocess, sys, time
tree, gitleaks = sys.argv[1], sys.argv[2]
def best(cmd, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)
cat = best(f"find {tree} -type f -exec cat {{}} + > /dev/null")
lint = best(f"target/release/sealant lint {tree} -o json > /dev/null")
# gitleaks replaces its report file: never point it at /dev/null.
report = tree + "/../gitleaks-report.json"
leaks = best(f"{gitleaks} dir {tree} --no-banner --exit-code 0 --report-format json --report-path {report}")
print(f"10,000 manifests: cat {cat:.2f}s, sealant lint {lint:.2f}s, gitleaks {leaks:.2f}s")
import json, collections
found = json.loads(subprocess.run(f"target/release/sealant lint {tree} -o json", shell=True, capture_output=True).stdout)
by_rule = collections.Counter(f["rule"] for f in found["findings"])
print(f"sealant lint: {found['files']} files, findings by rule: {dict(sorted(by_rule.items()))}")
print(f"ratios: lint/cat {lint / cat:.2f} (target <= 3), lint/gitleaks {lint / leaks:.2f} (target < 1)")
PY
echo "== gitleaks on tests/lint/corpus (compare with tests/lint/expected.txt)"
"$cache/gitleaks" dir tests/lint/corpus --no-banner --exit-code 0 --report-format json --report-path "$out/gitleaks-corpus.json" >/dev/null 2>&1 || true
python3 -c "
import json
for f in json.load(open('$out/gitleaks-corpus.json')):
    print(f\"  {f['File']}:{f['StartLine']} {f['RuleID']}\")
"

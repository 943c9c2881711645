#!/usr/bin/env bash
# The whole offline pipeline on the examples, step by step: build, make a throwaway controller-shaped key,
# seal, show a diff-friendly re-seal, verify, unseal, show what a tampered or moved item does, escrow keys with
# age and re-seal offline to a new key; then the controller on a real API server.
# Needs nothing outside the repository (the Rust registry for the first build). Plaintext never reaches
# the terminal: recovered values are compared byte for byte, not printed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work=$(mktemp -d "${TMPDIR:-/tmp}/sealant-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
short() { cut -c1-110; }

step "1. Build sealant"
run cargo build --locked --quiet ${SEALANT_PROFILE:+--profile "$SEALANT_PROFILE"}
sealant="$root/target/${SEALANT_PROFILE:-debug}/sealant"
"$sealant" --version

step "2. Make a throwaway 4096-bit key, shaped like the controller's (key files are mode 0600)"
run "$sealant" keys new --out "$work/keys"
ls -l "$work/keys" | sed 1d

step "3. Seal every example Secret to the certificate (YAML stays YAML, JSON stays JSON)"
mkdir -p "$work/repo/sealed"
for f in examples/secrets/*; do
  out="$work/repo/sealed/$(basename "$f")"
  run "$sealant" seal --cert "$work/keys/tls.crt" -f "$f" -w "$out"
done
echo
echo "sealed/db-credentials-prod.yaml (ciphertexts cut at 110 columns):"
short < "$work/repo/sealed/db-credentials-prod.yaml"

step "4. Diff-friendly edits: rotate one item in place with --merge-into; git diff shows only that value"
(cd "$work/repo" && git init -q && git add -A && git -c user.name=demo -c user.email=demo@example.invalid commit -qm sealed)
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: any\nstringData:\n  password: rotated-example-password\n' > "$work/rotated.yaml"
run "$sealant" seal --cert "$work/keys/tls.crt" -f "$work/rotated.yaml" --merge-into "$work/repo/sealed/db-credentials-prod.yaml"
(cd "$work/repo" && git --no-pager diff --stat && git --no-pager diff -U0 | short)

step "5. Verify: every item of every SealedSecret decrypts with the private key"
for f in "$work"/repo/sealed/*; do
  run "$sealant" verify --key "$work/keys/tls.key" -f "$f"
done

step "6. Unseal offline (disaster recovery) with the key Secret, and compare with the originals"
run "$sealant" unseal --key "$work/keys/key-secret.yaml" -f "$work/repo/sealed/platform-staging.yaml" -o json -w "$work/recovered.json"
ls -l "$work/recovered.json" | awk '{print $1, $NF}'
python3 - "$root/examples/secrets/platform-staging.yaml" "$work/recovered.json" <<'EOF'
import base64, json, sys
# The originals: `name:` under metadata, then `key: value` lines under stringData.
want, name, in_data = {}, None, False
for line in open(sys.argv[1]):
    s = line.rstrip("\n")
    if s.startswith("  name:"):
        name = s.split(":", 1)[1].strip()
    if s == "stringData:":
        in_data = True
    elif in_data and s.startswith("  ") and ":" in s:
        k, v = s.strip().split(":", 1)
        want[(name, k)] = v.strip().encode()
    else:
        in_data = False
# The recovered Secrets: concatenated JSON objects with base64 data.
got, text, dec = {}, open(sys.argv[2]).read(), json.JSONDecoder()
pos = len(text) - len(text.lstrip())
while pos < len(text):
    obj, pos = dec.raw_decode(text, pos)
    pos += len(text[pos:]) - len(text[pos:].lstrip())
    for k, v in obj.get("data", {}).items():
        got[(obj["metadata"]["name"], k)] = base64.b64decode(v)
for key in sorted(want):
    print(f"  {key[0]}/{key[1]}: {'identical' if got.get(key) == want[key] else 'DIFFERENT'}")
sys.exit(0 if got == want else 1)
EOF

step "7. What cannot be done: a tampered item, and a strict item moved to another namespace"
python3 - "$work/repo/sealed/db-credentials-prod.yaml" "$work/tampered.yaml" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = next(n for n, l in enumerate(lines) if l.strip().startswith("password:"))
key, blob = lines[i].split(": ", 1)
pos = len(blob) // 2  # inside the RSA block: the OAEP check fails
lines[i] = key + ": " + blob[:pos] + ("B" if blob[pos] == "A" else "A") + blob[pos + 1:]
open(sys.argv[2], "w").write("\n".join(lines))
EOF
if "$sealant" verify --key "$work/keys/tls.key" -f "$work/tampered.yaml"; then echo "UNEXPECTED: tampered item verified"; exit 1; fi
sed 's/namespace: billing/namespace: elsewhere/' "$work/repo/sealed/db-credentials-prod.yaml" > "$work/moved.yaml"
if "$sealant" verify --key "$work/keys/tls.key" -f "$work/moved.yaml"; then echo "UNEXPECTED: moved item verified"; exit 1; fi

step "8. Keys across clusters: age escrow in keys/, a new key, an offline re-seal, the old key retired, lint"
age_dir=$(bash tests/tools/age.sh)   # the reference age CLI, built from Go modules once and cached
"$age_dir/age-keygen" -o "$work/break-glass.txt" 2> "$work/break-glass.pub"
recipient=$(grep -o 'age1[a-z0-9]*' "$work/break-glass.pub")
cd "$work/repo"
run "$sealant" keys backup --cluster prod --recipient "$recipient" --key-secrets "$work/keys/key-secret.yaml"
run "$sealant" keys new --bits 2048 --out "$work/keys2" > /dev/null
run "$sealant" keys backup --cluster prod --recipient "$recipient" --key-secrets "$work/keys2/key-secret.yaml"
run "$sealant" keys fetch --cluster prod --cert "$work/keys2/tls.crt"
git add -A && git -c user.name=demo -c user.email=demo@example.invalid commit -qm "keys"
run "$sealant" reseal --cluster prod --age-identity "$work/break-glass.txt" sealed/*
git --no-pager diff --stat
old=$("$sealant" keys fingerprint "$work/keys/tls.crt" | cut -d' ' -f1)
run "$sealant" keys retire "$old" --reason "renewed in the demo"
run "$sealant" keys list
run "$sealant" verify --age-identity "$work/break-glass.txt" -f sealed/db-credentials-prod.yaml
if "$sealant" seal --cert "$work/keys/tls.crt" -f "$root/examples/secrets/platform-staging.yaml" > /dev/null 2>&1; then
  echo "UNEXPECTED: sealed to a retired key"; exit 1
fi
echo "sealing to the retired key is refused"
"$sealant" lint . | tail -3 || true

step "9. The rotation job, 100 days on: regenerate what is marked generated, commit on a branch, push; the report"
git add -A && git -c user.name=demo -c user.email=demo@example.invalid commit -qm "re-sealed to the new key"
printf 'clusters: [{name: prod}]\npolicy: {rotation: 90d}\n' > .sealant.yaml
printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: api-token-prod\n  namespace: billing\n  annotations:\n    sealant.dev/generate.token: alnum:40\n    sealant.dev/rollout-restart: deployment/api\nstringData:\n  token: demo-token-to-be-replaced\n' > "$work/generated.yaml"
# No --cert: .sealant.yaml has one cluster, so seal uses keys/prod's current key.
run "$sealant" seal -f "$work/generated.yaml" -w sealed/api-token-prod.yaml
git add -A && git -c user.name=demo -c user.email=demo@example.invalid commit -qm "generated token"
git clone -q --bare . "$work/remote.git" && git remote add origin "file://$work/remote.git"
later=$(date -u -d '+100 days' +%Y-%m-%dT%H:%M:%SZ)
# The job seals only to a certificate confirmed outside the repository: here a pin, as a CronJob mounts it.
export SEALANT_TRUST_CERT=$("$sealant" keys fingerprint "$work/keys2/tls.crt" | cut -d' ' -f1)
run "$sealant" rotate --dry-run --now "$later"
run "$sealant" rotate --forge none --now "$later" --log-format text
branch=$(git --git-dir "$work/remote.git" for-each-ref --format='%(refname:short)' refs/heads/sealant/)
git --git-dir "$work/remote.git" log -1 --format='pushed %D: %s' "$branch"
git --git-dir "$work/remote.git" --no-pager diff --stat "HEAD" "$branch"
git --git-dir "$work/remote.git" --no-pager diff "HEAD" "$branch" | grep '^[-+] ' | short
run "$sealant" rotate --forge none --now "$later" --log-format text
# A page for people: every SealedSecret's age against the 90-day line, the keys, the lint findings.
mkdir -p "$root/target/demo"
run "$sealant" report --now "$later" --html "$root/target/demo/sealant-report.html"
cd "$root"

# The cluster half: a real kube-apiserver + etcd built from Go modules (cached after the first build, which takes
# about 7 minutes), the generated CRD, the shipped RBAC and `sealant controller`.
bash tests/control-plane/build.sh >/dev/null
cargo run --quiet --locked ${SEALANT_PROFILE:+--profile "$SEALANT_PROFILE"} --example cluster

step "Done"
echo "Sealed $(ls "$work/repo/sealed" | wc -l) files, re-sealed one item in place, verified, recovered offline,"
echo "saw tampering and moving refused, escrowed keys with age and re-sealed offline to a new one, rotated a"
echo "generated value on a pushed branch (a second run found it already proposed), wrote the report"
echo "(target/demo/sealant-report.html), and"
echo "watched the controller unseal on a real API server without repeating RSA work after a restart. Nothing was left behind ($work is removed on exit)."

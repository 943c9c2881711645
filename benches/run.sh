#!/usr/bin/env bash
# One run, one machine: OpenSSL's RSA-4096 rates (the physical reference) and sealant's criterion results,
# printed as ratios. Absolute times on shared machines are noise; ratios taken in the same run are not.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/bench-report
mkdir -p "$out"

echo "== openssl speed -seconds 3 rsa4096 (one core)"
openssl speed -seconds 3 rsa4096 2>/dev/null | tee "$out/openssl.txt" | tail -2

echo "== openssl speed -seconds 3 -bytes 65536 -evp aes-256-gcm (one core)"
openssl speed -seconds 3 -bytes 65536 -evp aes-256-gcm 2>/dev/null | tee "$out/openssl-gcm.txt" | tail -1

echo "== cargo bench -p sealant-core --bench envelope"
cargo bench --locked -p sealant-core --bench envelope -- --noplot 2>&1 | tee "$out/criterion.txt" | grep -E '^(seal|unseal)|time:' || true

python3 - "$out/openssl.txt" "$out/openssl-gcm.txt" <<'PY'
import json, re, sys
line = [l for l in open(sys.argv[1]) if l.startswith("rsa 4096")][-1]
# "rsa 4096 bits 0.008s 0.000125s  125.0  8000.0": sign/s (private op) and verify/s (public op) last.
sign_s, verify_s = map(float, line.split()[-2:])
gcm_line = [l for l in open(sys.argv[2]) if l.startswith("AES-256-GCM")][-1]
gcm_bytes_s = float(gcm_line.split()[-1].rstrip("k")) * 1000
def mean_ns(name):
    with open(f"target/criterion/{name}/new/estimates.json") as f:
        return json.load(f)["mean"]["point_estimate"]
rows = []
for size in ("64", "65536"):
    seal = 1e9 / mean_ns(f"seal_4096/{size}")
    unseal = 1e9 / mean_ns(f"unseal_4096/{size}")
    # The limit for one item: one RSA operation plus AES-256-GCM over the value, both at OpenSSL's rate.
    gcm_s = int(size) / gcm_bytes_s
    rows.append((f"seal {size} B", seal, verify_s, 1 / (1 / verify_s + gcm_s), "public"))
    rows.append((f"unseal {size} B", unseal, sign_s, 1 / (1 / sign_s + gcm_s), "private"))
print()
print(f"{'operation':<16}{'sealant ops/s':>14}{'RSA op/s':>10}{'ratio':>7}{'RSA+GCM/s':>11}{'ratio':>7}   (openssl RSA-4096 op)")
for name, ours, rsa, limit, op in rows:
    print(f"{name:<16}{ours:>14.0f}{rsa:>10.0f}{ours / rsa:>7.2f}{limit:>11.0f}{ours / limit:>7.2f}   ({op})")
one_core = mean_ns("seal_file_4096/1000_documents_one_core")
all_cores = mean_ns("seal_file_4096/1000_documents")
rsa_only = mean_ns("seal_4096/64") * 1000
print()
print("sealing a 1,000-document YAML file (read, seal, write):")
print(f"  one core:  {one_core / 1e6:7.1f} ms   1,000 single-item seals: {rsa_only / 1e6:.1f} ms   overhead above the RSA work: {100 * (one_core - rsa_only) / rsa_only:+.0f}%")
print(f"  all cores: {all_cores / 1e6:7.1f} ms   ({all_cores / rsa_only:.2f}x the one-core RSA work)")
print(f"  parts: read {mean_ns('seal_file_4096/read_only') / 1e6:.1f} ms (YAML parser events alone {mean_ns('seal_file_4096/events_only') / 1e6:.1f} ms), write {mean_ns('seal_file_4096/write_only') / 1e6:.1f} ms")
print(f"  1,000 RSA-4096 public ops at the openssl rate: {1000 / verify_s * 1e3:.1f} ms")
print(f"  one core / 1,000 openssl RSA-4096 public ops: {one_core / 1e6 / (1000 / verify_s * 1e3):.2f}x")
PY

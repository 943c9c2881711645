#!/usr/bin/env bash
# `make bench-controller`: OpenSSL's RSA-4096 private-operation rate (the physical limit), then the controller
# on the real apiserver with 1k and 10k SealedSecrets (BENCH_SIZES to change), in one run on one machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/control-plane/build.sh >/dev/null
line=$(openssl speed -seconds 3 rsa4096 2>/dev/null | grep '^rsa 4096' | tail -1)
sign=$(echo "$line" | awk '{print $(NF-1)}')
echo "openssl speed rsa4096: ${sign} private ops/s on one core"
OPENSSL_RSA4096_SIGN_PER_S="$sign" cargo bench --locked --bench controller

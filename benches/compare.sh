#!/usr/bin/env bash
# `make bench-compare`: sealant against upstream Bitnami Sealed Secrets, one run, one machine. Measures
# OpenSSL's RSA-4096 rates first (the physical limit), builds what is missing (control plane, upstream binaries),
# then runs benches/compare.rs. BENCH_SIZES=1000 for a shorter run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/control-plane/build.sh >/dev/null
bash tests/upstream/build.sh >/dev/null
line=$(openssl speed -seconds 3 rsa4096 2>/dev/null | grep '^rsa 4096' | tail -1)
sign=$(echo "$line" | awk '{print $(NF-1)}')
verify=$(echo "$line" | awk '{print $NF}')
OPENSSL_RSA4096_SIGN_PER_S="$sign" OPENSSL_RSA4096_VERIFY_PER_S="$verify" cargo bench --locked --bench compare

#!/usr/bin/env bash
# `make scan`: Trivy (built from Go modules, cached) over what users install.
#  - misconfigurations (Trivy's embedded Kubernetes and Helm checks, offline) of manifests/ and of the chart
#    with its defaults and with every option on: no HIGH or CRITICAL finding but those .trivyignore accepts,
#    each with its reason;
#  - the image archive (target/image/sealant.tar, when `make image` has built it): secrets in its files and
#    misconfigurations of its config (root user, …), offline; its vulnerabilities only where a Trivy
#    vulnerability database exists on this machine, since none can be fetched here.
set -euo pipefail
cd "$(dirname "$0")/.."
trivy="$(bash tests/tools/trivy.sh)/trivy"
cache="${SEALANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealant}/trivy-cache"
common=(--cache-dir "$cache" --quiet --ignorefile .trivyignore --exit-code 1 --severity HIGH,CRITICAL)
"$trivy" config "${common[@]}" --skip-check-update manifests/
"$trivy" config "${common[@]}" --skip-check-update charts/sealant
"$trivy" config "${common[@]}" --skip-check-update --helm-values charts/sealant/ci/full-values.yaml charts/sealant
echo "trivy config: manifests/ and charts/sealant (defaults, every option on): no unaccepted HIGH or CRITICAL"
image=target/image/sealant.tar
if [[ ! -f "$image" ]]; then
  echo "trivy image: $image not built (make image); not checked"
  exit 0
fi
"$trivy" image "${common[@]}" --skip-db-update --scanners secret --image-config-scanners misconfig,secret \
  --input "$image"
echo "trivy image: no secret in the files or config, no HIGH or CRITICAL misconfiguration of the config"
if [[ -f "$cache/db/trivy.db" ]]; then
  "$trivy" image "${common[@]}" --skip-db-update --scanners vuln --input "$image"
  echo "trivy image: no HIGH or CRITICAL vulnerability in the local database"
else
  echo "trivy image vulnerabilities: no vulnerability database at $cache/db and no route to fetch one here; not checked"
fi

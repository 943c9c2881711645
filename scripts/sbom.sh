#!/usr/bin/env bash
# `make sbom`: a CycloneDX 1.5 SBOM (JSON) of the sealant binary and of every workspace crate, with every
# transitive dependency, into target/sbom/. cargo-cyclonedx is built from crates.io into ~/.cache/sealant once.
# Each SBOM is checked before it is kept: it parses, and lists the crates the binary's crypto and parsing rest on.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(bash scripts/cargo-tool.sh cargo-cyclonedx 0.5.9)
out=target/sbom
rm -rf "$out"
mkdir -p "$out"
# cargo-cyclonedx writes <crate>.cdx.json beside each Cargo.toml; they are moved out of the source tree at once.
"$tools/cargo-cyclonedx" cyclonedx --quiet --format json --spec-version 1.5 --all \
  --target x86_64-unknown-linux-gnu
git ls-files --others --exclude-standard -- '*.cdx.json' ':!target' | while read -r bom; do
  mv "$bom" "$out/"
done
python3 - "$out" <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
boms = sorted(out.glob("*.cdx.json"))
assert boms, f"no SBOM written in {out}"
for path in boms:
    bom = json.loads(path.read_text())
    assert bom.get("bomFormat") == "CycloneDX" and bom.get("specVersion") == "1.5", path
    names = {c["name"] for c in bom.get("components", [])}
    print(f"{path}: {len(names)} components")
main = json.loads((out / "sealant.cdx.json").read_text())
names = {c["name"] for c in main["components"]}
missing = {"aws-lc-rs", "serde-saphyr", "kube-client", "git2", "clap"} - names
assert not missing, f"sealant.cdx.json lacks {sorted(missing)}"
PY

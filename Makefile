# Every task a user or CI runs. `make help` lists them; `make ci` runs `.ci/run`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
CARGO_DENY_VERSION := 0.20.2
SHARED_VECTORS ?= ../shared/vectors

# SEALANT_PROFILE names one cargo profile for every build below (CI sets `release`, see .ci/run). Unset: the tests and
# `make build` use the dev profile and the release binary (`release`, `install`, `image`) the release profile.
SEALANT_PROFILE ?=
export SEALANT_PROFILE
TEST_FLAGS := $(if $(SEALANT_PROFILE),--profile $(SEALANT_PROFILE))
BIN := target/$(or $(SEALANT_PROFILE),debug)/sealant
RELEASE_PROFILE := $(or $(SEALANT_PROFILE),release)
RELEASE_BIN := target/$(RELEASE_PROFILE)/sealant

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the sealant binary (dev profile, or SEALANT_PROFILE)
	$(CARGO) build --locked $(TEST_FLAGS)

.PHONY: release
release: ## Build the release binary (stripped of debug info) and print its size
	$(CARGO) build --profile $(RELEASE_PROFILE) --locked --bin sealant
	@echo "$(RELEASE_BIN): $$(( $$(stat -c %s $(RELEASE_BIN)) / 1024 / 1024 )) MiB"

# Where `make install` puts things: $(DESTDIR)$(PREFIX)/bin, share/man/man1 and the shells' completion directories.
PREFIX ?= /usr/local
DESTDIR ?=
# KUBESEAL_LINK=1 also installs bin/kubeseal -> sealant (sealant answers to upstream's kubeseal flags under that name).
KUBESEAL_LINK ?= 0

.PHONY: install
install: release ## Install the binary, man pages and bash/zsh/fish completions under PREFIX (KUBESEAL_LINK=1: kubeseal too)
	@# Why: an empty PREFIX would install into $(DESTDIR)/bin and /share.
	@if [[ -z "$(PREFIX)" ]]; then echo "install: PREFIX is empty" >&2; exit 2; fi
	bash scripts/install.sh $(RELEASE_BIN) "$(DESTDIR)$(PREFIX)" "$(KUBESEAL_LINK)"

.PHONY: image
image: ## The container image without a daemon: OCI layout, docker-loadable archive, digest and SBOM in target/image
	bash scripts/image.sh target/image

.PHONY: scan
scan: ## Trivy (from Go modules): misconfigurations of manifests/ and the chart; the image's vulnerabilities where a database exists
	bash scripts/scan.sh

.PHONY: lint-gitops
lint-gitops: build ## This repository as a GitOps tree (keys/example, examples/sealed, manifests, chart) through `sealant lint`
	$(BIN) lint --config-dir . keys examples manifests charts

.PHONY: demo
demo: ## The whole offline pipeline on examples/: key, seal, diff-friendly re-seal, verify, unseal
	bash scripts/demo.sh

.PHONY: test
test: ## Run every test (unit, vectors, property, CLI golden, bad input, real apiserver + etcd)
	$(CARGO) test --workspace --locked $(TEST_FLAGS)

.PHONY: test-fast
test-fast: ## The tests that need no Go-built tool (no control plane, Gitea or age CLI): the quick loop
	$(CARGO) test --locked -p sealant-core -p sealant-repo -p sealant-client -p sealant-lint -p sealant-rotate -p sealant-cli
	$(CARGO) test --locked -p sealant-controller --lib
	$(CARGO) test --locked -p sealant --bins --test cli --test golden --test bad_input --test lint

.PHONY: control-plane
control-plane: ## Build kube-apiserver, etcd and kube-controller-manager from Go modules into ~/.cache/sealant (once)
	bash tests/control-plane/build.sh
	bash tests/control-plane/build.sh controller-manager

.PHONY: upstream
upstream: ## Build upstream kubeseal + controller and its integration suite (Bitnami, pinned) from Go modules into ~/.cache/sealant (tests do it when missing)
	bash tests/upstream/build.sh
	bash tests/upstream/suite.sh

.PHONY: test-tools
test-tools: ## Build age, Gitea, Helm, kustomize, crane, actionlint, Trivy and promtool (and fetch Bitnami's chart) into ~/.cache/sealant (tests do it when missing)
	bash tests/tools/age.sh
	bash tests/tools/gitea.sh
	bash tests/tools/helm.sh
	bash tests/tools/kustomize.sh
	bash tests/upstream/chart.sh
	bash tests/tools/crane.sh
	bash tests/tools/actionlint.sh
	bash tests/tools/trivy.sh
	bash tests/tools/promtool.sh

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: fmt-check
fmt-check: ## Fail if the code is not formatted
	$(CARGO) fmt --all -- --check

.PHONY: lint
lint: ## Clippy, warnings are errors
	$(CARGO) clippy --workspace --all-targets --locked $(TEST_FLAGS) -- -D warnings

.PHONY: deny
deny: ## Licences, bans and sources (and advisories when a local advisory database exists)
	@command -v cargo-deny >/dev/null && cargo-deny --version | grep -q "$(CARGO_DENY_VERSION)" \
	  || $(CARGO) install cargo-deny --locked --version $(CARGO_DENY_VERSION)
	cargo-deny check licenses bans sources
	@if ls -d "$${CARGO_HOME:-$$HOME/.cargo}"/advisory-dbs/*/ >/dev/null 2>&1; then \
	  cargo-deny --offline check advisories; \
	else \
	  echo "advisories: no local advisory database and no route to fetch one here; not checked"; \
	fi

.PHONY: audit
audit: ## cargo audit against a local RustSec database (~/.cargo/advisory-db), when one exists (cargo-audit, cached)
	@db="$${CARGO_HOME:-$$HOME/.cargo}/advisory-db"; \
	if [ -d "$$db" ]; then \
	  tools=$$(bash scripts/cargo-tool.sh cargo-audit 0.22.2); \
	  "$$tools/cargo-audit" audit --no-fetch --db "$$db" --deny warnings; \
	else \
	  echo "audit: no RustSec database at $$db and no route to fetch one here; not checked"; \
	fi

.PHONY: sbom
sbom: ## CycloneDX SBOMs (JSON) of the binary and every crate into target/sbom/ (cargo-cyclonedx, cached)
	bash scripts/sbom.sh

.PHONY: check-vectors
check-vectors: ## Fail if the vendored test vectors differ from shared/vectors (when it is beside the repo)
	@if [ -d "$(SHARED_VECTORS)" ]; then \
	  diff -r -x gen_vectors.py -x README.md "$(SHARED_VECTORS)" crates/core/tests/data/vectors && echo "vectors: identical to $(SHARED_VECTORS)"; \
	else echo "vectors: $(SHARED_VECTORS) not present; skipped"; fi

.PHONY: bench
bench: ## Seal/unseal benchmarks and their ratio to `openssl speed` RSA-4096 (one run, same machine)
	bash benches/run.sh

.PHONY: generate
generate: ## Regenerate the chart's CRD (from the Rust types) and manifests/ (the chart rendered with its defaults)
	$(CARGO) build --quiet --locked $(TEST_FLAGS) --bin sealant
	bash scripts/generate.sh

.PHONY: check-generated
check-generated: ## Fail if the CRD or manifests/ differ from what `make generate` writes
	@$(CARGO) build --quiet --locked $(TEST_FLAGS) --bin sealant
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && bash scripts/generate.sh "$$tmp" \
	  && diff -ru charts/sealant/files "$$tmp/charts/sealant/files" && diff -ru manifests "$$tmp/manifests" \
	  && echo "charts/sealant/files/crd.yaml, manifests/: current" \
	  || { echo "generated files are stale: run make generate"; exit 1; }

.PHONY: bench-controller
bench-controller: ## Controller on the real apiserver: 1k and 10k SealedSecrets, time to converge, RSA ops, RSS
	bash benches/controller.sh

.PHONY: bench-compare
bench-compare: ## sealant vs upstream kubeseal + controller (sealing; 1k and 10k SealedSecrets): ratios for BENCHMARKS.md
	bash benches/compare.sh

.PHONY: bench-rotate
bench-rotate: ## `sealant rotate` on 10,000 generated SealedSecrets: plan vs `git status`, full run vs openssl RSA-4096
	bash benches/rotate.sh

.PHONY: bench-lint
bench-lint: ## `sealant lint` on 10,000 generated manifests vs `cat` and gitleaks (built from Go modules, cached)
	bash benches/lint.sh

.PHONY: bench-scale
bench-scale: ## rotate plan and lint on mixed trees of 1k, 10k and 100k files: time per file and peak RSS, plot in target/bench-scale/
	bash benches/scale.sh

.PHONY: fuzz-smoke
fuzz-smoke: ## Every fuzz target for SECS seconds (default 30) from its seeds and past crashes (cargo-fuzz, cached)
	bash fuzz/run.sh

.PHONY: fuzz
fuzz: ## One fuzz target until stopped: make fuzz T=manifest_read (targets: fuzz/fuzz_targets/)
	T=$(T) bash fuzz/run.sh

.PHONY: ci
ci: ## What CI runs: the Go-built tools in the background while the Rust steps run, then image, scan, test, demo
	bash .ci/run

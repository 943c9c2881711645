#!/usr/bin/env bash
# promtool, built from Go modules and cached (tests/tools/go-install.sh). Prints the directory holding `promtool`.
# tests/monitoring.rs checks the chart's PrometheusRule (`promtool check rules`, `promtool test rules` on series
# scraped from a real controller) and parses every Grafana dashboard query with it.
set -euo pipefail
PROMTOOL_VERSION=${PROMTOOL_VERSION:-0.316.0}
exec bash "$(dirname "$0")/go-install.sh" promtool "$PROMTOOL_VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@v$PROMTOOL_VERSION" -- -ldflags "-s -w"

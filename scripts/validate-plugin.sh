#!/usr/bin/env bash
# Runs Grafana's plugin validator on the packaged zip. Expected result for a
# local build: no errors except the missing signature (we do not sign here).
#   scripts/validate-plugin.sh [zip]     (default: the newest build/*.zip)
# PLUGINCHECK2=/path/to/plugincheck2 uses an installed validator instead of
# `go run github.com/grafana/plugin-validator/pkg/cmd/plugincheck2@$PLUGIN_VALIDATOR_VERSION`.
set -euo pipefail
cd "$(dirname "$0")/.."
zip="${1:-$(ls -t build/*.zip 2>/dev/null | head -n 1 || true)}"
[ -n "$zip" ] && [ -f "$zip" ] || { echo "validate-plugin: no zip; run npm run build && npm run package first" >&2; exit 1; }
version="${PLUGIN_VALIDATOR_VERSION:-latest}"
if [ -n "${PLUGINCHECK2:-}" ]; then
  exec "$PLUGINCHECK2" "$zip"
fi
if ! go run "github.com/grafana/plugin-validator/pkg/cmd/plugincheck2@$version" "$zip"; then
  echo "validate-plugin: the validator failed or could not be fetched from the Go module proxy;" >&2
  echo "install it and point PLUGINCHECK2 at the binary to run it on $zip." >&2
  exit 2
fi

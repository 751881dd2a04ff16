#!/usr/bin/env bash
# Every test, once, non-interactively: installs dependencies, then lint, typecheck,
# Jest, go vet, golangci-lint, Go unit tests under the race detector (real
# Prometheus), build, harness integration tests against the built plugin binary
# and the demo provisioning's checks, the real-browser test, and the package check.
# Set SKIP_INSTALL=1 to reuse node_modules and the Go module cache as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export CHROMIUM_PATH="${CHROMIUM_PATH:-$(command -v chromium || command -v chromium-browser || true)}"

started=$SECONDS
step() {
  printf '\n=== %s (%ss elapsed)\n' "$*" "$((SECONDS - started))"
}

missing=()
for tool in go node npm python3 prometheus promtool gcc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -n "$CHROMIUM_PATH" ] || missing+=("chromium")
if [ ${#missing[@]} -gt 0 ]; then
  echo "test-all: missing ${missing[*]}." >&2
  echo "On Debian/Ubuntu: apt-get install -y prometheus chromium python3 gcc libc6-dev (gcc: the race detector needs cgo; Go >= 1.26 and Node >= 20 from their usual installers)." >&2
  exit 1
fi

if [ "${SKIP_INSTALL:-0}" != 1 ]; then
  step "install: npm ci"
  npm ci --no-audit --no-fund
  step "install: go mod download"
  go mod download
  go -C provisioning mod download
  go -C tools mod download
fi

step "lint"
npm run lint
step "typecheck"
npm run typecheck
step "jest"
npm run test:ci
# The Go trees are named so that a Go file shipped inside node_modules never counts.
# integration/ holds only tests behind the integration build tag; provisioning/
# (the demo stack's checks) and tools/ (golangci-lint) are modules of their own.
go_pkgs=(./pkg/... ./cmd/... ./internal/...)
golangci_lint=(go tool -modfile="$PWD/tools/go.mod" golangci-lint run --build-tags integration)
step "go vet"
# One run with the tag: it adds files and excludes none, so it covers the untagged build.
go vet -tags integration "${go_pkgs[@]}" ./integration/...
go -C provisioning vet -tags integration ./...
step "golangci-lint (.golangci.yml)"
"${golangci_lint[@]}" "${go_pkgs[@]}" ./integration/...
(cd provisioning && "${golangci_lint[@]}" ./...)
step "go unit tests (race detector)"
go test -race -count=1 "${go_pkgs[@]}"
step "build (frontend + backend)"
npm run build
step "integration tests (plugin binary over gRPC, real Prometheus, real API server; demo provisioning)"
# The two modules side by side, as one go test would run two packages: both
# spend much of their time waiting on the processes they start.
go -C provisioning test -count=1 -tags integration ./... &
provisioning=$!
integration=0
go test -count=1 -tags integration ./integration/... || integration=$?
wait "$provisioning"
[ "$integration" = 0 ] || exit "$integration"
step "browser test (built dist/module.js in Chromium: editors, and a @grafana/scenes dashboard on the plugin binary)"
npm run test:browser
step "package"
bash scripts/package.sh
step "done"

#!/usr/bin/env bash
# Load figures for the remote client against the real sheepdog-api process
# (docs/api.md): 200 concurrent detections with 50 ms injected server latency,
# then with the server down (breaker open, embedded fallback).
set -euo pipefail
cd "$(dirname "$0")/.."
nice go test -run '^$' -bench 'BenchmarkLoad' -benchtime "${BENCHTIME:-5x}" -timeout 600s ./pkg/remote

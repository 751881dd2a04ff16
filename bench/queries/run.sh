#!/usr/bin/env bash
# QueryData benchmarks (in-process, no source fetch): a panel query over a week
# of minutely points for 100 and 1,000 series, end to end including the Arrow
# encoding sent to Grafana, and a cached alert re-evaluation.
# Usage: bench/queries/run.sh [benchtime]   (default 3x; CPU-heavy, run alone)
set -euo pipefail
cd "$(dirname "$0")/../.."
benchtime="${1:-3x}"
mkdir -p bench/out
nice go test -run '^$' -bench 'BenchmarkQueryData|BenchmarkAlertReevaluation' -benchtime "$benchtime" -timeout 30m ./pkg/plugin/ \
  | tee bench/out/queries.txt

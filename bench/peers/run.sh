#!/usr/bin/env bash
# Scores the detectors a user would pick instead of Sheepdog (bench/peers/peers.py)
# on the shared labelled series with Sheepdog's own scorer, next to `auto`, and
# writes the tables to bench/peers/results.md (bench/engine.sh copies them into
# docs/engine-results.md). Not part of CI: it installs the peers from PyPI into
# bench/peers/.venv (Merlion, which needs numpy < 2 while river needs numpy >= 2.2,
# into bench/peers/.venv-merlion), and rrcf and Merlion take long on every series.
#
#   bench/peers/run.sh [manifest] [every]     e.g. bench/peers/run.sh ../shared/datasets/manifest.json 3
#   PEERS=hst,adtk bench/peers/run.sh         only some peers
#   PEERS_KEEP=DIR bench/peers/run.sh ...     keep the peers' flags (and their log) in DIR
#   PEERS_FROM=DIR bench/peers/run.sh ...     re-score flags kept in DIR beside the current `auto`
#                                             without running the peers again (they take hours)
#   PEERS_RESULTS=FILE bench/peers/run.sh ... write the tables to FILE (default bench/peers/results.md;
#                                             bench/engine.sh copies results.md and every results-*.md), e.g.
#   PEERS=rrcf PEERS_RESULTS=bench/peers/results-rrcf.md bench/peers/run.sh ../shared/datasets/manifest.json 9
#   PEERS_NOTE="..." bench/peers/run.sh ...   a sentence under the tables' heading
set -euo pipefail
cd "$(dirname "$0")/../.."
manifest=${1:-../shared/datasets/manifest.json}
every=${2:-1}
peers=${PEERS:-hst,luminol,adtk,rrcf,robustz-3.5,robustz-5,robustz-7,merlion}
results=${PEERS_RESULTS:-bench/peers/results.md}
if [ -n "${PEERS_FROM:-}" ]; then
  out=$PEERS_FROM
elif [ -n "${PEERS_KEEP:-}" ]; then
  out=$PEERS_KEEP
  mkdir -p "$out"
else
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi

run_peers() { # venv requirements peers
  local venv=$1 req=$2 list=$3
  [ -n "$list" ] || return 0
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req"
  "$venv/bin/python" bench/peers/peers.py --manifest "$manifest" --out "$out" --every "$every" --peers "$list" 2>>"$out/peers.log" || {
    tail -20 "$out/peers.log" >&2
    exit 1
  }
}
main_list=$(tr ',' '\n' <<<"$peers" | grep -v '^merlion$' | paste -sd, || true)
merlion_list=$(tr ',' '\n' <<<"$peers" | grep '^merlion$' || true)
if [ -z "${PEERS_FROM:-}" ]; then
  run_peers bench/peers/.venv bench/peers/requirements.txt "$main_list"
  run_peers bench/peers/.venv-merlion bench/peers/requirements-merlion.txt "$merlion_list"
fi

args=()
for d in "$out"/*/; do
  args+=(--external "$(basename "$d")=$d")
done
{
  echo "Peers on every ${every}. series of $manifest (bench/peers/run.sh; versions in bench/peers/requirements*.txt), causal \`auto\` at the default sensitivity beside them."
  if [ -n "${PEERS_NOTE:-}" ]; then
    echo "$PEERS_NOTE"
  fi
  if [ -n "${PEERS_FROM:-}" ]; then
    echo "The peers' flags were kept from an earlier run (PEERS_KEEP) and re-scored beside the current \`auto\` (PEERS_FROM)."
  fi
  if [ ! -d "$out/rrcf" ]; then
    echo "rrcf (40 trees of 256 four-point shingles, pure Python) runs at a few hundred points/s and is not in this run (\`PEERS=rrcf bench/peers/run.sh\` runs it)."
  fi
  echo "CPU throughput per peer:"
  echo
  grep 'points/s CPU' "$out/peers.log" | sed 's/^/    /'
  echo
  go run ./cmd/sheepdog eval --manifest "$manifest" --every "$every" --method auto "${args[@]}"
} >"$results"
cat "$results"

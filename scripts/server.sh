#!/usr/bin/env bash
# npm run server: the demo stack (docker-compose.yaml) with Docker Compose v2. Checks first that Docker and its
# compose plugin are there, and says what to do instead of Docker's raw "unknown flag: --build" or
# "docker: not found". Arguments go to `docker compose up` (default: --build).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

fail() {
  cat >&2 <<MSG
server: $1

The demo stack needs Docker with Compose v2 (the 'docker compose' plugin):
  https://docs.docker.com/compose/install/  (Debian/Ubuntu: apt-get install docker-compose-plugin,
  or Docker's own docker-ce + docker-compose-plugin packages)

Without Docker, run the plugin in a Grafana installed on this machine:
  npm run build                              # the plugin into dist/
  scripts/native-grafana.sh stack            # Prometheus, sheepdog-demo and sheepdog-api, natively
  scripts/native-grafana.sh run              # Grafana with the plugin and the demo provisioning
  (scripts/native-grafana.sh --help lists the options; docs/demo.md describes both ways)
MSG
  exit 1
}

command -v docker >/dev/null 2>&1 || fail "docker not found on PATH."
# `docker compose` is a plugin: a Docker client without it treats "compose" as an unknown command (and the old
# standalone docker-compose v1 has no such subcommand either).
if ! version="$(docker compose version 2>&1)"; then
  fail "Docker is installed but 'docker compose' does not work: ${version%%$'\n'*}"
fi
echo "server: $version" >&2

cd "$repo"
if [ $# -eq 0 ]; then
  set -- --build
fi
exec docker compose up "$@"

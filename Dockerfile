# syntax=docker/dockerfile:1.7
#
# Images of the Sheepdog demo stack (docker-compose.yaml). The plugin is built
# here, so Docker is the only prerequisite:
#   frontend       webpack build of src/ into dist/ (Node)
#   gobuild        plugin backend (mage, the SDK's build), sheepdog-api, sheepdog-demo (Go)
#   plugin         dist/ as Grafana loads it: module.js, plugin.json, gpx_sheepdog_linux_<arch>
#   grafana        Grafana with the plugin baked in (DEVELOPMENT=true loads ./dist instead)
#   sheepdog-api   the reference detection API server
#   sheepdog-demo  the demo metrics exporter
#   demo-backfill  promtool + sheepdog-demo: writes days of history into Prometheus's volume

ARG NODE_VERSION=22
ARG GO_VERSION=1.26
ARG GRAFANA_IMAGE=grafana/grafana
ARG GRAFANA_VERSION=13.2.3
ARG PROMETHEUS_VERSION=v3.5.0
ARG ALPINE_VERSION=3.22

FROM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY . .
RUN npm run build:frontend

FROM golang:${GO_VERSION}-bookworm AS gobuild
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go tool mage -v build:backend \
 && go build -trimpath -ldflags "-s -w -X main.version=docker" -o /out/sheepdog-api ./cmd/sheepdog-api \
 && go build -trimpath -ldflags "-s -w" -o /out/sheepdog-demo ./cmd/sheepdog-demo

FROM scratch AS plugin
COPY --from=frontend /src/dist/ /sheepdog-anomaly-datasource/
COPY --from=gobuild /src/dist/ /sheepdog-anomaly-datasource/

FROM ${GRAFANA_IMAGE}:${GRAFANA_VERSION} AS grafana
COPY --from=plugin --chmod=0755 /sheepdog-anomaly-datasource/ /opt/sheepdog/plugins/sheepdog-anomaly-datasource/
# DEVELOPMENT=true points Grafana at the host's dist/ (the repository is
# mounted read-only at /sheepdog-src), so `npm run dev` on the host hot-reloads.
COPY --chmod=0755 <<'SH' /sheepdog-entrypoint.sh
#!/bin/sh
set -eu
if [ "${DEVELOPMENT:-false}" = "true" ]; then
  if [ ! -f /sheepdog-src/dist/plugin.json ]; then
    echo "sheepdog: DEVELOPMENT=true but ./dist has no plugin.json: run 'npm run dev' (and 'go tool mage -v build:linux' or 'build:linuxARM64') on the host first" >&2
    exit 1
  fi
  export GF_PATHS_PLUGINS=/opt/sheepdog/dev-plugins
  echo "sheepdog: DEVELOPMENT mode, loading the plugin from the host's ./dist"
else
  export GF_PATHS_PLUGINS=/opt/sheepdog/plugins
fi
exec /run.sh "$@"
SH
USER root
RUN mkdir -p /opt/sheepdog/dev-plugins \
 && ln -s /sheepdog-src/dist /opt/sheepdog/dev-plugins/sheepdog-anomaly-datasource
USER 472
ENTRYPOINT ["/sheepdog-entrypoint.sh"]

FROM alpine:${ALPINE_VERSION} AS sheepdog-api
RUN adduser -D -H -u 10001 sheepdog
COPY --from=gobuild /out/sheepdog-api /usr/local/bin/sheepdog-api
USER sheepdog
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sheepdog-api"]
CMD ["--listen=0.0.0.0:8080"]

FROM alpine:${ALPINE_VERSION} AS sheepdog-demo
RUN adduser -D -H -u 10001 sheepdog
COPY --from=gobuild /out/sheepdog-demo /usr/local/bin/sheepdog-demo
USER sheepdog
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/sheepdog-demo"]
CMD ["serve", "--listen=0.0.0.0:9464"]

FROM prom/prometheus:${PROMETHEUS_VERSION} AS demo-backfill
COPY --from=gobuild /out/sheepdog-demo /bin/sheepdog-demo
# Runs once before Prometheus starts, as Prometheus's user, on its data volume.
# The marker file makes a restart skip the backfill (docker compose down -v to redo it).
COPY --chmod=0755 <<'SH' /bin/sheepdog-backfill
#!/bin/sh
set -eu
data=/prometheus
if [ -f "$data/.sheepdog-backfilled" ]; then
  echo "sheepdog-backfill: history already in $data ($(cat "$data/.sheepdog-backfilled")); skipping"
  exit 0
fi
om=$(mktemp /tmp/history.XXXXXX)
sheepdog-demo backfill --out "$om" "$@"
promtool tsdb create-blocks-from openmetrics "$om" "$data" >/dev/null
rm -f "$om"
date -u +%Y-%m-%dT%H:%M:%SZ > "$data/.sheepdog-backfilled"
echo "sheepdog-backfill: done"
SH
ENTRYPOINT ["/bin/sheepdog-backfill"]

#!/usr/bin/env bash
# Load Sheepdog's plugin build and the demo provisioning into a natively
# installed Grafana (deb/rpm, Homebrew, or the standalone tarball): no Docker.
#
#   scripts/native-grafana.sh run       start Grafana in the foreground with the plugin from ./dist and
#                                       the demo provisioning; all state under $SHEEPDOG_NATIVE_DIR (default
#                                       ~/.local/state/sheepdog/native-grafana), nothing system-wide is changed
#   scripts/native-grafana.sh stack     start the demo's other services natively in the background:
#                                       sheepdog-demo (:9464), sheepdog-api (:8080) and a Prometheus
#                                       (:9090) backfilled with history; stop them with `stack-stop`
#   scripts/native-grafana.sh install   link the plugin into an existing Grafana's plugins directory and
#                                       copy the provisioning into its provisioning directory (for a
#                                       Grafana run by systemd/brew services), then print the settings
#                                       and environment that Grafana needs
#   scripts/native-grafana.sh env       print the environment Grafana needs (export lines)
#   scripts/native-grafana.sh stack-stop  stop what `stack` started
#   scripts/native-grafana.sh help      this text (also -h, --help)
#
# Options (or environment variables):
#   --homepath DIR         Grafana's home (GRAFANA_HOME); found in the usual places when omitted
#   --plugins-dir DIR      for install: the Grafana plugins directory (default /var/lib/grafana/plugins)
#   --provisioning-dir DIR for install: the provisioning directory (default /etc/grafana/provisioning)
#   --copy                 copy dist/ instead of symlinking it (a symlink keeps `npm run dev` hot-reloading)
#   --dry-run              print what would run and what is missing, change nothing
#
# Environment read by the provisioning (defaults are the native services' addresses):
#   SHEEPDOG_PROMETHEUS_URL     http://localhost:9090
#   SHEEPDOG_API_URL            http://localhost:8080
#   SHEEPDOG_DEMO_API_KEY       hs_demo_4f1c2b7e9d3a8c6b5e0f1a2d (the key sheepdog-api accepts in `stack`)
#   SHEEPDOG_ALERT_WEBHOOK_URL  http://localhost:9464/alerts
#   GRAFANA_PORT                3000
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
plugin_id="sheepdog-anomaly-datasource"
state="${SHEEPDOG_NATIVE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/sheepdog/native-grafana}"
homepath="${GRAFANA_HOME:-}"
plugins_dir="/var/lib/grafana/plugins"
provisioning_dir="/etc/grafana/provisioning"
copy=false
dry_run=false

export SHEEPDOG_PROMETHEUS_URL="${SHEEPDOG_PROMETHEUS_URL:-http://localhost:9090}"
export SHEEPDOG_API_URL="${SHEEPDOG_API_URL:-http://localhost:8080}"
export SHEEPDOG_DEMO_API_KEY="${SHEEPDOG_DEMO_API_KEY:-hs_demo_4f1c2b7e9d3a8c6b5e0f1a2d}"
export SHEEPDOG_ALERT_WEBHOOK_URL="${SHEEPDOG_ALERT_WEBHOOK_URL:-http://localhost:9464/alerts}"
GRAFANA_PORT="${GRAFANA_PORT:-3000}"

die() { echo "native-grafana: $*" >&2; exit 1; }
say() { echo "native-grafana: $*" >&2; }
run() { if $dry_run; then printf '+'; printf ' %q' "$@"; printf '\n'; else "$@"; fi; }
# need MESSAGE: a missing prerequisite. A real run stops; a dry run says so and goes on to show the rest.
need() { if $dry_run; then say "missing (a real run would stop here): $*"; else die "$*"; fi; }
# The comment block at the top of this file, up to its first non-comment line.
usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }

cmd="${1:-}"
case "$cmd" in
  '') usage >&2; exit 2 ;;
  help|-h|--help) usage; exit 0 ;;
esac
shift
while [ $# -gt 0 ]; do
  case "$1" in
    --homepath) homepath="$2"; shift 2 ;;
    --plugins-dir) plugins_dir="$2"; shift 2 ;;
    --provisioning-dir) provisioning_dir="$2"; shift 2 ;;
    --copy) copy=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see $0 --help)" ;;
  esac
done

# The plugin build Grafana loads: dist/ with plugin.json and the backend for this machine.
check_dist() {
  local os arch
  os="$(uname -s | tr '[:upper:]' '[:lower:]')"
  case "$(uname -m)" in
    x86_64|amd64) arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  [ -f "$repo/dist/plugin.json" ] || need "dist/plugin.json is missing: run 'npm run build' (or 'npm run dev' and 'go tool mage -v build:backend') first"
  [ -x "$repo/dist/gpx_sheepdog_${os}_${arch}" ] || need "dist/gpx_sheepdog_${os}_${arch} is missing: run 'go tool mage -v build:backend' (or 'npm run build') first"
}

# Grafana's environment: unsigned loading for this plugin only, the managed
# service account feature, and what provisioning/ expands.
grafana_env() {
  cat <<ENV
export GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=$plugin_id
export GF_FEATURE_TOGGLES_ENABLE=externalServiceAccounts
export GF_AUTH_MANAGED_SERVICE_ACCOUNTS_ENABLED=true
export SHEEPDOG_PROMETHEUS_URL=$SHEEPDOG_PROMETHEUS_URL
export SHEEPDOG_API_URL=$SHEEPDOG_API_URL
export SHEEPDOG_DEMO_API_KEY=$SHEEPDOG_DEMO_API_KEY
export SHEEPDOG_ALERT_WEBHOOK_URL=$SHEEPDOG_ALERT_WEBHOOK_URL
export SHEEPDOG_DASHBOARDS_DIR=$1
ENV
}

# install_plugin DIR: DIR/sheepdog-anomaly-datasource -> dist (symlink or copy).
install_plugin() {
  local dir="$1" target="$1/$plugin_id"
  run mkdir -p "$dir"
  if [ -e "$target" ] || [ -L "$target" ]; then run rm -rf "$target"; fi
  if $copy; then
    run cp -R "$repo/dist" "$target"
  else
    run ln -s "$repo/dist" "$target"
  fi
}

# install_provisioning DIR: datasources, dashboards (with their JSON) and alerting.
install_provisioning() {
  local dir="$1" sub
  for sub in datasources dashboards alerting; do
    run mkdir -p "$dir/$sub"
    run cp "$repo/provisioning/$sub/"*.yaml "$dir/$sub/"
  done
  run cp "$repo/provisioning/dashboards/"*.json "$dir/dashboards/"
}

find_grafana() {
  if command -v grafana >/dev/null 2>&1; then
    grafana_bin=(grafana server)
  elif command -v grafana-server >/dev/null 2>&1; then
    grafana_bin=(grafana-server)
  elif [ -n "$homepath" ] && [ -x "$homepath/bin/grafana" ]; then
    grafana_bin=("$homepath/bin/grafana" server)
  else
    need "no Grafana found (no grafana or grafana-server on PATH, no --homepath): install it (https://grafana.com/docs/grafana/latest/setup-grafana/installation/) or pass --homepath to an unpacked tarball"
    grafana_bin=(grafana server)
  fi
  if [ -z "$homepath" ]; then
    for h in /usr/share/grafana /opt/homebrew/opt/grafana/share/grafana /usr/local/opt/grafana/share/grafana /usr/local/share/grafana; do
      if [ -d "$h/conf" ]; then homepath="$h"; break; fi
    done
  fi
  [ -n "$homepath" ] || need "Grafana's home (the directory holding conf/defaults.ini) not found: pass --homepath"
  homepath="${homepath:-/usr/share/grafana}"
}

case "$cmd" in
  env)
    grafana_env "$state/provisioning/dashboards"
    ;;

  run)
    check_dist
    find_grafana
    install_plugin "$state/plugins"
    install_provisioning "$state/provisioning"
    run mkdir -p "$state/data" "$state/logs"
    eval "$(grafana_env "$state/provisioning/dashboards")"
    export GF_PATHS_PLUGINS="$state/plugins" GF_PATHS_PROVISIONING="$state/provisioning"
    export GF_PATHS_DATA="$state/data" GF_PATHS_LOGS="$state/logs"
    export GF_SERVER_HTTP_PORT="$GRAFANA_PORT"
    export GF_AUTH_ANONYMOUS_ENABLED=true GF_AUTH_ANONYMOUS_ORG_ROLE=Admin
    export GF_LOG_FILTERS="plugin.$plugin_id:debug"
    say "Grafana on http://localhost:$GRAFANA_PORT (anonymous admin), plugin from $repo/dist, state in $state"
    say "data sources expect Prometheus at $SHEEPDOG_PROMETHEUS_URL and sheepdog-api at $SHEEPDOG_API_URL ('$0 stack' starts them)"
    if $dry_run; then
      env | grep -E '^(GF_|SHEEPDOG_)' | sort | sed 's/^/  /'
    fi
    run exec "${grafana_bin[@]}" --homepath "$homepath"
    ;;

  install)
    check_dist
    install_plugin "$plugins_dir"
    install_provisioning "$provisioning_dir"
    cat <<MSG
native-grafana: installed. Now give Grafana these settings and restart it.

grafana.ini:
  [plugins]
  allow_loading_unsigned_plugins = $plugin_id
  [feature_toggles]
  enable = externalServiceAccounts
  [auth]
  managed_service_accounts_enabled = true

Environment (e.g. 'systemctl edit grafana-server' -> [Service] Environment=..., or
/etc/default/grafana-server; for Homebrew, the plist's EnvironmentVariables):
$(grafana_env "$provisioning_dir/dashboards" | sed 's/^export /  /')
MSG
    ;;

  stack)
    run mkdir -p "$state/stack"
    cd "$repo"
    for tool in go prometheus promtool; do
      command -v "$tool" >/dev/null 2>&1 || need "$tool not found (Debian: apt-get install golang prometheus)"
    done
    run go build -o "$state/stack/" ./cmd/sheepdog-demo ./cmd/sheepdog-api
    demo_flags=(--hosts="${SHEEPDOG_DEMO_HOSTS:-web-1,web-2,db-1}" --seed="${SHEEPDOG_DEMO_SEED:-1}" --incident-every="${SHEEPDOG_DEMO_INCIDENT_EVERY:-30m}")
    # Prometheus config for services on localhost (the compose file's, with hosts rewritten).
    if $dry_run; then
      echo "+ write $state/stack/prometheus.yml (provisioning/prometheus/prometheus.yml, targets on localhost)"
    else
      sed -e 's/sheepdog-demo:9464/localhost:9464/; s/sheepdog-api:8080/localhost:8080/; s/grafana:3000/localhost:'"$GRAFANA_PORT"'/' \
        provisioning/prometheus/prometheus.yml > "$state/stack/prometheus.yml"
    fi
    if [ ! -f "$state/stack/tsdb/.sheepdog-backfilled" ]; then
      run "$state/stack/sheepdog-demo" backfill --days="${SHEEPDOG_DEMO_BACKFILL_DAYS:-3}" --out="$state/stack/history.om" \
        --labels=job=sheepdog-demo,instance=localhost:9464 "${demo_flags[@]}"
      run promtool tsdb create-blocks-from openmetrics "$state/stack/history.om" "$state/stack/tsdb"
      run rm -f "$state/stack/history.om"
      $dry_run || date -u +%FT%TZ > "$state/stack/tsdb/.sheepdog-backfilled"
    fi
    start() { # name command...
      local name="$1"; shift
      if $dry_run; then run "$@"; return; fi
      "$@" >"$state/stack/$name.log" 2>&1 &
      echo $! > "$state/stack/$name.pid"
      say "$name started (pid $!, log $state/stack/$name.log)"
    }
    start sheepdog-demo "$state/stack/sheepdog-demo" serve --listen=127.0.0.1:9464 "${demo_flags[@]}"
    start sheepdog-api env SHEEPDOG_API_KEYS="$SHEEPDOG_DEMO_API_KEY" "$state/stack/sheepdog-api" --listen=127.0.0.1:8080
    start prometheus prometheus --config.file="$state/stack/prometheus.yml" --storage.tsdb.path="$state/stack/tsdb" \
      --storage.tsdb.retention.time=15d --web.listen-address=127.0.0.1:9090
    say "stop them with: $0 stack-stop"
    ;;

  stack-stop)
    for name in prometheus sheepdog-api sheepdog-demo; do
      pidfile="$state/stack/$name.pid"
      if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        if run kill "$pid" 2>/dev/null; then
          say "$name stopped (pid $pid)"
        else
          say "$name was not running (stale pid $pid)"
        fi
        run rm -f "$pidfile"
      else
        say "$name: not started by '$0 stack' (no $pidfile)"
      fi
    done
    ;;

  *)
    die "unknown command $cmd (run, stack, stack-stop, install, env, help)"
    ;;
esac

# Shared by scripts/prometheus/start and scripts/prometheus/stop (sourced, not executed).
# HTTP goes through node's fetch (node is a hard requirement of the project; curl is not).

PROM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PROM_PORT=9090
PROM_TARGETS="127.0.0.1:4010,127.0.0.1:4011,127.0.0.1:4012"  # the default fleet's replicas (scripts/fleet/start)
PROM_JOB=api-gateway
PROM_STATE_DIR=.tempest/prometheus
PROM_SCRAPE_INTERVAL=1s

prom_usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
}

# prom_parse_flags "$@": sets PROM_PORT, PROM_TARGETS, PROM_JOB, PROM_STATE_DIR, PROM_SCRAPE_INTERVAL.
prom_parse_flags() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) PROM_PORT="${2:-}"; shift 2 || shift ;;
      --port=*) PROM_PORT="${1#*=}"; shift ;;
      --target|--targets) PROM_TARGETS="${2:-}"; shift 2 || shift ;;
      --target=*|--targets=*) PROM_TARGETS="${1#*=}"; shift ;;
      --job) PROM_JOB="${2:-}"; shift 2 || shift ;;
      --job=*) PROM_JOB="${1#*=}"; shift ;;
      --state-dir) PROM_STATE_DIR="${2:-}"; shift 2 || shift ;;
      --state-dir=*) PROM_STATE_DIR="${1#*=}"; shift ;;
      --scrape-interval) PROM_SCRAPE_INTERVAL="${2:-}"; shift 2 || shift ;;
      --scrape-interval=*) PROM_SCRAPE_INTERVAL="${1#*=}"; shift ;;
      -h|--help) prom_usage; exit 0 ;;
      *) echo "prometheus: unknown flag $1" >&2; prom_usage; exit 2 ;;
    esac
  done
  [[ "$PROM_PORT" =~ ^[0-9]+$ ]] && ((PROM_PORT >= 1 && PROM_PORT <= 65535)) || { echo "prometheus: --port must be 1..65535, got '$PROM_PORT'" >&2; exit 2; }
  [[ "$PROM_JOB" =~ ^[a-zA-Z_][a-zA-Z0-9_.:-]*$ ]] || { echo "prometheus: --job '$PROM_JOB' is not a valid job name" >&2; exit 2; }
  [[ "$PROM_SCRAPE_INTERVAL" =~ ^[0-9]+(ms|s|m)$ ]] || { echo "prometheus: --scrape-interval must look like 1s or 500ms, got '$PROM_SCRAPE_INTERVAL'" >&2; exit 2; }
  local t
  IFS=',' read -r -a PROM_TARGET_LIST <<<"$PROM_TARGETS"
  ((${#PROM_TARGET_LIST[@]} > 0)) || { echo "prometheus: --target needs at least one host:port" >&2; exit 2; }
  for t in "${PROM_TARGET_LIST[@]}"; do
    [[ "$t" =~ ^[A-Za-z0-9.-]+:[0-9]{1,5}$ ]] || { echo "prometheus: target '$t' is not host:port" >&2; exit 2; }
  done
  PROM_PID_FILE="$PROM_STATE_DIR/prometheus.pid"
  PROM_CONFIG="$PROM_STATE_DIR/prometheus.yml"
  PROM_LOG="$PROM_STATE_DIR/prometheus.log"
  PROM_DATA="$PROM_STATE_DIR/data"
}

# prom_get <url>: prints the body of a 2xx answer; fails otherwise (2 s timeout).
prom_get() {
  node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (r) => { const t = await r.text(); if (!r.ok) process.exit(1); process.stdout.write(t); })
      .catch(() => process.exit(1));
  ' "$1"
}

# prom_post <url>: POST with an empty body; fails unless 2xx.
prom_post() {
  node -e '
    fetch(process.argv[1], { method: "POST", signal: AbortSignal.timeout(5000) })
      .then((r) => { if (!r.ok) process.exit(1); })
      .catch(() => process.exit(1));
  ' "$1"
}

prom_ready() { prom_get "http://127.0.0.1:$1/-/ready" >/dev/null 2>&1; }

# prom_is_prom_pid <pid>: the pid is alive and (where /proc exists) really runs prometheus.
prom_is_prom_pid() {
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/cmdline" ]] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'prometheus'
}

# prom_pid_from_file: prints the live prometheus pid recorded in the pid file, or fails (removing a stale file).
prom_pid_from_file() {
  [[ -f "$PROM_PID_FILE" ]] || return 1
  local pid
  pid="$(head -n1 "$PROM_PID_FILE" 2>/dev/null || true)"
  if prom_is_prom_pid "$pid"; then echo "$pid"; return 0; fi
  rm -f "$PROM_PID_FILE"
  return 1
}

prom_bin() {
  if [[ -n "${PROMETHEUS_BIN:-}" ]]; then echo "$PROMETHEUS_BIN"; return 0; fi
  command -v prometheus
}

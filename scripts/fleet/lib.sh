# Shared by scripts/fleet/start and scripts/fleet/stop (sourced, not executed).
# Parses the flags both scripts care about out of the pass-through flags, and talks to the control API with
# node's fetch (node is a hard requirement of the project anyway; curl is not).

FLEET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FLEET_NAME=api-gateway
FLEET_CONTROL_PORT=4100
FLEET_STATE_DIR=""

# fleet_parse_flags "$@": sets FLEET_NAME, FLEET_CONTROL_PORT, FLEET_STATE_DIR; other flags are ignored here.
fleet_parse_flags() {
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --name) FLEET_NAME="${2:-}"; shift 2 || shift ;;
      --name=*) FLEET_NAME="${1#*=}"; shift ;;
      --control-port) FLEET_CONTROL_PORT="${2:-}"; shift 2 || shift ;;
      --control-port=*) FLEET_CONTROL_PORT="${1#*=}"; shift ;;
      --state-dir) FLEET_STATE_DIR="${2:-}"; shift 2 || shift ;;
      --state-dir=*) FLEET_STATE_DIR="${1#*=}"; shift ;;
      *) shift ;;
    esac
  done
  FLEET_STATE_DIR="${FLEET_STATE_DIR:-.tempest/fleet/$FLEET_NAME}"
}

# fleet_get <path> <js expression over the JSON answer `j`>: prints the expression; fails if no answer.
fleet_get() {
  node -e '
    const [url, expr] = process.argv.slice(1);
    fetch(url, { signal: AbortSignal.timeout(2000) })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
      .then((j) => console.log(String(new Function("j", `return (${expr});`)(j))))
      .catch(() => process.exit(1));
  ' "http://127.0.0.1:${FLEET_CONTROL_PORT}$1" "$2"
}

# fleet_is_fleet_pid <pid>: the pid is alive and (where /proc exists) really runs fleet.ts.
fleet_is_fleet_pid() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/cmdline" ]] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'fleet\.ts'
}

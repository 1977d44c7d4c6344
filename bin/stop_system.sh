#!/usr/bin/env bash
# Stops every process bin/start_system.sh started: SIGTERM, then SIGKILL after a bound; removes the pid files.
# Workers and coordinator go first, then the processors, then the registry, then the brokers. Uses DISTPIPE_HOME like
# bin/start_system.sh.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${DISTPIPE_HOME:-$ROOT}" || exit 1
GRACE="${DISTPIPE_STOP_GRACE:-20}"

stop_group() {
  local pids=() names=() pidfile pid
  for pidfile in "$@"; do
    [ -e "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null
      pids+=("$pid")
      names+=("$(basename "$pidfile" .pid)")
    else
      rm -f "$pidfile"
    fi
  done
  local waited=0 alive
  while :; do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    if [ "$waited" -ge $((GRACE * 10)) ]; then
      for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && { echo "stop_system: pid $pid did not stop in ${GRACE}s; killing it" >&2; \
          kill -KILL "$pid" 2>/dev/null; }
      done
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  for pidfile in "$@"; do rm -f "$pidfile"; done
  [ "${#names[@]}" -eq 0 ] || echo "stopped ${names[*]}"
}

shopt -s nullglob
stop_group run/worker-*.pid run/coordinator.pid
stop_group run/dedup.pid run/membership.pid
stop_group run/registry.pid
stop_group run/broker-*.pid
leftover=(run/*.pid)
[ "${#leftover[@]}" -eq 0 ] || stop_group "${leftover[@]}"
echo "distpipe system stopped."

#!/usr/bin/env bash
# Starts the primes system as separate processes: broker(s), schema registry, topics, membership processor, dedup
# processor, coordinator and N workers; every process but the brokers and the registry sends heartbeats. Each process logs to logs/<name>.log and has run/<name>.pid; its standard output is run/<name>.out.
#
#   bin/start_system.sh [simple|replicated] [N]     (defaults: simple 3)
#
# simple: one broker, topics with replication 1. replicated: three brokers (a KRaft quorum), replication 3,
# min.insync.replicas 2, acks=all. Input: data/input/, output: primes.txt. Everything lives under DISTPIPE_HOME
# (default: the project directory); DISTPIPE_BASE_PORT, DISTPIPE_REGISTRY_PORT and DISTPIPE_REGISTRY_MANAGEMENT_PORT
# (Apicurio's health/metrics port, default registry port + 1) move the ports; DISTPIPE_SNAPSHOT_INTERVAL (default
# 30s) sets how often the coordinator takes a consistent snapshot. DISTPIPE_REGISTRY=builtin runs distpipe's own
# in-memory registry instead of Apicurio Registry (which keeps its schemas in the registry.journal topic).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${DISTPIPE_HOME:-$ROOT}"
mkdir -p "$WORK"
cd "$WORK"
export DISTPIPE_LOG_DIR="$WORK/logs"
DISTPIPE="$ROOT/bin/distpipe"

MODE="${1:-simple}"
WORKERS="${2:-3}"
BASE_PORT="${DISTPIPE_BASE_PORT:-19092}"
REGISTRY_PORT="${DISTPIPE_REGISTRY_PORT:-18081}"
REGISTRY_MANAGEMENT_PORT="${DISTPIPE_REGISTRY_MANAGEMENT_PORT:-$((REGISTRY_PORT + 1))}"
READY_TIMEOUT="${DISTPIPE_READY_TIMEOUT:-120}"

die() { echo "start_system: $*" >&2; exit 1; }

case "$MODE" in
  simple) BROKERS=1 ;;
  replicated) BROKERS=3 ;;
  *) die "mode must be simple or replicated, not '$MODE'" ;;
esac
if ! [[ "$WORKERS" =~ ^[0-9]+$ ]] || [ "$WORKERS" -lt 1 ] || [ "$WORKERS" -gt 32 ]; then
  die "the worker count must be a number from 1 to 32, not '$WORKERS'"
fi

for pidfile in run/*.pid; do
  [ -e "$pidfile" ] || continue
  if kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    die "the system is already running ($WORK/$pidfile); stop it with bin/stop_system.sh"
  fi
  rm -f "$pidfile"
done

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORTS=("$REGISTRY_PORT")
[ "${DISTPIPE_REGISTRY:-apicurio}" = builtin ] || PORTS+=("$REGISTRY_MANAGEMENT_PORT")
for ((i = 0; i < BROKERS; i++)); do PORTS+=($((BASE_PORT + 2 * i)) $((BASE_PORT + 2 * i + 1))); done
for port in "${PORTS[@]}"; do
  if port_taken "$port"; then
    die "port $port is taken (set DISTPIPE_BASE_PORT / DISTPIPE_REGISTRY_PORT / DISTPIPE_REGISTRY_MANAGEMENT_PORT)"
  fi
done

mkdir -p logs run data/input snapshots
echo "$MODE $WORKERS" > run/mode

# Build once, before starting processes in parallel.
"$DISTPIPE" --version > /dev/null

STARTED=()

cleanup_on_failure() {
  echo "start_system: stopping what was started" >&2
  "$ROOT/bin/stop_system.sh" >&2 || true
}

# launch NAME HEAP ARGS...: starts one process in the background, its pid in run/NAME.pid.
launch() {
  local name="$1" heap="$2"
  shift 2
  DISTPIPE_JAVA_OPTS="-Xmx$heap" nohup "$DISTPIPE" "$@" > "run/$name.out" 2>&1 &
  echo $! > "run/$name.pid"
  STARTED+=("$name")
}

# start NAME HEAP ARGS...: launches one process and waits until it is ready.
start() {
  launch "$@"
  await_ready "$1"
}

# await_ready NAME: waits until NAME prints READY (the line of ChildJvm.READY, which the JVM-side launcher waits for
# too); stops everything started if it exits first or is not ready within DISTPIPE_READY_TIMEOUT seconds.
await_ready() {
  local name="$1"
  local waited=0
  until grep -q '^READY' "run/$name.out" 2>/dev/null; do
    if ! kill -0 "$(cat "run/$name.pid")" 2>/dev/null; then
      echo "start_system: $name exited during start-up; its output:" >&2
      tail -n 20 "run/$name.out" >&2
      cleanup_on_failure
      exit 1
    fi
    if [ "$waited" -ge $((READY_TIMEOUT * 10)) ]; then
      echo "start_system: $name was not ready within ${READY_TIMEOUT}s; see logs/$name.log" >&2
      cleanup_on_failure
      exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

APICURIO_VERSION=3.3.3
APICURIO_HOME="${DISTPIPE_APICURIO_HOME:-$HOME/.cache/distpipe/apicurio-registry-$APICURIO_VERSION}"

# A Java 21 or newer for Apicurio Registry: DISTPIPE_REGISTRY_JAVA, or the newest JDK under /usr/lib/jvm.
registry_java() {
  if [ -n "${DISTPIPE_REGISTRY_JAVA:-}" ]; then echo "$DISTPIPE_REGISTRY_JAVA"; return; fi
  local java version
  for java in /usr/lib/jvm/*/bin/java "$(command -v java)"; do
    [ -x "$java" ] || continue
    version="$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    if [ "${version%%.*}" -ge 21 ] 2>/dev/null; then echo "$java"; return; fi
  done
}

start_apicurio() {
  local java
  java="$(registry_java)"
  [ -n "$java" ] || { cleanup_on_failure; die "Apicurio Registry needs Java 21+ (set DISTPIPE_REGISTRY_JAVA, or \
DISTPIPE_REGISTRY=builtin for distpipe's in-memory registry)"; }
  if [ ! -f "$APICURIO_HOME/quarkus-run.jar" ]; then
    echo "Fetching Apicurio Registry $APICURIO_VERSION from the Maven registry (about 160 MB, once)..."
    local download
    download="$(mktemp -d)"
    if ! (cd "$ROOT" && ./mvnw -q -B -N org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" -DoutputDirectory="$download" \
        > "$download/mvn.log" 2>&1); then
      cat "$download/mvn.log" >&2
      cleanup_on_failure
      die "could not fetch Apicurio Registry (or use DISTPIPE_REGISTRY=builtin)"
    fi
    mkdir -p "$APICURIO_HOME.tmp"
    tar xzf "$download"/apicurio-registry-app-*.tar.gz -C "$APICURIO_HOME.tmp"
    rm -rf "$download" "$APICURIO_HOME"
    mv "$APICURIO_HOME.tmp" "$APICURIO_HOME"
  fi
  REGISTRY="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
  # Storage: the registry.* topics of the catalog (created above), so schemas and ids survive a restart. Its start-up
  # reads the journal and the snapshots topic each until a poll comes back empty; the poll timeout (5 s by default)
  # made that 15 s of waiting on an empty topic. A local broker answers well within 1 s.
  # shellcheck disable=SC2086
  nohup "$java" ${DISTPIPE_EXTRA_JAVA_OPTS:-} -Xmx384m -Dapicurio.kafkasql.consumer.poll.timeout=1000 -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.storage.kind=kafkasql -Dapicurio.kafkasql.bootstrap.servers="$BOOTSTRAP" \
    -Dapicurio.kafkasql.topic=registry.journal -Dapicurio.kafkasql.snapshots.topic=registry.snapshots \
    -Dapicurio.events.kafka.topic=registry.events \
    -jar "$APICURIO_HOME/quarkus-run.jar" > "$DISTPIPE_LOG_DIR/registry.log" 2>&1 &
  echo $! > run/registry.pid
  STARTED+=("registry")
  if ! "$DISTPIPE" registry --await "$REGISTRY" --pid "$(cat run/registry.pid)" --compatibility BACKWARD \
      > run/registry.out 2>&1; then
    cat run/registry.out >&2
    cleanup_on_failure
    die "Apicurio Registry did not start; see logs/registry.log"
  fi
}

QUORUM=""
for ((i = 1; i <= BROKERS; i++)); do
  QUORUM+="${QUORUM:+,}$i@127.0.0.1:$((BASE_PORT + 2 * (i - 1) + 1))"
done
CLUSTER_ID="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
[ -f run/cluster-id ] && CLUSTER_ID="$(cat run/cluster-id)"
echo "$CLUSTER_ID" > run/cluster-id

BOOTSTRAP=""
start_broker() {
  local i="$1"
  local port=$((BASE_PORT + 2 * (i - 1)))
  DISTPIPE_JAVA_OPTS="-Xmx512m" nohup "$DISTPIPE" broker --node-id "$i" --data-dir "run/kafka-$i" \
    --port "$port" --controller-port $((port + 1)) --quorum "$QUORUM" --cluster-id "$CLUSTER_ID" \
    > "run/broker-$i.out" 2>&1 &
  echo $! > "run/broker-$i.pid"
  STARTED+=("broker-$i")
  BOOTSTRAP+="${BOOTSTRAP:+,}127.0.0.1:$port"
}
# The brokers of a quorum must start together: none is ready until a majority runs.
for ((i = 1; i <= BROKERS; i++)); do start_broker "$i"; done
for ((i = 1; i <= BROKERS; i++)); do
  waited=0
  until grep -q '^READY' "run/broker-$i.out" 2>/dev/null; do
    kill -0 "$(cat "run/broker-$i.pid")" 2>/dev/null \
      || { tail -n 20 "run/broker-$i.out" >&2; cleanup_on_failure; die "broker-$i exited during start-up"; }
    [ "$waited" -lt $((READY_TIMEOUT * 10)) ] || { cleanup_on_failure; die "broker-$i was not ready in time"; }
    sleep 0.1
    waited=$((waited + 1))
  done
done
echo "$BOOTSTRAP" > run/bootstrap

REPLICATION=$([ "$MODE" = replicated ] && echo 3 || echo 1)
# The topics first (the registry keeps its storage in one of them); the schemas once the registry is up.
if ! "$DISTPIPE" topics create --bootstrap-servers "$BOOTSTRAP" --replication "$REPLICATION" --no-schemas \
    > run/topics.out 2>&1; then
  cat run/topics.out >&2
  cleanup_on_failure
  die "could not create the topics"
fi

# A real schema registry over HTTP (Apicurio's, Confluent REST API under /apis/ccompat/v7) on a Java 21+ runtime;
# DISTPIPE_REGISTRY=builtin uses distpipe's own in-memory one instead.
if [ "${DISTPIPE_REGISTRY:-apicurio}" = builtin ]; then
  REGISTRY="http://127.0.0.1:$REGISTRY_PORT"
  start registry 256m registry --port "$REGISTRY_PORT"
else
  start_apicurio
fi
echo "$REGISTRY" > run/registry-url

COMMON=(--bootstrap-servers "$BOOTSTRAP" --registry-url "$REGISTRY")
if ! "$DISTPIPE" topics create "${COMMON[@]}" --replication "$REPLICATION" > run/schemas.out 2>&1; then
  cat run/schemas.out >&2
  cleanup_on_failure
  die "could not register the schemas"
fi

if [ -f run/restore ]; then
  if ! "$DISTPIPE" restore "$(cat run/restore)" "${COMMON[@]}" > run/restore.out 2>&1; then
    cat run/restore.out >&2
    cleanup_on_failure
    die "could not restore the snapshot named in run/restore"
  fi
  rm -f run/restore
  cat run/restore.out
fi

# The parts need nothing of each other to start (each waits for what it reads), so they start together: a JVM's
# start-up is mostly waiting, and one after another they took 7 s each.
launch membership 384m membership "${COMMON[@]}" --replication "$REPLICATION" --state-dir run/membership-state
launch dedup 512m dedup "${COMMON[@]}" --replication "$REPLICATION" --state-dir run/dedup-state
launch coordinator 512m coordinator "${COMMON[@]}" --input data/input --output primes.txt \
  --snapshots snapshots --snapshot-interval "${DISTPIPE_SNAPSHOT_INTERVAL:-30s}"
for ((i = 1; i <= WORKERS; i++)); do
  launch "worker-$i" 256m worker --id "worker-$i" "${COMMON[@]}"
done
for name in membership dedup coordinator; do await_ready "$name"; done
for ((i = 1; i <= WORKERS; i++)); do await_ready "worker-$i"; done

echo "distpipe system started ($MODE, $WORKERS workers)."
printf '%-14s %-8s %s\n' PROCESS PID LOG
for name in "${STARTED[@]}"; do
  printf '%-14s %-8s %s\n' "$name" "$(cat "run/$name.pid")" "logs/$name.log"
done
echo "Kafka: $BOOTSTRAP   registry: $REGISTRY"
echo "Drop number files into data/input/; primes.txt is rewritten when all tasks are done."
echo "Watch it with bin/distpipe status; restart a worker with bin/distpipe worker --id worker-2."
echo "Stop with bin/stop_system.sh."

#!/usr/bin/env bash
# Runs DynamoDB Local on 127.0.0.1 (never on other interfaces).
#
# Usage: infra/dynamodb.sh start|stop|status|wait [--port N] [--mode dev|test] [--all]
#
#   start   start it in the background (no-op if it already runs and answers),
#           then wait until it answers
#   stop    stop it (the whole process group); --all stops every instance
#           started from this checkout
#   status  print whether it runs; exit 0 if it answers, 3 otherwise
#   wait    wait until it answers (DYNAMODB_START_TIMEOUT seconds, default 60)
#
#   --port N    default $DYNAMODB_PORT or 8000
#   --mode dev  -sharedDb -dbPath .local/data: data survives restarts (default)
#   --mode test -sharedDb -inMemory: nothing is written to disk
#
# Files: .local/run/dynamodb-<port>.pid, .log and .mode.
# DYNAMODB_JAVA_OPTS (default -Xmx1g) adds JVM options.
set -euo pipefail
# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  sed -n '2,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

cmd="${1:-}"
[[ -n "$cmd" ]] || usage
shift
port="${DYNAMODB_PORT:-8000}"
mode="dev"
all=0
while (($#)); do
  case "$1" in
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --port=*) port="${1#*=}"; shift ;;
    --mode) mode="${2:?--mode needs a value}"; shift 2 ;;
    --mode=*) mode="${1#*=}"; shift ;;
    --all) all=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || die "invalid port: $port"
[[ "$mode" == dev || "$mode" == test ]] || die "invalid mode: $mode (dev or test)"

pid_file="$RUN_DIR/dynamodb-$port.pid"
log_file="$RUN_DIR/dynamodb-$port.log"
mode_file="$RUN_DIR/dynamodb-$port.mode"
timeout="${DYNAMODB_START_TIMEOUT:-60}"

# Pid of our DynamoDB Local on this port, if it is alive (and really ours:
# guards against a recycled pid).
running_pid() {
  local pid
  pid="$(read_pid "$pid_file")"
  [[ -n "$pid" ]] && pid_alive "$pid" || return 1
  grep -qa 'Loopback' "/proc/$pid/cmdline" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

wait_ready() {
  local pid="${1:-}" deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    dynamodb_answers "$port" && return 0
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      log "DynamoDB Local exited during startup"
      show_log_tail "$log_file"
      return 1
    fi
    sleep 0.5
  done
  log "DynamoDB Local on 127.0.0.1:$port did not answer within ${timeout}s"
  show_log_tail "$log_file"
  return 1
}

do_start() {
  local pid
  if pid="$(running_pid)"; then
    local running_mode
    running_mode="$(cat "$mode_file" 2>/dev/null || echo '?')"
    [[ "$running_mode" == "$mode" ]] \
      || warn "DynamoDB Local on port $port already runs in $running_mode mode (asked for $mode)"
    if dynamodb_answers "$port"; then
      log "DynamoDB Local already running on 127.0.0.1:$port (pid $pid, $running_mode mode)"
      return 0
    fi
    log "DynamoDB Local (pid $pid) is starting; waiting"
    wait_ready "$pid"
    return
  fi
  rm -f "$pid_file" "$mode_file"

  if port_open "$port"; then
    log "port $port is already in use by another process; not starting DynamoDB Local"
    port_owner "$port" >&2
    return 1
  fi

  bash "$ROOT/infra/bootstrap.sh"
  [[ -f "$DYNAMODB_JAR_DIR/DynamoDBLocal.jar" ]] || die "DynamoDB Local is missing; run infra/bootstrap.sh"

  local args=(-port "$port" -sharedDb)
  if [[ "$mode" == dev ]]; then
    mkdir -p "$DATA_DIR"
    args+=(-dbPath "$DATA_DIR")
  else
    args+=(-inMemory)
  fi
  mkdir -p "$RUN_DIR"
  local java_opts
  read -r -a java_opts <<<"${DYNAMODB_JAVA_OPTS:--Xmx1g}"

  log "starting DynamoDB Local ($mode mode) on 127.0.0.1:$port"
  # Java single-source-file mode compiles and runs Loopback.java, which pins
  # the server to 127.0.0.1. setsid: own session/process group, so stop can
  # kill the whole group and Ctrl-C in the caller's terminal does not reach it.
  (
    cd "$DYNAMODB_JAR_DIR"
    exec setsid java "${java_opts[@]}" -Djava.library.path=DynamoDBLocal_lib \
      -Ddynamodb.host=127.0.0.1 \
      -cp "DynamoDBLocal.jar:DynamoDBLocal_lib/*" \
      "$ROOT/infra/dynamodb/Loopback.java" "${args[@]}"
  ) >"$log_file" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$pid_file"
  echo "$mode" >"$mode_file"
  if wait_ready "$pid"; then
    log "DynamoDB Local ready on http://127.0.0.1:$port (pid $pid, log ${log_file#"$ROOT"/})"
  else
    kill_tree "$pid" 5
    rm -f "$pid_file" "$mode_file"
    return 1
  fi
}

stop_one() {
  local pf="$1" p pid
  p="$(basename "$pf" .pid)"
  p="${p#dynamodb-}"
  pid="$(read_pid "$pf")"
  if [[ -n "$pid" ]] && pid_alive "$pid" && grep -qa 'Loopback' "/proc/$pid/cmdline" 2>/dev/null; then
    kill_tree "$pid" 15
    log "stopped DynamoDB Local on port $p (pid $pid)"
  else
    log "DynamoDB Local on port $p was not running"
  fi
  rm -f "$pf" "$RUN_DIR/dynamodb-$p.mode"
}

do_stop() {
  if ((all)); then
    local pf found=0
    for pf in "$RUN_DIR"/dynamodb-*.pid; do
      [[ -e "$pf" ]] || continue
      found=1
      stop_one "$pf"
    done
    ((found)) || log "no DynamoDB Local instance to stop"
    return 0
  fi
  if [[ ! -f "$pid_file" ]]; then
    log "DynamoDB Local on port $port is not running (no pid file)"
    return 0
  fi
  stop_one "$pid_file"
}

do_status() {
  local pid
  if pid="$(running_pid)"; then
    if dynamodb_answers "$port"; then
      echo "DynamoDB Local: running on http://127.0.0.1:$port (pid $pid, $(cat "$mode_file" 2>/dev/null || echo '?') mode)"
      return 0
    fi
    echo "DynamoDB Local: process $pid alive but not answering on port $port (starting?)"
    return 3
  fi
  if port_open "$port"; then
    echo "DynamoDB Local: not started by this checkout; port $port is used by another process"
    return 3
  fi
  echo "DynamoDB Local: not running on port $port"
  return 3
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  wait) wait_ready "$(running_pid || true)" ;;
  -h|--help|help) usage ;;
  *) echo "unknown command: $cmd" >&2; usage ;;
esac
